"""Turn one raw message into a classified Message."""

from __future__ import annotations

import re

from patchlint.mail.address import format_address, parse_address
from patchlint.mail.classify import has_quoting, quoted_hunks, split_body
from patchlint.mail.decode import Decoded, decode_message
from patchlint.mail.mbox import RawMessage
from patchlint.mail.model import Message
from patchlint.mail.patchid import patch_id
from patchlint.mail.subject import parse_subject
from patchlint.mail.trailers import parse_trailers

_INBODY = re.compile(r"^(From|Subject|Date):\s*(.*)$")
_SCISSORS = re.compile(r"^(?:-{3,}|-+ ?>8 ?-+)\s*$")
_DIFFSTAT = re.compile(r"^\s*\d+ files? changed(, \d+ insertions?\(\+\))?", re.MULTILINE)


format_person = format_address


def build_message(raw: RawMessage, source: str, index: int) -> Message:
    """Never raises: anything unexpected turns the message into kind "error"."""
    try:
        return _build(raw, source, index)
    except Exception as exc:  # noqa: BLE001 - errors are values at this boundary
        return Message(
            index=index,
            source=source,
            line=raw.line,
            kind="error",
            reason=f"cannot parse message: {type(exc).__name__}: {exc}",
        )


def _build(raw: RawMessage, source: str, index: int) -> Message:
    msg = Message(index=index, source=source, line=raw.line, commit=raw.commit)
    if raw.error:
        msg.kind, msg.reason = "error", raw.error
        return msg
    dec = decode_message(raw.data, raw.content_line)
    msg.message_id, msg.subject, msg.date = dec.message_id, dec.subject, dec.date
    msg.in_reply_to, msg.references = dec.in_reply_to, dec.references
    msg.sender = msg.author = format_person(dec.sender_name, dec.sender_addr)
    msg.sender_addr = msg.author_addr = dec.sender_addr
    msg.series = parse_subject(dec.subject)
    msg.warnings = dec.warnings
    msg.body = dec.body
    if dec.error:
        msg.kind, msg.reason = "error", dec.error
        return msg
    _classify(msg, dec)
    return msg


def _strip_inbody_headers(lines: list[str], msg: Message) -> int:
    """Consume git-am style in-body From:/Subject:/Date: lines; return lines eaten.

    They open the body, or follow a dashed line near the top: stable review mails
    put a preamble and "------------------" before the real author's From:."""
    pos = _skip_blank(lines, 0)
    for cut in range(pos, min(len(lines), 12)):
        if _SCISSORS.match(lines[cut]):
            after = _skip_blank(lines, cut + 1)
            if after < len(lines) and lines[after].startswith("From: "):
                pos = after
            break
    found: dict[str, str] = {}
    while pos < len(lines) and (match := _INBODY.match(lines[pos])):
        found[match.group(1)] = match.group(2).strip()
        pos += 1
    if not found:
        return 0
    if "From" in found:
        author = parse_address(found["From"])
        if author.addr:
            msg.author, msg.author_addr = str(author), author.addr
    if pos < len(lines) and not lines[pos].strip():
        pos += 1
    return pos


def _skip_blank(lines: list[str], pos: int) -> int:
    while pos < len(lines) and not lines[pos].strip():
        pos += 1
    return pos


