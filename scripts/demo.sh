#!/usr/bin/env bash
# Install patchlint and run it on the bundled seed thread against linux 6.12.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python3 -m pip install -q .
tree="$(bash scripts/kernel-source.sh)"
python3 -m patchlint check --tree "$tree" fixtures/mail/seed-v9-thread.mbox
