"""Input sources: mbox / mail / patch files (plain or gzip), directories, stdin."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from patchlint.mail.mbox import RawMessage, split_mbox
from patchlint.mail.model import InputError, Message
from patchlint.mail.parse import build_message

MAIL_SUFFIXES = (".patch", ".diff", ".eml", ".mbox", ".mbx", ".msg", ".txt", ".gz", ".mail")


def _directory_files(path: str) -> list[str]:
    """Regular, non-hidden files of a format-patch style directory, sorted by name.

    When some look like mail or patch files only those are taken, so a README next
    to the patches is not read as a message."""
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from exc
    files = [
        os.path.join(path, n)
        for n in names
        if not n.startswith(".") and os.path.isfile(os.path.join(path, n))
    ]
    mail = [f for f in files if f.lower().endswith(MAIL_SUFFIXES)]
    return mail or files


def _from_stream(stream: BinaryIO, name: str, start_index: int) -> Iterator[Message]:
    index = start_index
    for raw in split_mbox(stream):
        yield build_message(raw, name, index)
        index += 1


def iter_messages(
    source: str | os.PathLike[str] | BinaryIO,
    name: str | None = None,
    start_index: int = 0,
) -> Iterator[Message]:
    """Stream the messages of one input, classified, in file order.

    `source` is a path (mbox, single mail/patch, gzip of either, a directory of
    format-patch files, "-" for stdin) or a binary stream. Only an input that cannot
    be opened raises (InputError); damage inside it yields kind "error" messages.
    """
    if not isinstance(source, (str, os.PathLike)):
        label = name or str(getattr(source, "name", "") or "<stream>")
        yield from _from_stream(source, label, start_index)
        return
    path = os.fspath(source)
    if path == "-":
        yield from _from_stream(sys.stdin.buffer, name or "<stdin>", start_index)
        return
    if os.path.isdir(path):
        index = start_index
        for file in _directory_files(path):
            for msg in _file_messages(file, file, index, in_directory=True):
                index = msg.index + 1
                yield msg
        return
    yield from _file_messages(path, name or path, start_index, in_directory=False)


def _file_messages(
    path: str, label: str, start_index: int, in_directory: bool
) -> Iterator[Message]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        if not in_directory:
            raise InputError(path, exc.strerror or str(exc)) from exc
        raw = RawMessage(b"", 1, 1, error=f"cannot read file: {exc.strerror or exc}")
        yield build_message(raw, label, start_index)
        return
    with handle:
        yield from _from_stream(handle, label, start_index)


def check_input(path: str) -> None:
    """Raise InputError unless `path` can be read as an input."""
    if path == "-":
        return
    if not os.path.exists(path):
        raise InputError(path, "no such file or directory")
    if os.path.isdir(path):
        if not _directory_files(path):
            raise InputError(path, "directory contains no files")
        return
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from exc


def iter_inputs(paths: Sequence[str]) -> Iterator[Message]:
    """Messages of all inputs in order, indexes continuing across inputs.

    Every path is checked before anything is read, so an unreadable one raises
    InputError at the call, not half-way through a run."""
    for path in paths:
        check_input(path)
    return _chain(paths)


def _chain(paths: Sequence[str]) -> Iterator[Message]:
    index = 0
    for path in paths:
        for msg in iter_messages(path, start_index=index):
            index = msg.index + 1
            yield msg
