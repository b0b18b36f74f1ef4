#!/bin/sh
# Remakes data/parity/sys_mapping_1.1.0.npz from the reference package itself:
# a fresh venv (Python >= 3.11, sys-mapping's requirement) with
# sys-mapping 1.1.0 and its JAX from PyPI, then make_parity_fixtures.py.
#   tools/parity/make_parity_fixtures.sh [--check]   (from the repository root)
# --check recomputes and compares with the committed file instead of writing it.
# VENV (default /tmp/sysmap-parity-venv) is reused when it exists; PYTHON picks
# the interpreter that makes it.
set -eu
cd "$(dirname "$0")/../.."
VENV=${VENV:-/tmp/sysmap-parity-venv}
if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install -q "sys-mapping==1.1.0"
fi
exec "$VENV/bin/python" tools/parity/make_parity_fixtures.py "$@" data/parity/sys_mapping_1.1.0.npz
