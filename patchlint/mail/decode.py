"""MIME decoding: headers (RFC 2047, raw 8-bit), transfer encodings, charsets,
format=flowed, patch attachments."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from email.parser import BytesParser
from email.policy import Compat32

from patchlint.mail.address import parse_address
from patchlint.mail.mbox import HEADER_LINE


class _RawHeaders(Compat32):
    """compat32 hands back an email.header.Header object for headers with raw 8-bit
    bytes; we want the plain string (surrogate-escaped) and decode it ourselves."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()
_PARSER = BytesParser(policy=_POLICY)

PATCH_CONTENT_TYPES = frozenset(
    {
        "text/x-patch",
        "text/x-diff",
        "text/patch",
        "text/diff",
        "application/x-patch",
        "application/x-diff",
        "text/x-git-diff",
    }
)
_FOLD = re.compile(r"\r?\n[ \t]*")
_MSGID = re.compile(r"<([^<>\s]+)>")
_BASE64_DEFECTS = ("InvalidBase64CharactersDefect", "InvalidBase64LengthDefect")


@dataclass
class Attachment:
    filename: str
    text: str


@dataclass
class Decoded:
    """What the classifier needs from one raw message."""

    has_headers: bool = True
    subject: str = ""
    sender_name: str = ""
    sender_addr: str = ""
    date: str = ""
    message_id: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    body: str = ""
    # file line of body's first line when body lines map 1:1 to file lines
    body_line: int | None = None
    attachments: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    has_text: bool = True


def unsurrogate(value: str) -> str:
    """Turn surrogate-escaped raw bytes (8-bit headers) back into text: utf-8, else latin-1."""
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_header_value(value: object) -> str:
    """Unfold and RFC 2047-decode a header value; never raises."""
    if value is None:
        return ""
    text = unsurrogate(str(value))
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except Exception:  # noqa: BLE001 - unknown charsets, broken encoded words
            text = _decode_words_leniently(text)
    return _FOLD.sub(" ", text).strip()


def _decode_words_leniently(text: str) -> str:
    try:
        parts = decode_header(text)
    except Exception:  # noqa: BLE001
        return text
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(_bytes_to_text(chunk, charset, []))
    return "".join(out)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except LookupError:
        return None


def _bytes_to_text(payload: bytes, charset: str | None, warnings: list[str]) -> str:
    """Declared charset, then utf-8, then latin-1 (which cannot fail); warn on fallback."""
    codec = _codec(charset)
    if codec is not None:
        try:
            return payload.decode(codec)
        except UnicodeDecodeError:
            pass
    try:
        text = payload.decode("utf-8")
        used = "utf-8"
    except UnicodeDecodeError:
        text = payload.decode("latin-1")
        used = "latin-1"
    if charset and codec is None:
        warnings.append(f"charset '{charset}' unknown, decoded as {used}")
    elif charset:
        warnings.append(f"body is not valid {charset}, decoded as {used}")
    elif used == "latin-1":
        warnings.append("no charset declared and body is not utf-8, decoded as latin-1")
    return text


def unflow(text: str, delsp: bool) -> str:
    """Undo format=flowed (RFC 3676): a line ending in a space continues on the next
    line of the same quote depth; one leading space is stuffing."""
    out: list[str] = []
    pending: tuple[int, str] | None = None
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if pending is not None and pending[0] != depth:
            out.append(_render_flowed(*pending))
            pending = None
        is_signature = pending is None and content == "-- "
        if pending is not None:
            content = pending[1] + content
        if content.endswith(" ") and not is_signature:
            pending = (depth, content[:-1] if delsp else content)
        else:
            out.append(_render_flowed(depth, content))
            pending = None
    if pending is not None:
        out.append(_render_flowed(*pending))
    return "\n".join(out)


def _render_flowed(depth: int, content: str) -> str:
    if not depth:
        return content
    return ">" * depth + (" " + content if content else "")


def _parse_ids(value: str) -> list[str]:
    found = _MSGID.findall(value)
    if found:
        return found
    stripped = value.strip().strip("<>").strip()
    return [stripped] if stripped and " " not in stripped else []


def _part_text(part: EmailMessage, warnings: list[str]) -> str | None:
    """Decoded text of one leaf part, or None if its transfer encoding is corrupt."""
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "surrogateescape")
    if any(type(d).__name__ in _BASE64_DEFECTS for d in part.defects):
        return None
    text = _bytes_to_text(payload, part.get_content_charset(), warnings)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if str(part.get_param("format") or "").lower() == "flowed":
        delsp = str(part.get_param("delsp") or "").lower() == "yes"
        text = unflow(text, delsp)
    return text


def _is_patch_attachment(ctype: str, filename: str) -> bool:
    if ctype in PATCH_CONTENT_TYPES:
        return True
    name = filename.lower()
    return name.endswith((".patch", ".diff")) and (
        ctype.startswith("text/") or ctype == "application/octet-stream"
    )


def decode_message(data: bytes, content_line: int) -> Decoded:
    """Decode one raw message. Problems become warnings or `error`, never exceptions
    (the caller still guards against the unexpected)."""
    out = Decoded()
    if not HEADER_LINE.match(data):
        # A bare diff or text without mail headers (e.g. `git diff > x.diff`).
        out.has_headers = False
        out.body = _bytes_to_text(data, None, out.warnings).replace("\r\n", "\n")
        out.body_line = content_line
        return out
    msg = _PARSER.parsebytes(data)
    out.subject = decode_header_value(msg.get("Subject"))
    sender = parse_address(decode_header_value(msg.get("From")))
    out.sender_name, out.sender_addr = sender.name, sender.addr
    out.date = decode_header_value(msg.get("Date"))
    mid = _parse_ids(decode_header_value(msg.get("Message-ID")))
    out.message_id = mid[0] if mid else ""
    irt = _parse_ids(decode_header_value(msg.get("In-Reply-To")))
    out.in_reply_to = irt[0] if irt else None
    out.references = _parse_ids(decode_header_value(msg.get("References")))
    if out.in_reply_to is None and out.references:
        out.in_reply_to = out.references[-1]
    if not out.message_id:
        out.warnings.append("no Message-ID header")

    texts: list[str] = []
    corrupt = False
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        try:
            filename = decode_header_value(part.get_filename() or "")
        except Exception:  # noqa: BLE001 - broken RFC 2231 parameters
            filename = ""
        disposition = (part.get_content_disposition() or "").lower()
        if _is_patch_attachment(ctype, filename):
            text = _part_text(part, out.warnings)
            if text is None:
                corrupt = True
                continue
            out.attachments.append(Attachment(filename or ctype, text))
        elif ctype == "text/plain" and (disposition != "attachment" or not filename):
            text = _part_text(part, out.warnings)
            if text is None:
                corrupt = True
                continue
            texts.append(text)
    if corrupt and not texts and not out.attachments:
        out.error = "body has a corrupt base64 transfer encoding"
        return out
    if corrupt:
        out.warnings.append("a MIME part has a corrupt base64 encoding and was skipped")
    out.has_text = bool(texts)
    out.body = "\n".join(texts)
    if _lines_are_exact(msg):
        end = data.find(b"\n\n")
        if end >= 0:
            out.body_line = content_line + data.count(b"\n", 0, end + 1) + 1
    return out


def _lines_are_exact(msg: EmailMessage) -> bool:
    if msg.is_multipart():
        return False
    cte = str(msg.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    flowed = str(msg.get_param("format") or "").lower() == "flowed"
    return cte in ("7bit", "8bit", "binary") and not flowed
