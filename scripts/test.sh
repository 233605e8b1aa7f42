#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python3 -m pip install -q -e '.[test]'
# The browser test drives Debian's chromium; the hook test runs git send-email.
bash scripts/install-browser.sh >&2
if ! command -v git-send-email >/dev/null 2>&1 && [ ! -x /usr/lib/git-core/git-send-email ]; then
    sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq git-email >&2 \
        || echo "git-email unavailable: the sendemail-validate hook is called as git documents it" >&2
fi
PATCHLINT_KERNEL_TREE="$(bash scripts/kernel-source.sh)"
export PATCHLINT_KERNEL_TREE
python3 -m pytest -q -p no:cacheprovider "$@"
