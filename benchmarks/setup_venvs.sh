#!/usr/bin/env bash
# Create one virtualenv per tool under benchmarks/.venvs/<tool> and install the
# tool from PyPI (trackline: this checkout, editable).  A tool that fails to
# install is reported and skipped; the benchmark marks its cells "error: ...".
#
# Usage: benchmarks/setup_venvs.sh [tool ...]      (default: all four)
# Env:   PYTHON=python3.11   interpreter to build the venvs from
#        REFRESH=1           delete and rebuild existing venvs
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venvs="$here/.venvs"
python="${PYTHON:-python3}"
mkdir -p "$venvs"

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
  tools=(trackline wandb mlflow trackio)
fi

# What each venv installs: the tool alone, nothing else.  The code that runs
# inside these venvs (run_one.py, adapters/) uses only the standard library, so
# no extra package (psutil, for one, switches on trackio's CPU monitor) changes
# how a tool behaves.
spec_for() {
  case "$1" in
    trackline) echo "-e $repo" ;;
    wandb)     echo "wandb" ;;
    mlflow)    echo "mlflow" ;;
    trackio)   echo "trackio" ;;
    *)         return 1 ;;
  esac
}

failed=()
for tool in "${tools[@]}"; do
  if ! spec="$(spec_for "$tool")"; then
    echo "unknown tool: $tool" >&2
    failed+=("$tool")
    continue
  fi
  venv="$venvs/$tool"
  log="$venvs/$tool.install.log"
  if [ "${REFRESH:-0}" = "1" ]; then
    rm -rf "$venv"
  fi
  echo "== $tool: $venv ($spec)"
  rm -f "$venvs/$tool.error"
  # $spec is split into words on purpose ("-e <repo>").
  # shellcheck disable=SC2086
  if { [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"; } >"$log" 2>&1 \
     && { "$venv/bin/python" -m pip install --upgrade pip >>"$log" 2>&1 || true; } \
     && "$venv/bin/python" -m pip install $spec >>"$log" 2>&1; then
    "$venv/bin/python" -m pip freeze >"$venvs/$tool.freeze.txt" 2>/dev/null
    echo "   ok"
  else
    # Leave a marker the harness reads, so the tool's cells say why.
    tail -n 5 "$log" >"$venvs/$tool.error"
    echo "   FAILED (see $log)" >&2
    failed+=("$tool")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]} (the benchmark reports them as errors)" >&2
fi
# Exit 0 so `setup_venvs.sh && python run.py` still runs the tools that did install.
exit 0
