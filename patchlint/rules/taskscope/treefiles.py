"""Reading a kernel tree for the inference: batched greps over the common directories,
parsed files kept for the run, and a manifest of every file read (the cache key).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from patchlint.knowledge import load_toml
from patchlint.source import SourceFile, parse_c

TextReader = Callable[[str], "str | None"]
_MACRO_HEAD = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(")
_STATIC = re.compile(r"^(?:\w+\s+)*?static\b")
_FUNCTION_HEAD = re.compile(r"^(?:[^(]*[^\w(])?(\w+)[ \t]*\(")
_DEFINE = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)]*)\)[ \t]*((?:[^\n]*\\\n)*[^\n]*)", re.M
)


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def search_dirs() -> list[str]:
    """The directories where the kernel keeps its common code, most common first."""
    index = load_toml("kernel/dialect.toml").get("index", {})
    return [str(d) for d in index.get("definition_search_order", [])]


@dataclass(frozen=True)
class Head:
    """A line that may start a definition."""

    path: str
    line: int
    kind: str  # "macro", "static" or "extern"


@dataclass(frozen=True)
class MacroDef:
    name: str
    params: tuple[str, ...]
    body: str
    file: str
    line: int


class TreeFiles:
    """Files of one tree, read through an optional reader (a git revision) or the disk."""

    def __init__(
        self,
        root: Path,
        reader: TextReader | None = None,
        cache_size: int = 256,
        listing: list[str] | None = None,
    ) -> None:
        self.root = root
        self.reader = reader
        self.listing = listing
        self.manifest: dict[str, str] = {}
        self.greps = 0
        self._parsed: OrderedDict[str, SourceFile | None] = OrderedDict()
        self._cache_size = cache_size
        self._dirs = (
            ["."]
            if listing is not None
            else [d for d in search_dirs() if (root / d).is_dir()] or ["."]
        )
        self._definitions: dict[str, list[Head]] | None = None
        self._macros: dict[str, dict[str, MacroDef]] = {}

    @classmethod
    def virtual(cls, files: dict[str, str]) -> TreeFiles:
        """A tree made of the given files only (one patched file and nothing else)."""
        return cls(Path("/nonexistent"), files.get, listing=sorted(files))

    def text(self, path: str) -> str | None:
        data: str | None = None
        if self.reader is not None:
            data = self.reader(path)
        if data is None and self.listing is None:
            try:
                data = (self.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                data = None
        if data is not None:
            self.manifest[path] = content_hash(data)
        return data

    def parsed(self, path: str) -> SourceFile | None:
        if path in self._parsed:
            self._parsed.move_to_end(path)
            return self._parsed[path]
        data = self.text(path)
        source = parse_c(data, path) if data is not None else None
        self._parsed[path] = source
        while len(self._parsed) > self._cache_size:
            self._parsed.popitem(last=False)
        return source

    def grep(self, pattern: str, words: bool = False, lines: bool = False) -> list[str]:
        """``grep -rE`` over the common directories: matching files, or file:line:text."""
        grep = shutil.which("grep")
        if grep is None or self.listing is not None:
            return self._python_grep(pattern, words, lines)
        options = ["-rE", "--include=*.c", "--include=*.h"]
        options.append("-n" if lines else "-l")
        if words:
            options.append("-w")
        self.greps += 1
        try:
            proc = subprocess.run(
                [grep, *options, "-e", pattern, "--", *self._dirs],
                cwd=self.root,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=300,
                env={**os.environ, "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return self._python_grep(pattern, words, lines)
        if proc.returncode not in (0, 1):
            return self._python_grep(pattern, words, lines)
        return [line[2:] if line.startswith("./") else line for line in proc.stdout.splitlines()]

    def _python_grep(self, pattern: str, words: bool, lines: bool) -> list[str]:
        regex = re.compile(rf"\b(?:{pattern})\b" if words else pattern)
        found: list[str] = []
        for relative in self._all_paths():
            data = self.text(relative) or ""
            for number, line in enumerate(data.splitlines(), 1):
                if regex.search(line):
                    if not lines:
                        found.append(relative)
                        break
                    found.append(f"{relative}:{number}:{line}")
        return found

    def _all_paths(self) -> list[str]:
        if self.listing is not None:
            return self.listing
        paths: list[str] = []
        for directory in self._dirs:
            for path in sorted((self.root / directory).rglob("*")):
                if path.suffix in (".c", ".h") and path.is_file():
                    paths.append(str(path.relative_to(self.root)))
        return paths

    def tier(self, path: str) -> int:
        for position, directory in enumerate(self._dirs):
            if directory == "." or path.startswith(directory.rstrip("/") + "/"):
                return position
        return len(self._dirs)

    def definitions(self, names: Iterable[str]) -> dict[str, list[Head]]:
        """Where each name may be defined (a function head at column 0, or a macro)."""
        table = self._definition_table()
        return {name: table.get(name, []) for name in names}

    def _definition_table(self) -> dict[str, list[Head]]:
        """Every function head and function-like macro of the common directories, from
        one grep: locating a callee is then a dictionary lookup."""
        if self._definitions is not None:
            return self._definitions
        table: dict[str, list[Head]] = {}
        pattern = r"^[A-Za-z_][^;{}=]*\(|^[ \t]*#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*\("
        for hit in self.grep(pattern, lines=True):
            path, _, rest = hit.partition(":")
            number, _, line = rest.partition(":")
            macro = _MACRO_HEAD.match(line)
            match = macro
            if match is None:
                if line.rstrip().endswith(";"):
                    continue  # a prototype
                match = _FUNCTION_HEAD.match(line)
            if match is None or not number.isdigit():
                continue
            kind = "macro" if macro else "static" if _STATIC.match(line) else "extern"
            heads = table.setdefault(match.group(1), [])
            if all(h.path != path or h.kind != kind for h in heads):
                heads.append(Head(path, int(number), kind))
        self._definitions = table
        return table

    def macros(self, path: str) -> dict[str, MacroDef]:
        cached = self._macros.get(path)
        if cached is None:
            cached = self._macros[path] = self._read_macros(path)
        return cached

    def _read_macros(self, path: str) -> dict[str, MacroDef]:
        data = self.text(path)
        result: dict[str, MacroDef] = {}
        for match in _DEFINE.finditer(data or ""):
            name = match.group(1)
            if name in result:
                continue  # the first arm of an #ifdef, like the normaliser
            params = tuple(p.strip() for p in match.group(2).split(",") if p.strip())
            body = match.group(3).replace("\\\n", " ")
            result[name] = MacroDef(name, params, body, path, _line_at(data or "", match.start()))
        return result


def _line_at(data: str, offset: int) -> int:
    return data.count("\n", 0, offset) + 1


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
