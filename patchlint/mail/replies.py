"""Review trailers given in replies, attached to the patches they apply to (b4's rules).

- A reply's trailers go to the patch it answers, through any number of replies.
- Trailers given to the cover letter go to every patch of its series.
- Trailers given to one posting of a change go to every other posting with the same
  `git patch-id --stable` (a reroll that left the patch unchanged), as `b4 am` carries
  them by patch-id.
- A trailer the patch already carries is not added again: the existing one records
  the other source (`Trailer.also_given`), so it is shown once with both.
- A person's trailer given by someone else (`sender_match == "other"`) is kept for
  the trailer-sender-mismatch rule but does not apply, as b4 leaves it out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from patchlint.mail.address import parse_address, same_address, same_name
from patchlint.mail.model import Message, Series, Trailer, TrailerSource


def _merge(patch: Message, trailer: Trailer, origin: str, carried_from: str | None) -> None:
    for existing in patch.trailers:
        if existing.identity == trailer.identity:
            sources = [(s.message_id, s.given_by) for s in existing.also_given]
            source = (trailer.message_id, trailer.given_by)
            if source != (existing.message_id, existing.given_by) and source not in sources:
                existing.also_given.append(
                    TrailerSource(trailer.given_by, trailer.message_id, origin)
                )
            if not existing.applies and trailer.applies:
                existing.sender_match = trailer.sender_match
            return
    patch.trailers.append(
        dataclasses.replace(
            trailer,
            origin=origin,
            problems=list(trailer.problems),
            also_given=[],
            carried_from=carried_from,
        )
    )


def _target(reply: Message, ancestors: Callable[[Message], Iterable[Message]]) -> Message | None:
    """The patch or cover letter a reply is about: the first ancestor that is not a reply."""
    for ancestor in ancestors(reply):
        if ancestor.kind == "reply":
            continue
        return ancestor if ancestor.kind in ("patch", "cover") else None
    return None


def attach_reply_trailers(
    messages: list[Message],
    ancestors: Callable[[Message], Iterable[Message]],
    by_msg: dict[int, Series],
) -> None:
    for reply in messages:
        if reply.kind != "reply" or not reply.trailers:
            continue
        target = _target(reply, ancestors)
        if target is None:
            continue
        if target.kind == "cover":
            series = by_msg.get(id(target))
            for patch in series.patches if series is not None else []:
                for trailer in reply.trailers:
                    _merge(patch, trailer, "cover", None)
        else:
            for trailer in reply.trailers:
                _merge(target, trailer, "reply", None)
    _carry_by_patch_id([m for m in messages if m.kind == "patch"])


def _carry_by_patch_id(patches: list[Message]) -> None:
    postings: dict[str, list[Message]] = {}
    for patch in patches:
        if patch.patch_id:
            postings.setdefault(patch.patch_id, []).append(patch)
    for same in postings.values():
        if len(same) < 2:
            continue
        given = {id(p): [t for t in p.trailers if t.origin in ("reply", "cover")] for p in same}
        for patch in same:
            for other in same:
                if other is patch:
                    continue
                for trailer in given[id(other)]:
                    _merge(patch, trailer, "carried", other.message_id)


def applied_reply_trailers(msg: Message) -> list[Trailer]:
    """The trailers from replies that `b4 am` would add to the patch."""
    return [t for t in msg.trailers if t.from_reply and t.applies]


def patch_problems(msg: Message) -> list[str]:
    """Sign-off and trailer problems of one patch (call after collect() so trailers
    from replies are included)."""
    if msg.kind != "patch":
        return []
    problems: list[str] = []
    own = [t for t in msg.trailers if t.origin == "patch"]
    sobs = [t for t in own if t.tag == "Signed-off-by"]
    author = parse_address(msg.author)
    if author.addr and not any(
        same_address(parse_address(t.value).addr, author.addr) for t in sobs
    ):
        same = [t for t in sobs if same_name(parse_address(t.value).name, author.name)]
        if same:
            problems.append(
                f"author '{msg.author}' signs off with a different address ({same[0].value})"
            )
        else:
            problems.append(f"author '{msg.author}' has no Signed-off-by")
    for trailer in msg.trailers:
        for problem in trailer.problems:
            where = f" (given by {trailer.given_by})" if trailer.from_reply else ""
            problems.append(f"{trailer.tag}: {trailer.value}: {problem}{where}")
        if trailer.from_reply and trailer.sender_match == "other":
            problems.append(
                f"{trailer.tag}: {trailer.value}: given by {trailer.given_by}, "
                "not by the person it names (not applied)"
            )
    return problems
