#!/usr/bin/env bash
# Install Debian's linux-source-6.12 if missing and extract it once into a cache folder.
# Prints the extracted tree's path on stdout. Never touches anything but the cache folder.
set -euo pipefail

# The same folder as patchlint.cachedir.cache_dir() (platformdirs' user cache folder),
# also before patchlint is installed.
cache="${PATCHLINT_CACHE:-$(python3 -c 'from patchlint.cachedir import cache_dir; print(cache_dir())' 2>/dev/null \
    || echo "${XDG_CACHE_HOME:-$HOME/.cache}/patchlint")}"
dest="$cache/linux-6.12"
tarball=/usr/src/linux-source-6.12.tar.xz
wanted_version="6.12.117-1~deb12u1"

if [ -f "$dest/.patchlint-complete" ]; then
    echo "$dest"
    exit 0
fi

if [ ! -f "$tarball" ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    # The seed patch targets 6.12.117; fall back to whatever 6.12 the archive serves.
    $sudo apt-get install -y -qq "linux-source-6.12=$wanted_version" >&2 \
        || $sudo apt-get install -y -qq linux-source-6.12 >&2
fi

mkdir -p "$cache"
staging="$(mktemp -d "$cache/extract.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
echo "extracting $tarball into $dest ..." >&2
tar -xJf "$tarball" -C "$staging"
rm -rf "$dest"
mv "$staging/linux-source-6.12" "$dest"
touch "$dest/.patchlint-complete"
echo "$dest"
