"""Kernel source files that are compiled as host programs, not as kernel code.

User-mode Linux builds part of arch/um against the host's C library: the objects
its Makefiles list in ``USER_OBJS`` (and, by arch/um/scripts/Makefile.rules, every
``*_user.o``). A call to ``epoll_ctl()`` or ``write()`` there is the host's libc
function, not the kernel's system call, so those files neither export summaries
for kernel callers nor report lock findings. Which Makefile variable and rules
file mark host code is data (kernel/sleeping.toml ``[host_objects]``); which files
they name is read from the tree's Makefiles.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

from patchlint.analysis.facts import FileFacts
from patchlint.analysis.kb import HostObjects

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_$().-]+)\s*(\+=|:=|\?=|=)\s*(.*)$")
_REFERENCE = re.compile(r"\$\(([A-Za-z0-9_-]+)\)")
MAX_EXPANSION = 5


def is_host_code(root: Path | None, path: str, spec: HostObjects) -> bool:
    """Whether the tree's Makefiles build ``path`` (relative to ``root``) as a host program."""
    if root is None or not spec.variable or not path.endswith(".c"):
        return False
    relative = PurePosixPath(path)
    try:  # the Makefile's stat keys the memo: a long-lived process sees its edits
        info = (root / relative.parent / "Makefile").stat()
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
    except OSError:
        stamp = None
    objects = _host_objects(str(root), str(relative.parent), spec, stamp)
    return relative.with_suffix(".o").name in objects


@lru_cache(maxsize=4096)
def _host_objects(
    root: str, directory: str, spec: HostObjects, _stamp: tuple[int, int, int] | None
) -> frozenset[str]:
    try:
        text = (Path(root) / directory / "Makefile").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    if spec.rules_file not in text:
        return frozenset()  # the host-build rules do not apply to this directory
    variables = _assignments(text)
    found = set(_expand(variables, spec.variable))
    for name in variables:
        if name.startswith("obj-") or name.endswith("-objs"):
            found.update(w for w in _expand(variables, name) if w.endswith(spec.object_suffix))
    return frozenset(found)


def _assignments(text: str) -> dict[str, list[str]]:
    variables: dict[str, list[str]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        match = _ASSIGNMENT.match(line.split("#", 1)[0])
        if match is None:
            continue
        name, operator, value = match.groups()
        if name.startswith("obj-$("):
            name = "obj-y"  # `obj-$(CONFIG_X) += x.o`: any configuration may build it
        words = value.split()
        variables[name] = [*variables.get(name, []), *words] if operator == "+=" else words
    return variables


def _expand(variables: dict[str, list[str]], name: str, depth: int = 0) -> list[str]:
    if depth > MAX_EXPANSION:
        return []
    found: list[str] = []
    for word in variables.get(name, []):
        reference = _REFERENCE.fullmatch(word)
        if reference is not None:
            found.extend(_expand(variables, reference.group(1), depth + 1))
        elif "$" not in word:
            found.append(word)
    return found


def not_kernel_code(ff: FileFacts) -> bool:
    """Userspace parts of the tree (tools/...) and UML's host-built files."""
    cached = ff.memo.get("not-kernel-code")  # asked by every lock rule of the image
    if isinstance(cached, bool):
        return cached
    found = ff.path.startswith(ff.kb.userspace_paths)
    if not found:
        root = getattr(ff.index, "root", None) if ff.index is not None else None
        found = is_host_code(root if isinstance(root, Path) else None, ff.path, ff.kb.host_objects)
    ff.memo["not-kernel-code"] = found
    return found
