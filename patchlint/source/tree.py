"""Read-only access to a kernel tree: an extracted release or a git checkout.

Nothing here writes to the tree.  Git is only asked to print objects
(``rev-parse``, ``ls-tree``, ``cat-file``), which never touch the work tree or
the index.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO

from .paths import UnsafePathError, normalise_relative

__all__ = [
    "DirectoryTree",
    "GitRevisionTree",
    "Tree",
    "TreeError",
    "UnsafePathError",
    "find_kernel_tree",
    "open_tree",
]

_HEX = re.compile(r"[0-9a-fA-F]{4,64}\Z")
_MAX_SYMLINK_HOPS = 40  # the kernel's own limit for path resolution


class TreeError(Exception):
    """The tree cannot be opened (not a directory, unknown revision, no git)."""


def _decode(data: bytes) -> str:
    # surrogateescape lets non-UTF-8 bytes survive a read/encode round trip.
    return data.decode("utf-8", "surrogateescape")


def _git_env() -> dict[str, str]:
    """Environment for git that cannot be redirected at another repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never take index.lock, even for reads
    env["LC_ALL"] = "C"
    return env


class _CatFile:
    """One long-lived ``git cat-file --batch`` process for a repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._broken = False

    def _start(self) -> subprocess.Popen[bytes] | None:
        if self._proc is None and not self._broken:
            try:
                self._proc = subprocess.Popen(
                    ["git", "-C", str(self.root), "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=_git_env(),
                )
            except OSError:
                self._broken = True
        return self._proc

    def get(self, name: str) -> tuple[str, bytes] | None:
        """(type, content) of object ``name`` (``sha`` or ``rev:path``), or None."""
        if "\n" in name or "\r" in name:
            return None
        with self._lock:
            proc = self._start()
            if proc is None:
                return None
            stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]
            stdout: IO[bytes] = proc.stdout  # type: ignore[assignment]
            try:
                stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
                stdin.flush()
                header = stdout.readline().decode("utf-8", "replace").split()
                if len(header) != 3:
                    # "<name> missing" or "<name> ambiguous": nothing else follows.
                    return None
                size = int(header[2])
                data = stdout.read(size + 1)
            except (OSError, ValueError):
                self._broken = True
                self.close_locked()
                return None
            return header[1], data[:size]

    def close_locked(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        with self._lock:
            self.close_locked()


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        env=_git_env(),
        check=False,
    )


class Tree(ABC):
    """A read-only kernel source tree; every path goes through :meth:`resolve_safe`."""

    root: Path
    kind: str  # "directory" | "git"

    @abstractmethod
    def resolve_safe(self, path: str) -> str:
        """Normalised tree-relative path, or :class:`UnsafePathError`."""

    @abstractmethod
    def read(self, path: str) -> str | None:
        """Text of ``path`` (None if missing); raises UnsafePathError for unsafe paths."""

    def read_blob(self, blob_id: str) -> str | None:
        """Text of a git blob named by a (possibly abbreviated) id; None if unknown."""
        return None

    def exists(self, path: str) -> bool:
        return self.read(path) is not None

    def close(self) -> None:  # noqa: B027 - optional hook, most trees hold nothing
        """Release helper processes; the tree stays usable (they restart on demand)."""

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.root}>"


class DirectoryTree(Tree):
    """Files on disk: an extracted release, or the work tree of a checkout."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.kind = "directory"
        self._real_root = os.path.realpath(self.root)

    def _inside(self, real: str) -> bool:
        return real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep)

    def resolve_safe(self, path: str) -> str:
        rel = normalise_relative(path)
        full = os.path.join(self._real_root, *rel.split("/"))
        real = os.path.realpath(full)
        if not self._inside(real):
            raise UnsafePathError(path, f"resolves through a symlink to {real}, outside the tree")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            return rel
        except OSError as exc:
            raise UnsafePathError(path, f"cannot be inspected: {exc.strerror}") from exc
        if stat.S_ISDIR(st.st_mode):
            raise UnsafePathError(path, "is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError(path, "is not a regular file (device, FIFO or socket)")
        return rel

    def read(self, path: str) -> str | None:
        rel = self.resolve_safe(path)
        try:
            with open(os.path.join(self._real_root, *rel.split("/")), "rb") as handle:
                return _decode(handle.read())
        except (FileNotFoundError, NotADirectoryError):
            return None

    def exists(self, path: str) -> bool:
        rel = self.resolve_safe(path)
        return os.path.isfile(os.path.join(self._real_root, *rel.split("/")))


class GitWorkTree(DirectoryTree):
    """A git checkout read from its work tree, with blob lookups through git."""

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        self.kind = "git"
        self.rev: str | None = None
        self._cat = _CatFile(self.root)

    def read_blob(self, blob_id: str) -> str | None:
        return _read_blob(self._cat, blob_id)

    def close(self) -> None:
        self._cat.close()


def _read_blob(cat: _CatFile, blob_id: str) -> str | None:
    if not blob_id or not _HEX.match(blob_id) or set(blob_id) == {"0"}:
        return None
    found = cat.get(blob_id)
    if found is None or found[0] != "blob":
        return None
    return _decode(found[1])


class GitRevisionTree(Tree):
    """The tree of one commit, read with ``git cat-file``; the work tree is ignored."""

    def __init__(self, root: str | Path, rev: str) -> None:
        self.root = Path(root)
        self.kind = "git"
        done = _git(self.root, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
        if done.returncode != 0:
            raise TreeError(f"{rev!r} is not a commit in {self.root}")
        self.rev = done.stdout.decode().strip()
        self._cat = _CatFile(self.root)
        self._modes: dict[str, str] | None = None
        self._dirs: set[str] = set()
        self._listing_lock = threading.Lock()

    def _listing(self) -> dict[str, str]:
        """path -> git mode for every entry of the revision (loaded once)."""
        with self._listing_lock:
            if self._modes is None:
                done = _git(self.root, "ls-tree", "-r", "-z", "--full-tree", self.rev)
                if done.returncode != 0:
                    raise TreeError(f"cannot list {self.rev} in {self.root}")
                modes: dict[str, str] = {}
                for entry in done.stdout.split(b"\0"):
                    if not entry:
                        continue
                    meta, _, name = entry.partition(b"\t")
                    path = _decode(name)
                    modes[path] = meta.split(b" ", 1)[0].decode()
                    parent = path.rpartition("/")[0]
                    while parent and parent not in self._dirs:
                        self._dirs.add(parent)
                        parent = parent.rpartition("/")[0]
                self._modes = modes
            return self._modes

    def resolve_safe(self, path: str) -> str:
        rel = normalise_relative(path)
        modes = self._listing()
        hops = 0
        parts = rel.split("/")
        i = 0
        # Resolve symlinks stored in the commit component by component, the way
        # the kernel would once the tree was checked out.
        while i < len(parts):
            prefix = "/".join(parts[: i + 1])
            if modes.get(prefix) == "120000":
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    raise UnsafePathError(path, "too many levels of symbolic links")
                target = self._symlink_target(prefix)
                if target.startswith("/"):
                    raise UnsafePathError(path, f"goes through symlink {prefix} -> {target}")
                base = parts[:i]
                try:
                    joined = normalise_relative("/".join([*base, target, *parts[i + 1 :]]))
                except UnsafePathError as exc:
                    raise UnsafePathError(
                        path, f"symlink {prefix} -> {target} leaves the tree"
                    ) from exc
                parts = joined.split("/")
                i = 0
                continue
            i += 1
        final = "/".join(parts)
        mode = modes.get(final)
        if final in self._dirs:
            raise UnsafePathError(path, "is a directory, not a file")
        if mode == "160000":
            raise UnsafePathError(path, "is a submodule, not a file")
        return final

    def _symlink_target(self, prefix: str) -> str:
        found = self._cat.get(f"{self.rev}:{prefix}")
        return _decode(found[1]) if found else ""

    def read(self, path: str) -> str | None:
        rel = self.resolve_safe(path)
        if rel not in self._listing():
            return None
        found = self._cat.get(f"{self.rev}:{rel}")
        if found is None or found[0] != "blob":
            return None
        return _decode(found[1])

    def exists(self, path: str) -> bool:
        return self.resolve_safe(path) in self._listing()

    def read_blob(self, blob_id: str) -> str | None:
        return _read_blob(self._cat, blob_id)

    def close(self) -> None:
        self._cat.close()


def _is_git_checkout(root: Path) -> bool:
    return (root / ".git").exists() and shutil.which("git") is not None


def open_tree(path: str | Path, base_rev: str | None = None) -> Tree:
    """Open ``path`` read-only: a plain directory, a git work tree, or a git revision."""
    root = Path(path)
    if not root.is_dir():
        raise TreeError(f"{root} is not a directory")
    if base_rev is not None:
        if not _is_git_checkout(root):
            raise TreeError(f"--base {base_rev} needs a git checkout, {root} is not one")
        return GitRevisionTree(root, base_rev)
    if _is_git_checkout(root):
        return GitWorkTree(root)
    return DirectoryTree(root)


# A kernel tree, git checkout or extracted release: the top-level Makefile names the
# version, there is a top-level Kconfig, and the usual folders are there. Nothing
# else is required (no Kbuild, no scripts/checkpatch.pl: partial checkouts and
# trimmed trees are kernel trees too).
_MAKEFILE_VERSION = re.compile(r"^VERSION\s*=\s*\d+\s*$", re.MULTILINE)
_MAKEFILE_PATCHLEVEL = re.compile(r"^PATCHLEVEL\s*=\s*\d+\s*$", re.MULTILINE)
_USUAL_FOLDERS = ("arch", "drivers", "fs", "include", "init", "kernel", "lib", "mm", "net")


def is_kernel_tree(candidate: Path) -> bool:
    """Whether `candidate` is the top of a kernel tree (see the markers above)."""
    try:
        if not (candidate / "Kconfig").is_file():
            return False
        with (candidate / "Makefile").open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    if not (_MAKEFILE_VERSION.search(head) and _MAKEFILE_PATCHLEVEL.search(head)):
        return False
    return sum(1 for name in _USUAL_FOLDERS if (candidate / name).is_dir()) >= 2


def find_kernel_tree(start: str | Path) -> Path | None:
    """The innermost directory at or above ``start`` that looks like a kernel tree."""
    try:
        here = Path(start).resolve()
    except OSError:
        return None
    if here.is_file():
        here = here.parent
    for candidate in (here, *here.parents):
        if is_kernel_tree(candidate):
            return candidate
    return None
