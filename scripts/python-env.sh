#!/usr/bin/env bash
# Creates ./.venv with the pinned Python packages the tests use (Tests/python/
# requirements.txt), and does nothing when it is already up to date. Needs only python3
# with its venv module (scripts/install-deps.sh installs both) and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=Tests/python/requirements.txt
stamp=.venv/.requirements.sha256
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

echo "weir: installing the test's Python packages into .venv"
rm -rf .venv
if ! python3 -m venv .venv; then
  echo "weir: python3 cannot create a virtual environment; install python3-venv (scripts/install-deps.sh does)" >&2
  exit 1
fi
if ! .venv/bin/pip install --quiet --disable-pip-version-check --requirement "$requirements"; then
  echo "weir: could not install $requirements from PyPI; check the network or a PIP_INDEX_URL mirror, then retry" >&2
  rm -rf .venv
  exit 1
fi
echo "$wanted" > "$stamp"
