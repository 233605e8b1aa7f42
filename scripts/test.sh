#!/usr/bin/env bash
# Everything CI runs (.ci/run calls this): set up what the tests need on a fresh
# machine, then lint (ruff check, ruff format --check), type-check (mypy, strict, as
# configured in pyproject.toml) and run the whole test suite, including the tests
# that need the linux 6.12 tree and the browser.
#
#   bash scripts/test.sh            # all of it (the README's test command)
#   bash scripts/test.sh --fast     # lint, types and the fast tier only:
#                                   # pytest -m "not kernel and not slow", no apt, no tree
#
# Extra arguments go to pytest. Every step runs even when an earlier one fails; the
# exit status is non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then
    fast=1
    shift
fi
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
export PYTHONDONTWRITEBYTECODE=1
python3 -m pip install -q -e '.[test]' || exit 1

failed=()
step() {
    local name="$1"
    shift
    echo "== $name" >&2
    "$@" || failed+=("$name")
}

if [ "$fast" = 0 ]; then
    # The browser test drives Debian's chromium; the hook test runs git send-email.
    bash scripts/install-browser.sh >&2 || exit 1
    if ! command -v git-send-email >/dev/null 2>&1 && [ ! -x /usr/lib/git-core/git-send-email ]; then
        sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq git-email >&2 \
            || echo "git-email unavailable: the sendemail-validate hook is called as git documents it" >&2
    fi
    PATCHLINT_KERNEL_TREE="$(bash scripts/kernel-source.sh)" || exit 1
    export PATCHLINT_KERNEL_TREE
fi

step "ruff check" python3 -m ruff check patchlint tests bench scripts
step "ruff format --check" python3 -m ruff format --check patchlint tests bench scripts
step "mypy" python3 -m mypy
if [ "$fast" = 1 ]; then
    step "pytest (fast tier)" python3 -m pytest -q -m "not kernel and not slow" "$@"
else
    step "pytest" python3 -m pytest -q "$@"
fi

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
