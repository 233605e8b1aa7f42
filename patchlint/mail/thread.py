"""Threading, series grouping and series problems.

Series are grouped the way b4 does, by evidence in this order (each series records the
rule that grouped it in `Series.grouped_by`):

1. thread: a patch that answers a cover letter of its version, directly or through
   other patches of the series, belongs to that cover letter; an unnumbered patch
   under a cover counts as one of its patches.
2. thread: a numbered patch answering a patch of the same version and length (a
   series sent without a cover letter) belongs to that patch's series.
3. numbering: the remaining numbered patches (`git format-patch --no-thread`, a series
   sent in reply to a discussion, Message-IDs rewritten by a mail server) are grouped by
   sender, version and length, each position once, within a date window; a cover
   letter nobody answers joins the group of the same sender, version and length.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from patchlint.mail.address import same_address
from patchlint.mail.model import Collection, Message, Series, SeriesProblem
from patchlint.mail.replies import attach_reply_trailers

# Patches of one posting are sent within minutes; a week leaves room for a slow
# mail server and still separates a resend from the original.
DATE_WINDOW = timedelta(days=7)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Threads:
    """Parent and children of every message, by In-Reply-To, else References."""

    def __init__(self, messages: list[Message]) -> None:
        self.by_id: dict[str, Message] = {}
        for msg in messages:
            if not msg.message_id:
                continue
            if msg.message_id in self.by_id:
                msg.warnings.append(f"duplicate Message-ID {msg.message_id}")
            else:
                self.by_id[msg.message_id] = msg
        self.parent: dict[int, Message | None] = {}
        self.children: dict[int, list[Message]] = {}
        for msg in messages:
            found = self._find_parent(msg)
            self.parent[id(msg)] = found
            if found is not None:
                self.children.setdefault(id(found), []).append(msg)

    def _find_parent(self, msg: Message) -> Message | None:
        candidates = [msg.in_reply_to, *reversed(msg.references)]
        for ref in candidates:
            found = self.by_id.get(ref) if ref else None
            if found is not None and found is not msg:
                return found
        return None

    def ancestors(self, msg: Message) -> Iterator[Message]:
        seen = {id(msg)}
        current = self.parent.get(id(msg))
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            yield current
            current = self.parent.get(id(current))

    def depth(self, msg: Message) -> int:
        return sum(1 for _ in self.ancestors(msg))


def message_date(msg: Message) -> datetime | None:
    try:
        value = parsedate_to_datetime(msg.date) if msg.date else None
    except (TypeError, ValueError, IndexError):
        return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _spans(numbers: list[int]) -> list[tuple[int, int]]:
    """[2, 3, 4, 5, 7] -> [(2, 5), (7, 7)]: a 300-patch stable series stays readable."""
    spans: list[tuple[int, int]] = []
    for number in numbers:
        if spans and spans[-1][1] == number - 1:
            spans[-1] = (spans[-1][0], number)
        else:
            spans.append((number, number))
    return spans


def missing_text(missing: list[int], total: int) -> str:
    """One line for every missing position: "5/6 and 6/6 not in this input"."""
    parts: list[str] = []
    for start, end in _spans(missing):
        if end - start >= 2:
            parts.append(f"{start}-{end}/{total}")
        else:
            parts.extend(f"{n}/{total}" for n in range(start, end + 1))
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"{listed} not in this input"


class _Group:
    def __init__(self, head: Message, grouped_by: str) -> None:
        self.cover: Message | None = head if head.kind == "cover" else None
        self.patches: list[Message] = [] if head.kind == "cover" else [head]
        self.grouped_by = grouped_by
        self.absent_parent = False

    @property
    def members(self) -> list[Message]:
        return ([self.cover] if self.cover is not None else []) + self.patches

    @property
    def head(self) -> Message:
        return self.cover or self.patches[0]

    def taken(self, index: int | None) -> bool:
        return index is not None and any(p.series.index == index for p in self.patches)


def _same_version(msg: Message, other: Message) -> bool:
    a, b = msg.series, other.series
    return not (a.version_explicit and b.version_explicit and a.version != b.version)


def _same_sender(msg: Message, other: Message) -> bool:
    return same_address(msg.sender_addr, other.sender_addr) or (
        not msg.sender_addr and not other.sender_addr
    )


class _Grouper:
    def __init__(self, messages: list[Message], threads: Threads) -> None:
        self.threads = threads
        self.groups: list[_Group] = []
        self.group_of: dict[int, _Group] = {}
        self.members = [m for m in messages if m.kind in ("patch", "cover")]

    def add(self, group: _Group) -> None:
        self.groups.append(group)
        for member in group.members:
            self.group_of[id(member)] = group

    def join(self, group: _Group, msg: Message) -> None:
        group.patches.append(msg)
        self.group_of[id(msg)] = group

    def run(self) -> list[_Group]:
        for cover in (m for m in self.members if m.kind == "cover"):
            self.add(_Group(cover, "thread: the patches answer the cover letter"))
        patches = [m for m in self.members if m.kind == "patch"]
        # Parents before children, so a patch finds its parent's series already made.
        patches.sort(key=self.threads.depth)
        roots: list[_Group] = []
        for patch in patches:
            if not self._by_thread(patch):
                group = _Group(patch, "single patch")
                self.add(group)
                roots.append(group)
        self._by_numbering([g for g in roots if g.head.series.index and g.head.series.total])
        self.groups = [g for g in self.groups if g.members]
        return self.groups

    def _by_thread(self, patch: Message) -> bool:
        for ancestor in self.threads.ancestors(patch):
            if ancestor.kind == "reply":
                continue
            if ancestor.kind not in ("patch", "cover") or not _same_version(patch, ancestor):
                return False
            group = self.group_of.get(id(ancestor))
            if group is None:
                return False
            if ancestor.kind == "cover":
                self.join(group, patch)
                return True
            info, other = patch.series, ancestor.series
            if info.index is not None and other.index is not None and info.total == other.total:
                if group.grouped_by == "single patch":
                    group.grouped_by = "thread: the patches answer patch 1"
                self.join(group, patch)
                return True
            return False
        return False

    def _by_numbering(self, roots: list[_Group]) -> None:
        buckets: dict[tuple[str, int, int, str], list[_Group]] = {}
        for group in roots:
            head = group.head
            info = head.series
            # format-patch files carry author dates, not sending dates: group them by
            # file or directory instead of by date.
            origin = (os.path.dirname(head.source) or head.source) if head.commit else ""
            key = (head.sender_addr.lower(), info.version, info.total or 0, origin)
            buckets.setdefault(key, []).append(group)
        orphans = [
            g for g in self.groups if g.cover is not None and not g.patches and g.cover.series.total
        ]
        for (_, _, _, origin), members in buckets.items():
            windowed = not origin
            members.sort(key=lambda g: (message_date(g.head) or _EPOCH, g.head.index))
            merged: list[tuple[_Group, datetime]] = []
            for group in members:
                when = message_date(group.head) or _EPOCH
                fitting = [
                    (target, last)
                    for target, last in merged
                    if not any(target.taken(p.series.index) for p in group.patches)
                    and (not windowed or abs(when - last) <= DATE_WINDOW)
                ]
                if fitting:
                    target, _ = min(fitting, key=lambda item: abs(when - item[1]))
                    for patch in group.patches:
                        self.join(target, patch)
                    group.patches = []
                    target.grouped_by = "numbering: same sender, version and length" + (
                        f" within {DATE_WINDOW.days} days" if windowed else " in one input"
                    )
                    merged = [(g, when if g is target else t) for g, t in merged]
                    continue
                merged.append((group, when))
            for group, when in merged:
                cover = self._orphan_cover(orphans, group.head, when)
                if cover is None:
                    continue
                for patch in group.patches:
                    self.join(cover, patch)
                group.patches = []
                cover.grouped_by = (
                    "numbering: the cover letter and the patches share sender, version and "
                    "length (the patches do not answer it)"
                )

    def _orphan_cover(self, orphans: list[_Group], patch: Message, when: datetime) -> _Group | None:
        for group in orphans:
            cover = group.cover
            if cover is None or group.patches or cover.series.total != patch.series.total:
                continue
            if not _same_sender(cover, patch) or not _same_version(patch, cover):
                continue
            sent = message_date(cover) or _EPOCH
            if abs(when - sent) <= DATE_WINDOW:
                return group
        return None


def _series_problems(series: Series, members: list[Message], threads: Threads) -> list[str]:
    problems: list[str] = []
    versions = sorted({m.series.version for m in members if m.series.version_explicit})
    if len(versions) > 1:
        names = [f"v{v}" for v in versions]
        problems.append(f"mixed versions {', '.join(names[:-1])} and {names[-1]}")
    totals = sorted({m.series.total for m in members if m.series.total})
    if len(totals) > 1:
        problems.append(f"patches disagree on the series length ({', '.join(map(str, totals))})")
    total = series.total
    if not total:
        return problems
    counts = Counter(p.series.index for p in series.patches if p.series.index is not None)
    unnumbered = sum(1 for p in series.patches if p.series.index is None)
    earlier = {p.series.index for p in series.earlier}
    missing = [k for k in range(1, total + 1) if k not in counts and k not in earlier]
    if unnumbered:
        # Unnumbered patches under a cover fill the positions in order.
        missing = missing[unnumbered:]
    if len(missing) == total and total > 1:
        problems.append(f"none of the {total} patches is in this input")
    elif missing:
        problems.append(missing_text(missing, total))
    for k, count in sorted(counts.items()):
        if count > 1:
            problems.append(f"{k}/{total} appears {count} times")
        if k > total:
            problems.append(f"{k}/{total} is numbered beyond the series length")
    if series.cover is None and total >= 3:
        parents = {p.in_reply_to for p in series.patches if p.in_reply_to}
        if any(ref not in threads.by_id for ref in parents):
            problems.append(f"cover letter 0/{total} not in this input")
        else:
            problems.append(f"numbered series of {total} patches without a cover letter")
    return problems


def _build_series(
    messages: list[Message], threads: Threads
) -> tuple[list[Series], dict[int, Series], list[SeriesProblem]]:
    groups = _Grouper(messages, threads).run()
    # In input order of their first member, so reports follow the mailbox.
    groups.sort(key=lambda g: min(m.index for m in g.members))
    all_series: list[Series] = []
    by_msg: dict[int, Series] = {}
    problems: list[SeriesProblem] = []
    keys: Counter[str] = Counter()
    for group in groups:
        cover = group.cover
        patches = sorted(
            group.patches,
            key=lambda m: (m.series.index if m.series.index is not None else 1 << 30, m.index),
        )
        head = cover or patches[0]
        members = group.members
        explicit = [m.series.version for m in members if m.series.version_explicit]
        if cover is not None and cover.series.version_explicit:
            version = cover.series.version
        else:
            version = Counter(explicit).most_common(1)[0][0] if explicit else 1
        if cover is not None and cover.series.total:
            total: int | None = cover.series.total
        else:
            total = max((p.series.total or 0 for p in patches), default=0) or None
        key = head.message_id or f"#{head.index}"
        if cover is None and head.in_reply_to and head.in_reply_to not in threads.by_id:
            # The patches answer a mail not in the input, most likely their cover letter:
            # its Message-ID names the series on the list archive.
            key = head.in_reply_to
        keys[key] += 1
        if keys[key] > 1:
            key = f"{key} (#{keys[key]})"
        series = Series(key, version, total, cover, patches, head.series.title, group.grouped_by)
        all_series.append(series)
        for member in members:
            by_msg[id(member)] = series
    for series in all_series:
        _rebuild_partial_reroll(series, by_msg, threads)
        members = ([series.cover] if series.cover is not None else []) + series.patches
        problems.extend(
            SeriesProblem(series.key, text) for text in _series_problems(series, members, threads)
        )
    return all_series, by_msg, problems


def _rebuild_partial_reroll(series: Series, by_msg: dict[int, Series], threads: Threads) -> None:
    """b4's partial reroll: a vN that resends only some patches, each in reply to the
    same position of an earlier version, is that version with those patches replaced.
    The earlier patches at the other positions go to `Series.earlier`."""
    if series.version <= 1 or not series.total or not series.patches:
        return
    present = {p.series.index for p in series.patches}
    if all(k in present for k in range(1, series.total + 1)):
        return
    found: set[int] = set()
    earlier: Series | None = None
    for patch in series.patches:
        previous = _same_position_upthread(patch, threads)
        other = by_msg.get(id(previous)) if previous is not None else None
        if other is None or other is series or other.version >= series.version:
            return
        found.add(id(other))
        earlier = other
    if earlier is None or len(found) != 1:
        return
    series.earlier = [
        p for p in earlier.patches if p.series.index is not None and p.series.index not in present
    ]
    if series.earlier:
        taken = ", ".join(f"{p.series.index}/{series.total}" for p in series.earlier)
        series.grouped_by += (
            f"; partial reroll of v{earlier.version}: {taken} from v{earlier.version}"
        )


def _same_position_upthread(patch: Message, threads: Threads) -> Message | None:
    """The patch at the same position that `patch` answers, directly or through the
    replies to it; None when the first patch up the thread is another position."""
    info = patch.series
    for ancestor in threads.ancestors(patch):
        if ancestor.kind != "patch":
            continue
        same = ancestor.series.index == info.index and ancestor.series.total == info.total
        return ancestor if same else None
    return None


def _promote_covers(messages: list[Message], threads: Threads) -> None:
    """A mail without a diff that patches answer is their cover letter, even without a
    [PATCH 0/N] subject (covers are often titled in plain words)."""
    for msg in messages:
        if msg.kind == "reply":
            if msg.series.is_reply or any(line.startswith(">") for line in msg.body.split("\n")):
                continue
        elif msg.kind != "other" or msg.reason and msg.reason.startswith("diff inside"):
            continue
        children = threads.children.get(id(msg), [])
        numbered = any(c.kind == "patch" and (c.series.index or 0) >= 1 for c in children)
        # Unnumbered patches under a plain mail are a cover only if it is a thread
        # root from their sender, as b4 trusts a naked cover letter.
        unnumbered = [c for c in children if c.kind == "patch" and c.series.index is None]
        naked = (
            len(unnumbered) > 1
            and threads.parent.get(id(msg)) is None
            and not msg.series.is_reply
            and all(_same_sender(c, msg) for c in unnumbered)
        )
        if numbered or naked:
            msg.kind, msg.reason = "cover", None
            msg.trailers = []
            msg.commit_message = msg.body.split("\n-- \n")[0].strip("\n") + "\n"
            if msg.series.total is None:
                msg.series.total = len(unnumbered) if naked and not numbered else None


def collect(messages: Iterable[Message]) -> Collection:
    """Thread the messages, group series, attach reply trailers, report problems."""
    msgs = list(messages)
    threads = Threads(msgs)
    _promote_covers(msgs, threads)
    series, by_msg, problems = _build_series(msgs, threads)
    attach_reply_trailers(msgs, threads.ancestors, by_msg)
    patches = [m for m in msgs if m.kind == "patch"]
    return Collection(msgs, patches, series, problems, by_msg, threads.children)
