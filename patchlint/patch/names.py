"""File names in diff headers: git's C-style quoting, prefixes, timestamps."""

from __future__ import annotations

_ESCAPES = {
    "a": 7,
    "b": 8,
    "t": 9,
    "n": 10,
    "v": 11,
    "f": 12,
    "r": 13,
    '"': 34,
    "\\": 92,
}

# Top-level directories of the kernel: a path starting with one of these is
# already relative to the tree root (git --no-prefix, or -p0 style diffs).
KERNEL_TOP_DIRS = frozenset(
    "Documentation LICENSES arch block certs crypto drivers fs include init io_uring ipc "
    "kernel lib mm net rust samples scripts security sound tools usr virt".split()
)

DEV_NULL = "/dev/null"


def unquote(name: str) -> str:
    """Undo git's C-style quoting ("a/t\\303\\251st") if present."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    out = bytearray()
    body = name[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            digits = body[i + 1 : i + 4]
            end = 0
            while end < len(digits) and digits[end] in "01234567":
                end += 1
            out.append(int(digits[:end], 8) & 0xFF)
            i += 1 + end
        else:
            out += nxt.encode("utf-8", "surrogateescape")
            i += 2
    return out.decode("utf-8", "surrogateescape")


def _take_quoted(text: str) -> tuple[str, str] | None:
    """Split a leading quoted name from ``text``: (name with quotes, rest)."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return text[: i + 1], text[i + 1 :]
        i += 1
    return None


def split_git_header(rest: str) -> tuple[str, str] | None:
    """The two names of ``diff --git A B`` (``rest`` is ``A B``), still prefixed.

    Unquoted names may contain spaces, so the split is ambiguous in general; git
    itself resolves it by requiring both names to be equal after the prefix, which
    is the only case without a rename header to tell us the real names.
    """
    rest = rest.rstrip("\n")
    if rest.startswith('"'):
        taken = _take_quoted(rest)
        if taken is None:
            return None
        first, tail = taken
        tail = tail.lstrip(" ")
        return unquote(first), unquote(tail)
    if rest.endswith('"'):
        pos = rest.rfind(' "')
        if pos < 0:
            return None
        return rest[:pos], unquote(rest[pos + 1 :])
    # Same name on both sides: "a/NAME b/NAME" splits in the middle.
    if len(rest) % 2 == 1:
        half = len(rest) // 2
        first, second = rest[:half], rest[half + 1 :]
        if rest[half] == " " and _drop_one(first) == _drop_one(second):
            return first, second
    pos = rest.find(" b/")
    if pos < 0:
        pos = rest.find(" ")
    if pos < 0:
        return None
    return rest[:pos], rest[pos + 1 :]


def _drop_one(name: str) -> str:
    slash = name.find("/")
    return name[slash + 1 :] if slash >= 0 else name


def header_name(field: str) -> str:
    """The file name of a ``---``/``+++`` line (after the marker), without timestamp."""
    field = field.rstrip("\n").rstrip("\r")
    if field.startswith('"'):
        taken = _take_quoted(field)
        if taken is not None:
            return unquote(taken[0])
    if "\t" in field:
        field = field.split("\t", 1)[0]
    return field.rstrip(" ") if field.rstrip(" ") else field


def strip_components(old: str | None, new: str | None, git: bool) -> tuple[str | None, str | None]:
    """Remove the ``a/``/``b/`` (or quilt ``linux.orig/``) component from both names."""

    def needs_strip(name: str | None, other: str | None) -> bool:
        if name is None or "/" not in name:
            return False
        head = name.split("/", 1)[0]
        if git:
            return head in ("a", "b", "c", "i", "o", "w", "1", "2")
        if head in ("a", "b"):
            return True
        if other is not None and "/" in other and other.split("/", 1)[0] != head:
            return True
        return head not in KERNEL_TOP_DIRS

    def clean(name: str | None, other: str | None) -> str | None:
        if name is None or name == DEV_NULL:
            return None
        # An absolute name stays absolute so that appliers refuse it, rather than
        # quietly turning "/etc/passwd" into "etc/passwd" as patch -p1 would.
        if not name.startswith("/") and needs_strip(name, other):
            name = name.split("/", 1)[1]
        return name

    old_n = None if old == DEV_NULL else old
    new_n = None if new == DEV_NULL else new
    return clean(old_n, new_n), clean(new_n, old_n)
