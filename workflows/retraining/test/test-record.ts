/**
 * Records the event history of a real run as a replay fixture under `test/test-histories/`, when
 * `MLTRACE_RECORD_HISTORIES=1` (recorded once, then committed; every test run replays them).
 *
 * The files hold the History message as protobufjs writes it (`toObject` with longs, enums and
 * bytes as strings) and are read back with `History.fromObject`. (The SDK's proto-JSON helpers,
 * `historyToJSON`/`historyFromJSON`, fail here with "type must be a Type": npm installs three
 * copies of protobufjs 8 under @temporalio/{proto,common,worker}, because @grpc/proto-loader
 * pins protobufjs 7 at the root, and protojson's `instanceof Type` check spans two copies.)
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.History;
const History = temporal.api.history.v1.History;

/** The directory of the committed histories. */
export const HISTORIES_DIR = fileURLToPath(new URL('./test-histories/', import.meta.url));

/**
 * Writes `<name>.json` when recording is on and the file does not exist yet (a committed history
 * is never overwritten: the older ones are what proves a change still replays); a no-op otherwise.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.MLTRACE_RECORD_HISTORIES !== '1') return;
  if (existsSync(`${HISTORIES_DIR}${name}.json`)) return;
  const history = await handle.fetchHistory();
  const object = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  await writeFile(`${HISTORIES_DIR}${name}.json`, `${JSON.stringify(object, null, 2)}\n`);
}

/** The committed histories, by file name without `.json`. */
export async function loadHistories(): Promise<Array<{ workflowId: string; history: History }>> {
  const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: History.fromObject(JSON.parse(await readFile(`${HISTORIES_DIR}${file}`, 'utf8')) as object),
    })),
  );
}
