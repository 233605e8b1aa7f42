#!/usr/bin/env bash
# Provide what the reviewer-report browser test needs: Debian's chromium and the
# Playwright python package that drives it. Never downloads a browser of its own
# (no `playwright install`): the test points Playwright at /usr/bin/chromium.
set -euo pipefail
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ ! -x /usr/bin/chromium ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq chromium >&2
fi

if ! python3 -c 'import playwright.sync_api' 2>/dev/null; then
    python3 -m pip install -q playwright
fi
