"""Data model of the mail stage: messages, trailers, series and the collection."""

from __future__ import annotations

from dataclasses import dataclass, field


class InputError(Exception):
    """An input that cannot be read at all (the CLI maps it to exit status 2)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class SubjectInfo:
    version: int = 1
    index: int | None = None
    total: int | None = None
    prefixes: list[str] = field(default_factory=list)
    is_reply: bool = False
    title: str = ""
    is_pull: bool = False
    # False when `version` is the default 1 (no vN in the subject): a v2 patchset's
    # members are often plain "[PATCH 1/2]" and must not count as mixed versions.
    version_explicit: bool = False

    @property
    def is_patch(self) -> bool:
        """True when a bracket prefix names the message a patch (PATCH, RFC, PATCHv3...)."""
        return any(p.upper().startswith(("PATCH", "RFC")) for p in self.prefixes)


@dataclass
class TrailerSource:
    """Another mail that gave the same trailer (shown once, with every source)."""

    given_by: str
    message_id: str
    origin: str


@dataclass
class Trailer:
    tag: str
    value: str
    given_by: str
    from_reply: bool
    message_id: str
    line: int | None = None
    problems: list[str] = field(default_factory=list)
    # Where the trailer comes from: "patch" (the commit message), "reply" (a reply to
    # the patch, nested ones too), "cover" (a reply to the cover letter: it applies to
    # every patch of the series) or "carried" (given to another posting of the same
    # patch-id, e.g. the previous revision).
    origin: str = "patch"
    # "same" (the sender's own address), "same-name" (the sender's name at another
    # address) or "other" (someone else: b4 does not apply such a trailer, neither do we)
    sender_match: str = "same"
    comment: str = ""  # what followed "#" on the line ("Cc: stable@... # 6.1+")
    also_given: list[TrailerSource] = field(default_factory=list)
    carried_from: str | None = None  # Message-ID of the posting it was given to

    @property
    def applies(self) -> bool:
        """Whether `b4 am` (and a maintainer) would apply it to the patch."""
        return self.origin == "patch" or self.sender_match != "other"

    @property
    def identity(self) -> tuple[str, str]:
        """(tag, value) compared case-insensitively, addresses by address only."""
        from patchlint.mail.address import parse_address

        address = parse_address(self.value)
        who = address.key or " ".join(self.value.lower().split())
        return self.tag.lower(), who


@dataclass
class Message:
    index: int
    source: str
    line: int
    message_id: str = ""
    subject: str = ""
    author: str = ""
    author_addr: str = ""
    date: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    kind: str = "other"
    reason: str | None = None
    series: SubjectInfo = field(default_factory=SubjectInfo)
    commit_message: str = ""
    # Text between the "---" line and the diff (changelog, diffstat): git am drops it.
    notes: str = ""
    diff_text: str | None = None
    body: str = ""
    trailers: list[Trailer] = field(default_factory=list)
    quoted_hunks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The header From: of the mail. It differs from `author` when a patch carries an
    # in-body "From:" line (someone sending another person's patch).
    sender: str = ""
    sender_addr: str = ""
    commit: str = ""  # the commit a `git format-patch` file was made from
    patch_id: str | None = None  # `git patch-id --stable` of the diff

    @property
    def parent_id(self) -> str | None:
        """The message this one answers: In-Reply-To, else the last References entry."""
        if self.in_reply_to:
            return self.in_reply_to
        return self.references[-1] if self.references else None


@dataclass
class Series:
    key: str
    version: int
    total: int | None
    cover: Message | None
    patches: list[Message]
    title: str
    # Which rule put the members together, for `check --verbose`.
    grouped_by: str = ""
    # A partial reroll (b4): the earlier version's patches at the positions this
    # version did not resend, in position order. They are not members of this series.
    earlier: list[Message] = field(default_factory=list)


@dataclass
class SeriesProblem:
    series: str
    message: str


@dataclass
class Collection:
    messages: list[Message]
    patches: list[Message]
    series: list[Series]
    problems: list[SeriesProblem]
    _series_by_msg: dict[int, Series] = field(default_factory=dict, repr=False)
    _children: dict[int, list[Message]] = field(default_factory=dict, repr=False)

    def series_of(self, msg: Message) -> Series | None:
        return self._series_by_msg.get(id(msg))

    def replies_to(self, msg: Message) -> list[Message]:
        """Direct answers to `msg` found in the input, in input order."""
        return list(self._children.get(id(msg), []))
