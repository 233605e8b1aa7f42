"""Streaming mbox splitter (mboxo and mboxrd), gzip detection.

The splitter reads one line at a time so memory is bounded by the largest single
message, not by the file.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"

# A separator needs something that looks like a time and a year after the address:
# "From mboxrd@z Thu Jan  1 00:00:00 1970", "From 1234abcd Mon Sep 17 00:00:00 2001",
# "From - Wed Sep 10 22:37:25 2025". Body prose ("From here on ...") rarely has both.
_SEPARATOR = re.compile(rb"^From \S+ +.*\b\d{1,2}:\d{2}(?::\d{2})?\b.*\b\d{4}\b")
# RFC 5322 field name: printable ASCII except ':' and space, then ':'.
HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_ESCAPED_FROM = re.compile(rb"^>+From ")
# git format-patch writes the commit id and a fixed date on the separator line.
_FORMAT_PATCH = re.compile(rb"^From ([0-9a-f]{40}) Mon Sep 17 00:00:00 2001\s*$")


@dataclass
class RawMessage:
    """One message's bytes (separator removed, mboxrd escapes undone, LF line ends)."""

    data: bytes
    line: int  # 1-based line of the separator, or of the first content line
    content_line: int  # 1-based line of the first header line
    error: str | None = None
    commit: str = ""  # the commit id of a git format-patch separator line


class _Prefixed(io.RawIOBase):
    """Re-attach bytes already read from a non-seekable stream (magic-byte sniffing)."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        if self._prefix:
            chunk = self._prefix[:want]
            self._prefix = self._prefix[want:]
        else:
            chunk = self._stream.read(want) or b""
        buffer[: len(chunk)] = chunk
        return len(chunk)


def open_stream(stream: BinaryIO) -> BinaryIO:
    """Wrap `stream` for line reading, transparently gunzipping gzip data."""
    head = stream.read(2) or b""
    raw = io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 16)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _normalise(line: bytes) -> bytes:
    # git am drops CRs by default; doing it here keeps every later stage LF-only.
    if line.endswith(b"\r\n"):
        return line[:-2] + b"\n"
    return line


def split_mbox(stream: BinaryIO) -> Iterator[RawMessage]:
    """Yield the messages of an mbox, or a single mail / patch file, one at a time.

    Content before the first separator that is not blank is a message of its own
    (a plain .eml or .patch without a "From " line). A read error ends the stream
    with a RawMessage whose `error` is set, so callers can report it as a value.
    """
    buf: list[bytes] = []
    start = 1  # line of the current message's separator (or first line)
    content = 1
    lineno = 0
    candidate: tuple[int, bytes] | None = None
    commit = ""
    reader = open_stream(stream)
    try:
        for raw in reader:
            lineno += 1
            if candidate is not None:
                cand_no, cand_line = candidate
                candidate = None
                if HEADER_LINE.match(raw):
                    if _has_content(buf):
                        yield RawMessage(b"".join(buf), start, content, commit=commit)
                    buf = []
                    start, content = cand_no, cand_no + 1
                    found = _FORMAT_PATCH.match(cand_line)
                    commit = found.group(1).decode() if found else ""
                else:
                    buf.append(_normalise(cand_line))
            if raw.startswith(b"From ") and _SEPARATOR.match(raw):
                candidate = (lineno, raw)
                continue
            if raw.startswith(b">") and _ESCAPED_FROM.match(raw):
                raw = raw[1:]
            if not buf and raw.strip() == b"":
                # leading blank lines belong to no message; keep line numbers honest
                start = content = lineno + 1
                continue
            buf.append(_normalise(raw))
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        if candidate is not None:
            buf.append(_normalise(candidate[1]))
        if _has_content(buf):
            yield RawMessage(b"".join(buf), start, content, commit=commit)
        yield RawMessage(b"", lineno + 1, lineno + 1, error=f"read error: {exc}")
        return
    if candidate is not None:
        if buf:
            buf.append(_normalise(candidate[1]))
        else:
            # a lone separator at the end of the file: an empty message, report it
            yield RawMessage(b"", candidate[0], candidate[0] + 1, error="empty message")
    if _has_content(buf):
        yield RawMessage(b"".join(buf), start, content, commit=commit)


def _has_content(buf: list[bytes]) -> bool:
    return any(line.strip() for line in buf)
