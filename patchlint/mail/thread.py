"""Threading, series grouping, series problems and reply-trailer attachment."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from patchlint.mail.model import Collection, Message, Series, SeriesProblem
from patchlint.mail.trailers import value_address


class _Threads:
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

    def ancestors(self, msg: Message) -> Iterable[Message]:
        seen = {id(msg)}
        current = self.parent.get(id(msg))
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            yield current
            current = self.parent.get(id(current))


def _anchor(msg: Message, threads: _Threads) -> tuple[str, str]:
    """The message a patch's series hangs from: its cover letter, else the first patch
    of a shallow thread, else the absent message the first patch answers."""
    own = msg.message_id or f"#{msg.index}"
    if msg.kind == "cover" or msg.series.index is None:
        return own, ""
    top = msg
    for ancestor in threads.ancestors(msg):
        if ancestor.kind == "cover":
            return ancestor.message_id, ""
        if ancestor.kind != "patch" or ancestor.series.index is None:
            break
        top = ancestor
    if threads.parent.get(id(top)) is None and top.in_reply_to:
        # Probably the cover letter, absent from the input; other series may answer
        # the same absent message, so tell them apart by sender, version and length.
        info = top.series
        return top.in_reply_to, f"{top.sender_addr} v{info.version} of {info.total}"
    return top.message_id or f"#{top.index}", ""


def _spans(numbers: list[int]) -> list[str]:
    """[2, 3, 4, 5, 7] -> ["2-5", "7"]: a 300-patch stable series stays readable."""
    spans: list[str] = []
    start = prev = None
    for n in [*numbers, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            spans.append(str(start) if prev - start < 2 else f"{start}-{prev}")
            if prev - start == 1:
                spans[-1:] = [str(start), str(prev)]
        start = prev = n
    return spans


def _series_problems(series: Series, members: list[Message], anchor_present: bool) -> list[str]:
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
    missing = [k for k in range(1, total + 1) if k not in counts]
    if len(missing) == total and total > 1:
        problems.append(f"none of the {total} patches is in this input")
    else:
        problems.extend(f"{span}/{total} not in this input" for span in _spans(missing))
    for k, count in sorted(counts.items()):
        if count > 1:
            problems.append(f"{k}/{total} appears {count} times")
        if k > total:
            problems.append(f"{k}/{total} is numbered beyond the series length")
    if series.cover is None and total >= 3:
        if anchor_present:
            problems.append(f"numbered series of {total} patches without a cover letter")
        else:
            problems.append(f"cover letter 0/{total} not in this input")
    return problems


def _build_series(
    messages: list[Message], threads: _Threads
) -> tuple[list[Series], dict[int, Series], list[SeriesProblem]]:
    groups: dict[tuple[str, str], list[Message]] = {}
    for msg in messages:
        if msg.kind in ("patch", "cover"):
            groups.setdefault(_anchor(msg, threads), []).append(msg)
    all_series: list[Series] = []
    by_msg: dict[int, Series] = {}
    problems: list[SeriesProblem] = []
    anchors = Counter(anchor for anchor, _ in groups)
    for (anchor, discriminator), members in groups.items():
        key = f"{anchor} ({discriminator})" if anchors[anchor] > 1 else anchor
        covers = [m for m in members if m.kind == "cover"]
        patches = sorted(
            (m for m in members if m.kind == "patch"),
            key=lambda m: (m.series.index if m.series.index is not None else 0, m.index),
        )
        cover = covers[0] if covers else None
        head = cover or patches[0]
        explicit = [m.series.version for m in members if m.series.version_explicit]
        if cover is not None and cover.series.version_explicit:
            version = cover.series.version
        else:
            version = Counter(explicit).most_common(1)[0][0] if explicit else 1
        if cover is not None and cover.series.total:
            total: int | None = cover.series.total
        else:
            total = max((p.series.total or 0 for p in patches), default=0) or None
        series = Series(key, version, total, cover, patches, head.series.title)
        all_series.append(series)
        for member in members:
            by_msg[id(member)] = series
        anchor_present = anchor in threads.by_id
        problems.extend(
            SeriesProblem(key, text) for text in _series_problems(series, members, anchor_present)
        )
    return all_series, by_msg, problems


def _attach_reply_trailers(
    messages: list[Message], threads: _Threads, by_msg: dict[int, Series]
) -> None:
    by_subject: dict[tuple[str, int, int | None], Message] = {}
    for msg in messages:
        if msg.kind in ("patch", "cover"):
            key = (msg.series.title.lower(), msg.series.version, msg.series.index)
            by_subject.setdefault(key, msg)
    for reply in messages:
        if reply.kind != "reply" or not reply.trailers:
            continue
        target = next((a for a in threads.ancestors(reply) if a.kind in ("patch", "cover")), None)
        if target is None and threads.parent.get(id(reply)) is None:
            # The thread above the reply is not in the input: fall back to its subject.
            info = reply.series
            target = by_subject.get((info.title.lower(), info.version, info.index))
        if target is None:
            continue
        if target.kind == "cover":
            series = by_msg.get(id(target))
            patches = series.patches if series is not None else []
        else:
            patches = [target]
        for patch in patches:
            for trailer in reply.trailers:
                patch.trailers.append(dataclasses.replace(trailer, problems=list(trailer.problems)))


def _promote_covers(messages: list[Message], threads: _Threads) -> None:
    """A mail without a diff that numbered patches answer is their cover letter, even
    without a [PATCH 0/N] subject (covers are often titled in plain words)."""
    for msg in messages:
        if msg.kind == "reply":
            if msg.series.is_reply or any(line.startswith(">") for line in msg.body.split("\n")):
                continue
        elif msg.kind != "other":
            continue
        children = threads.children.get(id(msg), [])
        if any(c.kind == "patch" and (c.series.index or 0) >= 1 for c in children):
            msg.kind, msg.reason = "cover", None
            msg.trailers = []
            msg.commit_message = msg.body.split("\n-- \n")[0].strip("\n") + "\n"


def collect(messages: Iterable[Message]) -> Collection:
    """Thread the messages, group series, attach reply trailers, report problems."""
    msgs = list(messages)
    threads = _Threads(msgs)
    _promote_covers(msgs, threads)
    series, by_msg, problems = _build_series(msgs, threads)
    _attach_reply_trailers(msgs, threads, by_msg)
    patches = [m for m in msgs if m.kind == "patch"]
    return Collection(msgs, patches, series, problems, by_msg, threads.children)


def patch_problems(msg: Message) -> list[str]:
    """Sign-off and trailer problems of one patch (call after collect() so trailers
    from replies are included)."""
    if msg.kind != "patch":
        return []
    problems: list[str] = []
    own = [t for t in msg.trailers if not t.from_reply]
    sobs = [t for t in own if t.tag == "Signed-off-by"]
    addr = msg.author_addr.lower()
    if not any(value_address(t.value) == addr for t in sobs) and addr:
        name = msg.author.split("<")[0].strip().lower()
        same_name = [t for t in sobs if name and t.value.split("<")[0].strip().lower() == name]
        if same_name:
            problems.append(
                f"author '{msg.author}' signs off with a different address ({same_name[0].value})"
            )
        else:
            problems.append(f"author '{msg.author}' has no Signed-off-by")
    for trailer in msg.trailers:
        for problem in trailer.problems:
            where = f" (given by {trailer.given_by})" if trailer.from_reply else ""
            problems.append(f"{trailer.tag}: {trailer.value}: {problem}{where}")
    return problems
