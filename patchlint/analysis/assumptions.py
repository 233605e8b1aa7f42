"""Protections a function's annotations or comments say its callers hold (what
task-iter-unlocked and caller_protection take on trust)."""

from __future__ import annotations

import re

from patchlint.analysis.facts import Assumption, FileFacts
from patchlint.analysis.identity import canonical
from patchlint.source import FunctionDef

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def leading_comment(ff: FileFacts, fn: FunctionDef) -> tuple[str, int]:
    """The comment block just above a function (and its line), or ("", 0)."""
    before = ff.source.byte_text(max(0, fn.start_byte - 3000), fn.start_byte).rstrip()
    if not before.endswith("*/"):
        return "", 0
    start = before.rfind("/*")
    if start < 0:
        return "", 0
    comment = before[start:]
    line = fn.start_line - comment.count("\n") - 1
    return comment, max(1, line)


def body_comments(ff: FileFacts, fn: FunctionDef) -> list[tuple[str, int]]:
    body = fn.body
    if body is None:
        return []
    chunk = ff.source.byte_text(body.start_byte, body.end_byte)
    base = body.start_point[0] + 1
    return [(m.group(0), base + chunk.count("\n", 0, m.start())) for m in _COMMENT.finditer(chunk)]


def declared_assumptions(ff: FileFacts, fn: FunctionDef) -> list[Assumption]:
    """Protections the function's annotations or comments say it is called with."""
    found: list[Assumption] = []
    notes = ff.kb.annotations
    for note in fn.annotations:
        if note.name not in notes.hold and note.name not in notes.release:
            continue
        for arg in note.args:
            kind = notes.kind_names.get(arg.strip())
            lock = canonical(arg).lstrip("&")
            for protection in ff.kb.protections.values():
                if (kind is not None and protection.kind == kind) or (
                    kind is None and protection.lock is not None and protection.lock.search(lock)
                ):
                    found.append(
                        Assumption(
                            protection.id,
                            "annotation",
                            f"{note.name}({', '.join(note.args)})",
                            note.line,
                            ff.path,
                        )
                    )
    comment, line = leading_comment(ff, fn)
    comments = [(comment, line)] if comment else []
    comments += body_comments(ff, fn)
    for chunk, chunk_line in comments:
        flat = " ".join(chunk.replace("*", " ").split())
        for protection in ff.kb.protections.values():
            for pattern in protection.comments:
                match = pattern.search(flat)
                if match:
                    found.append(
                        Assumption(
                            protection.id,
                            "comment",
                            f'documented precondition: "{match.group(0)}"',
                            chunk_line,
                            ff.path,
                            confidence="low",
                        )
                    )
                    break
    return found