def _classify(msg: Message, dec: Decoded) -> None:
    info = msg.series
    lines = dec.body.split("\n")
    split = split_body(lines)
    diff_parts: list[str] = []
    message_lines = lines
    body_line = dec.body_line
    extra_message = ""
    notes = ""
    if split is not None:
        diff_parts.append("\n".join(lines[split.diff_start : split.diff_end]) + "\n")
        message_lines = lines[: split.message_end]
        notes = "\n".join(lines[split.message_end + 1 : split.diff_start]).strip("\n")
    else:
        for att in dec.attachments:
            alines = att.text.split("\n")
            asplit = split_body(alines)
            if asplit is None:
                continue
            diff_parts.append("\n".join(alines[asplit.diff_start : asplit.diff_end]) + "\n")
            extra_message += _attachment_message(alines[: asplit.message_end])
            body_line = None
    has_diff = bool(diff_parts)

    if not dec.has_headers:
        msg.warnings.append("no mail headers")
        if not has_diff:
            msg.kind, msg.reason = "error", "no mail headers and no diff"
            return
        kind = "patch"
    elif info.is_reply:
        kind = "reply"
        if has_diff:
            msg.warnings.append("reply carries a diff of its own; not treated as a patch")
    elif info.is_pull:
        kind = "pull"
    elif info.index == 0 and info.total:
        kind = "cover"
    elif has_diff and not info.is_patch and _is_report(info.prefixes):
        # "[BUG] ...", "[Bug 219681] ...", "[REGRESSION] ...": a report that shows a
        # diff (a debugging hack, a suggestion) is not a patch submission.
        kind = "other"
        msg.reason = f"diff inside a [{' '.join(info.prefixes)}] mail, not a patch submission"
    elif has_diff:
        kind = "patch"
    elif info.is_patch and info.index is None and _DIFFSTAT.search(dec.body):
        kind = "cover"
    elif info.is_patch and (has_quoting(dec.body) or msg.in_reply_to or msg.references):
        # A "[PATCH ...]" subject without "Re:" that answers a mail: a review whose
        # client dropped the "Re:" (b4 reads it as a reply too).
        kind = "reply"
    elif info.is_patch:
        kind = "other"
        msg.reason = "patch subject but no diff found"
    elif msg.in_reply_to or msg.references or has_quoting(dec.body):
        kind = "reply"
    elif not dec.has_text:
        kind = "other"
        msg.reason = "no text/plain part"
    else:
        kind = "other"
        msg.reason = "no diff, no patch subject and not a reply"
    msg.kind = kind

    if kind == "patch":
        eaten = _strip_inbody_headers(message_lines, msg)
        text = "\n".join(message_lines[eaten:]).strip("\n")
        if extra_message:
            text = (text + "\n\n" + extra_message).strip("\n")
        msg.commit_message = text + "\n" if text else ""
        msg.diff_text = "".join(diff_parts)
        msg.notes = notes
        msg.patch_id = patch_id(msg.diff_text)
        first = (
            None if body_line is None else body_line + eaten + _leading_blank(message_lines[eaten:])
        )
        msg.trailers = parse_trailers(
            msg.commit_message,
            reply=False,
            given_by=msg.sender,
            sender_addr=msg.sender_addr,
            message_id=msg.message_id,
            first_line=first,
        )
    elif kind == "cover":
        end = split.message_end if split is not None else len(lines)
        text = "\n".join(lines[:end])
        sep = next((i for i, line in enumerate(lines[:end]) if line.rstrip() == "---"), None)
        if sep is not None:
            text = "\n".join(lines[:sep])
        msg.commit_message = text.strip("\n") + "\n"
        msg.trailers = parse_trailers(
            text,
            reply=False,
            given_by=msg.sender,
            sender_addr=msg.sender_addr,
            message_id=msg.message_id,
            first_line=body_line,
        )
    elif kind == "reply":
        msg.trailers = parse_trailers(
            dec.body,
            reply=True,
            given_by=msg.sender,
            sender_addr=msg.sender_addr,
            message_id=msg.message_id,
            first_line=body_line,
        )
        msg.quoted_hunks = quoted_hunks(dec.body)


# Subject tags of problem reports ("[BUG]", "[Bug 219681]", "[REGRESSION]", "[bug
# report]", "[syzbot] ..."): a diff shown in such a mail is a suggestion, not a patch.
_REPORT_WORDS = frozenset(
    {"bug", "regression", "report", "syzbot", "question", "discussion", "issue", "bisected"}
)


def _is_report(prefixes: list[str]) -> bool:
    return any(word.lower() in _REPORT_WORDS for prefix in prefixes for word in prefix.split())


def _leading_blank(lines: list[str]) -> int:
    count = 0
    for line in lines:
        if line.strip():
            break
        count += 1
    return count


def _attachment_message(lines: list[str]) -> str:
    """Commit message text of an attached format-patch file, its mail headers removed."""
    pos = 0
    if not lines or not lines[0].startswith("From"):
        return "\n".join(lines).strip("\n")
    if lines[0].startswith("From "):
        pos = 1
    while pos < len(lines) and re.match(r"^[A-Za-z-]+: ", lines[pos]):
        pos += 1
        while pos < len(lines) and lines[pos][:1] in (" ", "\t"):
            pos += 1
    return "\n".join(lines[pos:]).strip("\n")
