#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python3 -m pip install -q -e '.[test]'
PATCHLINT_KERNEL_TREE="$(bash scripts/kernel-source.sh)"
export PATCHLINT_KERNEL_TREE
python3 -m pytest -q -p no:cacheprovider "$@"
