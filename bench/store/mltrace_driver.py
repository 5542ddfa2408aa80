"""Drives mltrace 0.17's Store API for the lineage store benchmark (bench/store/main.ts).

Reads a workload (JSON: runs as [component, inputs, outputs], outputs to trace), logs every run
exactly as reference section 10 describes (one commit per run), then traces. Prints one JSON
object on stdout. Times are taken inside this process, around mltrace's own calls only: the
interpreter, the imports and `Store()` (engine + create_all) are not counted.

usage: mltrace_driver.py --workload FILE --engine sqlite|sqlite-file|postgres [--url URL]
         [--file PATH] [--trace-repeats K] [--max-seconds S] [--raised-recursion-limit L]
"""

import argparse
import json
import logging
import os
import sys
import threading
import time

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("DB_URI", "test")  # silences the import-time "Please set DB_URI" warning

import mltrace.db.store as mstore  # noqa: E402
from mltrace.db.store import Store  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

# mltrace logs every pointer and commit at INFO and staleness at WARNING; formatting and writing
# those lines is not what we measure, so they are off (this only makes mltrace faster).
logging.disable(logging.CRITICAL)


def open_store(args):
    if args.engine == "sqlite":
        return Store("test")  # in-memory SQLite: how mltrace's own tests (and ref. section 6) run
    if args.engine == "sqlite-file":
        # Reference section 10: swap the engine factory so Store("test") opens a file.
        original = mstore._create_engine_wrapper
        mstore._create_engine_wrapper = lambda _uri, **_kw: create_engine(f"sqlite:///{args.file}")
        try:
            return Store("test")
        finally:
            mstore._create_engine_wrapper = original
    if args.engine == "postgres":
        return Store(args.url)
    raise SystemExit(f"unknown engine {args.engine}")


def log_run(store, component, inputs, outputs):
    store.create_component(component, "", "")
    cr = store.initialize_empty_component_run(component)
    cr.set_start_timestamp()
    for name in inputs:
        cr.add_input(store.get_io_pointer(name))
    for name in outputs:
        cr.add_output(store.get_io_pointer(name))
    cr.set_end_timestamp()
    store.set_dependencies_from_inputs(cr)
    store.commit_component_run(cr)


def fresh_session(store):
    """A new session, as each mltrace client call makes: nothing cached from the ingest."""
    store.session.close()
    store.session = store.Session()


def trace_once(store, name):
    fresh_session(store)
    start = time.perf_counter()
    try:
        entries = store.trace(name)
    except RecursionError:
        return {"ms": (time.perf_counter() - start) * 1000, "error": "RecursionError"}
    ms = (time.perf_counter() - start) * 1000
    return {"ms": ms, "entries": len(entries), "distinct": len({run.id for _, run in entries})}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--url")
    parser.add_argument("--file")
    parser.add_argument("--trace-repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=float("inf"))
    parser.add_argument("--raised-recursion-limit", type=int, default=0)
    args = parser.parse_args()

    with open(args.workload) as f:
        workload = json.load(f)
    runs = workload["runs"]
    store = open_store(args)

    # Ingest: one commit per run, as mltrace does. Checkpoints let the caller fit the per-run
    # cost's growth with N and extrapolate to sizes too slow to run.
    every = max(1, len(runs) // 20)
    checkpoints = []
    logged = 0
    ingest_s = 0.0
    start = time.perf_counter()
    for i, (component, inputs, outputs) in enumerate(runs):
        log_run(store, component, inputs, outputs)
        logged = i + 1
        if logged % every == 0 or logged == len(runs):
            ingest_s = time.perf_counter() - start
            checkpoints.append([logged, ingest_s])
            if ingest_s > args.max_seconds and logged < len(runs):
                break
    ingest_s = time.perf_counter() - start
    out = {"logged": logged, "ingest_s": ingest_s, "checkpoints": checkpoints, "traces": []}

    if logged == len(runs):
        # Traced twice: as ingested, then after ANALYZE (the state autovacuum leaves a live server
        # in); ours is measured the same way. As shipped first; when that fails (RecursionError
        # past ~1,000 levels), again with the usual workaround, a raised recursion limit.
        for state in ("as_ingested", "analyzed"):
            if state == "analyzed":
                store.session.execute(text("ANALYZE"))
                store.session.commit()
            for name in workload["traces"]:
                as_shipped = [trace_once(store, name) for _ in range(args.trace_repeats)]
                entry = {"target": name, "state": state, "as_shipped": as_shipped}
                if args.raised_recursion_limit and any("error" in t for t in as_shipped):
                    previous = sys.getrecursionlimit()
                    sys.setrecursionlimit(args.raised_recursion_limit)
                    try:
                        entry["raised_limit"] = [
                            trace_once(store, name) for _ in range(args.trace_repeats)
                        ]
                    finally:
                        sys.setrecursionlimit(previous)
                out["traces"].append(entry)

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def run_in_big_stack():
    """Runs main() in one thread with a 512 MiB stack (SQLite connections are bound to the thread
    that made them), so a raised recursion limit cannot overflow the C stack."""
    failure = []

    def target():
        try:
            main()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failure.append(error)

    threading.stack_size(512 * 1024 * 1024)
    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


if __name__ == "__main__":
    run_in_big_stack()
