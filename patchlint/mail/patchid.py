"""`git patch-id --stable` of a diff, computed in process.

b4 carries review trailers between postings of the same change by this id; computing
it here avoids one git process per patch. The algorithm follows git's builtin/patch-id.c:
every line of a file's diff except `index` lines, with all whitespace removed, is
hashed (SHA-1; hunk headers without their line numbers are left out), and the
per-file digests are added as little-endian 160-bit numbers so that file order does
not matter ("stable").
"""

from __future__ import annotations

import hashlib
import re

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_WHITESPACE = re.compile(r"\s+")
_DIGEST = 20


def _add(total: bytearray, digest: bytes) -> None:
    carry = 0
    for position in range(_DIGEST):
        carry += total[position] + digest[position]
        total[position] = carry & 0xFF
        carry >>= 8


def patch_id(diff: str) -> str | None:
    """The stable patch-id of `diff` (hex), or None when it holds no git-style change."""
    total = bytearray(_DIGEST)
    current = hashlib.sha1(usedforsecurity=False)
    length = 0
    before = after = -1
    binary = False
    pre_blob = post_blob = ""
    for line in diff.split("\n"):
        if line.startswith("\\ ") and len(line) > 11:
            continue
        if not length and not line.startswith("diff "):
            continue
        if before == -1:
            if line.startswith(("GIT binary patch", "Binary files")):
                binary = True
                before = 0
                current.update(pre_blob.encode() + post_blob.encode())
                _add(total, current.digest())
                current = hashlib.sha1(usedforsecurity=False)
                continue
            if line.startswith("index "):
                blobs = line[6:].split(" ", 1)[0]
                if ".." in blobs:
                    pre_blob, post_blob = blobs.split("..", 1)
                continue
            if line.startswith("--- "):
                before = after = 1
            elif not line[:1].isalpha():
                break
        if binary:
            if line.startswith("diff "):
                binary = False
                before = -1
            else:
                continue
        if before == 0 and after == 0:
            hunk = _HUNK.match(line)
            if hunk:
                before = int(hunk.group(1)) if hunk.group(1) is not None else 1
                after = int(hunk.group(2)) if hunk.group(2) is not None else 1
                continue
            if not line.startswith("diff "):
                break
            _add(total, current.digest())
            current = hashlib.sha1(usedforsecurity=False)
            before = after = -1
        if line[:1] in ("-", " "):
            before -= 1
        if line[:1] in ("+", " "):
            after -= 1
        squeezed = _WHITESPACE.sub("", line)
        length += len(squeezed)
        current.update(squeezed.encode("utf-8", "surrogateescape"))
    if not length:
        return None
    _add(total, current.digest())
    return total.hex()
