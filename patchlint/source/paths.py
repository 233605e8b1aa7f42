"""Lexical checks on the untrusted file names found in patches."""

from __future__ import annotations


class UnsafePathError(Exception):
    """A patch names a path that must not be read: it would leave the tree."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"unsafe path {path!r}: {reason}")
        self.path = path
        self.reason = reason


def normalise_relative(path: str) -> str:
    """``path`` as a clean tree-relative name, or UnsafePathError.

    ``.`` components and repeated slashes are dropped; ``..`` is allowed only
    while it stays inside the tree, because a patch has no business above it.
    """
    if not isinstance(path, str) or path == "":
        raise UnsafePathError(str(path), "empty path")
    if "\x00" in path:
        raise UnsafePathError(path, "contains a NUL byte")
    if path.startswith("/"):
        raise UnsafePathError(path, "absolute path")
    if len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        raise UnsafePathError(path, "absolute (drive-letter) path")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafePathError(path, "'..' leaves the tree")
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        raise UnsafePathError(path, "names the tree root, not a file")
    return "/".join(parts)
