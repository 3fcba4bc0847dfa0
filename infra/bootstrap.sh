#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root) for this project:
#   - system packages: PostgreSQL server, Java 17 runtime, Maven (assembles the Kafka broker
#     from Maven Central, see infra/kafka/pom.xml) and kcat (an independent Kafka client);
#   - the Python virtualenv <repo>/.venv with the project installed editable, dev extras
#     included -- reinstalled only when pyproject.toml changed since the last install;
#   - infra/tools/node_modules: the official AsyncAPI parser the test suite validates the
#     published AsyncAPI document with (npm ci from infra/tools/package-lock.json) --
#     reinstalled only when the lock file changed.
# Idempotent and silent when there is nothing to do; prints one line per action.
# Then: `.venv/bin/python -m infra up`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.jip-pyproject.sha256"

# Run a command with its output kept aside; show it only if the command fails.
quietly() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    echo "bootstrap: failed: $*" >&2
    tail -n 40 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

# --- system packages -------------------------------------------------------------------
declare -A PACKAGE_OF=(
  [pg_ctlcluster]=postgresql
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [kcat]=kcat
  [npm]=npm
)
missing=()
for tool in pg_ctlcluster java mvn kcat npm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done

# Python 3.11 (Debian 12's python3) with a working venv module.
PYTHON=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
    && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    PYTHON="$candidate"
    break
  fi
done
if [[ ! -x "$VENV/bin/python" ]]; then
  if [[ -z "$PYTHON" ]]; then
    missing+=(python3 python3-venv)
  elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)  # Debian splits ensurepip out of python3
  fi
fi

if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "bootstrap: missing ${missing[*]}; run this script as root (sudo $0)" >&2
    exit 1
  fi
  echo "bootstrap: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  quietly apt-get update -q
  quietly apt-get install -y -q --no-install-recommends "${missing[@]}"
  [[ -n "$PYTHON" ]] || PYTHON=python3
fi

# --- Python virtualenv -----------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "bootstrap: creating $VENV with $("$PYTHON" --version)"
  quietly "$PYTHON" -m venv "$VENV"
  rm -f "$STAMP"
fi

wanted="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
  echo "bootstrap: pip install -e .[dev] (pyproject.toml changed since the last install)"
  (cd "$ROOT" && quietly "$VENV/bin/python" -m pip install --disable-pip-version-check -e ".[dev]")
  echo "$wanted" >"$STAMP"
fi

# --- contract tools (Node.js) ------------------------------------------------------------
TOOLS="$ROOT/infra/tools"
TOOLS_STAMP="$TOOLS/node_modules/.jip-package-lock.sha256"
wanted="$(sha256sum "$TOOLS/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$TOOLS_STAMP" || "$(cat "$TOOLS_STAMP")" != "$wanted" ]]; then
  echo "bootstrap: npm ci in infra/tools (package-lock.json changed since the last install)"
  # --ignore-scripts: the parser needs no install script, and one of its dependencies
  # (@scarf/scarf) would otherwise report the installation to a third party.
  (cd "$TOOLS" && quietly npm ci --ignore-scripts --no-audit --no-fund)
  echo "$wanted" >"$TOOLS_STAMP"
fi
