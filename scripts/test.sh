#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs the linter, the
# formatter check, the type checker and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

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
