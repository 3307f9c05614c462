#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (all but kubectl, which must be on
# PATH), then runs the linter, the formatter check, the type checker and the whole test
# suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The e2e tests drive the real kubectl against the repository's Kubernetes API emulator;
# nothing here installs it (the suite runs with kubectl 1.32).
if ! command -v kubectl >/dev/null 2>&1; then
  echo "scripts/test.sh: kubectl is not on PATH: the e2e tests run it; install it" \
    "(https://kubernetes.io/docs/tasks/tools/) and run this again" >&2
  exit 2
fi

# A real Prometheus server for the dashboard and measured-economics tests and a real
# headless browser for the report test (Debian's packages), installed only when missing.
missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
if [ -n "$missing" ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing
fi

python -m pip install -q --disable-pip-version-check -e '.[test,gp,bench]'

ruff check .
ruff format --check .
mypy
python -m pytest -n 2 --dist loadgroup "$@"
