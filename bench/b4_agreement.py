"""Agreement of patchlint's reply trailers with the set `b4 am` would apply, per patch.

    python3 bench/b4_agreement.py MBOX [MBOX...] [--show N] [--json FILE] [--reroll]

b4 (a bench-only tool, not a patchlint dependency) runs its own library on the same
mbox: the archive is cut into threads (as lore serves them), each thread goes into a
b4 LoreMailbox, and each revision is taken with `get_series()` exactly as `b4 am` does,
with the cover letter's trailers added (`add_cover_trailers`). b4's patch-id search on
lore, which carries trailers between postings of the same patch-id, is answered from
the same archive instead of the network. The set b4 applies to a patch is its
follow-up trailers minus those the patch already carries (what `fix_trailers` adds).
`--reroll` lets b4 rebuild partial rerolls from the earlier revision (`b4 am` does by
default); the sets are compared per Message-ID, so this must not change the figures.

patchlint's set is `applied_reply_trailers()` after `collect()` on the whole file.
Trailers compare as (tag, address) for people and (tag, value) otherwise, both sides
through the same normalisation. Patches only one side sees as patches are counted
apart (message kinds), not in the trailer agreement.

Every trailer in one set and not the other is put in a class automatically, from what
the two tools see in the mail it came from (`classify_b4_only`, `classify_ours_only`).
The deliberate classes are documented in docs/mail.md ("Agreement with b4"), each with
a test in tests/mail/test_b4_choices.py named in CLASSES; whatever fits no class is
"unexplained" and counts against agreement. Printed per corpus: identical sets (raw),
identical sets once the deliberate classes are set aside, and the count per class.
"""

from __future__ import annotations

import argparse
import contextlib
import email.message
import gzip
import json
import logging
import re
import subprocess
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchlint.mail import (  # noqa: E402
    Message,
    Trailer,
    applied_reply_trailers,
    collect,
    iter_messages,
)
from patchlint.mail.trailers import is_trailer_tag  # noqa: E402

Key = tuple[str, str]


class Choice(NamedTuple):
    deliberate: bool
    side: str  # which tool applies the trailer
    test: str  # the test in tests/mail/test_b4_choices.py that pins the choice
    meaning: str


CLASSES: dict[str, Choice] = {
    "indented line": Choice(
        True,
        "b4",
        "test_an_indented_trailer_line_is_not_a_trailer",
        "b4 reads `^\\s*Tag:`; an indented line in a reply (a quoted commit, a bot's "
        "'please add this tag', a 'the tag to add would be') is not the replier's trailer",
    ),
    "patch inlined in a reply": Choice(
        True,
        "b4",
        "test_a_patch_inlined_in_a_reply_ends_the_trailers",
        "the line is below an in-body patch or forwarded mail (From <sha>, or From: with "
        "Date:/Subject:/Sent:/To:); its trailers belong to that patch, not to the series",
    ),
    "below a '--' signature": Choice(
        True,
        "b4",
        "test_a_bare_double_dash_line_starts_the_signature",
        "b4 cuts the signature at '-- ' only; a '--' line whose space a mail client "
        "dropped starts the signature too",
    ),
    "not a trailer tag": Choice(
        True,
        "b4",
        "test_a_word_with_an_address_is_not_a_trailer_tag",
        "b4 takes any `Word: ...address...` line (a localised header 'An:'); patchlint "
        "takes the known tags and any `*-by`",
    ),
    "given by someone else (comma in the sender's name)": Choice(
        True,
        "b4",
        "test_a_comma_in_the_senders_name_does_not_accept_anyones_trailer",
        "b4 accepts every person's trailer when the From name has a comma; patchlint "
        "compares the person",
    ),
    "name in another order": Choice(
        True,
        "patchlint",
        "test_the_same_name_in_another_order_is_the_same_person",
        "'Chen Ridong' sending 'Ridong Chen <...>' from another address is the same "
        "person; b4 compares names exactly",
    ),
    "format=flowed line joined": Choice(
        True,
        "patchlint",
        "test_a_format_flowed_trailer_is_unwrapped",
        "RFC 3676: a line ending in a space continues on the next ('Closes: ' then the "
        "URL); b4 does not undo format=flowed",
    ),
    "patch-id of the diff alone": Choice(
        True,
        "patchlint",
        "test_patch_id_does_not_hash_the_signature",
        "b4 hashes the whole mail body: after a blank context line that lost its space, "
        "git patch-id reads on into the '-- ' signature (git version), so two postings "
        "of one diff stop matching",
    ),
    "cover trailers carried within one thread": Choice(
        True,
        "patchlint",
        "test_cover_trailers_carry_by_patch_id_in_one_thread_too",
        "b4 carries a cover letter's trailers to the same patch-id only across threads "
        "(its lore search); patchlint carries them wherever the reroll was sent",
    ),
    "unexplained": Choice(False, "either", "", "fits no class above"),
}

_B4_LINE = re.compile(r"^\s*(\w\S+):\s+(\S.*)")
_ADDR = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_BARE = re.compile(r"([^\s<>()\"',;]+@[^\s<>()\"',;]+\.[^\s<>()\"',;]+)")
_INLINED = re.compile(r"^From [0-9a-f]{40} |^-{3,}\s*Original Message\s*-{3,}\s*$", re.I)
_HEADERISH = re.compile(r"^(Sent|Date|To|Subject|Cc):\s", re.I)


def norm(tag: str, value: str) -> Key:
    tag = tag.lower()
    if tag in ("link", "closes", "buglink"):
        decoded = urllib.parse.unquote(value.strip())
        found = re.search(r"^https?://[^@]+/([^/]+@[^/]+)", decoded, re.IGNORECASE)
        return tag, (found.group(1).lower() if found else decoded.lower())
    match = _ADDR.search(value) or _BARE.search(value)
    if match:
        return tag, match.group(1).lower()
    return tag, " ".join(value.lower().split())


def _clean_id(value: str | None) -> str | None:
    if not value:
        return None
    found = re.findall(r"<([^<>\s]+)>", value)
    return found[0] if found else value.strip().strip("<>") or None


# --- b4's side -------------------------------------------------------------------------


@dataclass
class B4View:
    """What b4 applies, and what b4 saw of every message (bodies, patch-ids, names)."""

    sets: dict[str, set[Key]] = field(default_factory=lambda: defaultdict(set))
    origins: dict[str, dict[Key, str]] = field(default_factory=lambda: defaultdict(dict))
    bodies: dict[str, str] = field(default_factory=dict)
    flowed: set[str] = field(default_factory=set)
    patch_ids: dict[str, str | None] = field(default_factory=dict)
    from_names: dict[str, str] = field(default_factory=dict)
    b4_failures: int = 0


def _threads(b4: Any, msgs: list[email.message.EmailMessage]) -> list[list[Any]]:
    """Connected components by Message-ID / In-Reply-To / References, as lore threads."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ids: list[str] = []
    for number, msg in enumerate(msgs):
        mid = b4.LoreMessage.get_clean_msgid(msg) or f"#no-id-{number}"
        ids.append(mid)
        find(mid)
        links = [_clean_id(msg.get("In-Reply-To"))]
        links += re.findall(r"<([^<>\s]+)>", str(msg.get("References") or ""))
        for link in links:
            if link and find(mid) != find(link):
                parent[find(mid)] = find(link)
    groups: dict[str, list[Any]] = defaultdict(list)
    seen: set[str] = set()
    for mid, msg in zip(ids, msgs, strict=True):
        if mid in seen:
            continue  # b4 keeps the first copy of a Message-ID
        seen.add(mid)
        groups[find(mid)].append(msg)
    return list(groups.values())


class OfflineLore:
    """Answers b4's `patchid:X OR patchid:Y` search from the archive itself."""

    def __init__(self, b4: Any, threads: list[list[Any]], view: B4View) -> None:
        self.threads = threads
        self.by_patch_id: dict[str, set[int]] = defaultdict(set)
        for number, thread in enumerate(threads):
            for msg in thread:
                try:
                    lmsg = b4.LoreMessage(msg)
                except ValueError:
                    continue
                view.bodies[lmsg.msgid] = lmsg.body or ""
                view.from_names[lmsg.msgid] = lmsg.fromname or ""
                if str(msg.get_param("format", "") or "").lower() == "flowed":
                    view.flowed.add(lmsg.msgid)
                if lmsg.has_diff:
                    view.patch_ids[lmsg.msgid] = lmsg.git_patch_id
                if lmsg.has_diff and not lmsg.reply and lmsg.git_patch_id:
                    self.by_patch_id[lmsg.git_patch_id].add(number)

    def search(self, query: str, *args: Any, **kwargs: Any) -> list[Any] | None:
        wanted: set[int] = set()
        for pid in re.findall(r"patchid:([0-9a-f]+)", query):
            wanted |= self.by_patch_id.get(pid, set())
        found = [msg for number in sorted(wanted) for msg in self.threads[number]]
        return found or None


def b4_view(path: str, reroll: bool) -> B4View:
    import b4  # bench-only dependency

    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    threads = _threads(b4, b4.mailsplit_bytes(data))
    view = B4View()
    lore = OfflineLore(b4, threads, view)
    b4.get_pi_search_results = lore.search
    b4.can_network = True
    for thread in threads:
        probe = b4.LoreMailbox()
        for msg in thread:
            try:
                probe.add_message(msg)
            except ValueError:
                continue
        for revision in list(probe.series):
            mailbox = b4.LoreMailbox()
            for msg in thread:
                try:
                    mailbox.add_message(msg)
                except ValueError:
                    continue
            try:
                lser = mailbox.get_series(revision, reroll=reroll, codereview_trailers=True)
            except IndexError:
                # b4 0.16's partial_reroll() indexes past a shorter earlier revision
                view.b4_failures += 1
                mailbox = b4.LoreMailbox()
                for msg in thread:
                    with contextlib.suppress(ValueError):
                        mailbox.add_message(msg)
                lser = mailbox.get_series(revision, reroll=False, codereview_trailers=True)
            if lser is None:
                continue
            lser.add_cover_trailers()
            for lmsg in lser.patches[1:]:
                if lmsg is None:
                    continue
                own = b4.LoreMessage.get_body_parts(lmsg.body)[2]
                view.sets[lmsg.msgid]  # noqa: B018 - a patch with no trailers is still a patch
                for trailer in lmsg.followup_trailers:
                    if trailer in own:
                        continue
                    key = norm(trailer.name, trailer.value)
                    view.sets[lmsg.msgid].add(key)
                    view.origins[lmsg.msgid][key] = trailer.lmsg.msgid if trailer.lmsg else ""
    return view


# --- patchlint's side ------------------------------------------------------------------


@dataclass
class OurView:
    sets: dict[str, set[Key]]
    patches: dict[str, Message]
    messages: dict[str, Message]


def our_view(path: str) -> OurView:
    collection = collect(iter_messages(path))
    sets: dict[str, set[Key]] = {}
    patches: dict[str, Message] = {}
    for patch in collection.patches:
        if not patch.message_id:
            continue
        patches[patch.message_id] = patch
        sets.setdefault(patch.message_id, set()).update(
            norm(t.tag, t.value) for t in applied_reply_trailers(patch)
        )
    messages = {m.message_id: m for m in collection.messages if m.message_id}
    return OurView(sets, patches, messages)


# --- classes of difference -------------------------------------------------------------


def _b4_lines(body: str) -> list[str]:
    """The lines b4's find_trailers() reads, after its own repairs."""
    body = body.split("\n-- \n", 1)[0].strip() + "\n"
    body = re.sub(r"^(\S+:\s+[\da-f]+\s+\([^)]+)\n([^\n]+\))", r"\1 \2", body, flags=re.M)
    body = re.sub(r"^(\S+:\s+[^<]+)\n(<[^>]+>)$", r"\1 \2", body, flags=re.M)
    return body.split("\n")


def _lines_giving(body: str, key: Key) -> list[tuple[int, list[str]]]:
    """Where in `body` b4 finds the trailer `key`: (line number, all lines)."""
    lines = _b4_lines(body)
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines):
        match = _B4_LINE.search(line.strip("\r"))
        if not match:
            continue
        value = re.sub(r"(.*\S+)(\s+#[^#]+)$", r"\1", match.group(2))
        if norm(match.group(1), value) == key:
            found.append((number, lines))
    return found


def _below_inlined_mail(lines: list[str], number: int) -> bool:
    for pos in range(number):
        line = lines[pos]
        if _INLINED.match(line):
            return True
        if line.startswith("From: "):
            following = lines[pos + 1 : pos + 4]
            if sum(1 for other in following if _HEADERISH.match(other)) >= 2:
                return True
    return False


def classify_b4_only(key: Key, origin: str, b4: B4View, ours: OurView) -> str:
    """Why b4 applies a trailer patchlint does not, from the line b4 read it from."""
    places = _lines_giving(b4.bodies.get(origin, ""), key)
    if not places:
        return "unexplained"
    number, lines = places[0]
    line = lines[number]
    if any(text.rstrip() == "--" for text in lines[:number]):
        return "below a '--' signature"
    if _below_inlined_mail(lines, number):
        return "patch inlined in a reply"
    if line[:1].isspace():
        return "indented line"
    if not is_trailer_tag(key[0]):
        return "not a trailer tag"
    reply = ours.messages.get(origin)
    name = b4.from_names.get(origin, "")
    if reply is not None and "," in name:
        given = [t for t in reply.trailers if norm(t.tag, t.value) == key]
        if given and all(t.sender_match == "other" for t in given):
            return "given by someone else (comma in the sender's name)"
    return "unexplained"


def _b4_same_name(trailer: Trailer, b4: B4View) -> bool:
    """b4's get_trailers() name test: exact (case-insensitive), or a comma in From."""
    from patchlint.mail import parse_address

    sender = b4.from_names.get(trailer.message_id, "")
    return parse_address(trailer.value).name.lower() == sender.lower() or "," in sender


def classify_ours_only(key: Key, patch: Message, b4: B4View, ours: OurView) -> str:
    """Why patchlint applies a trailer b4 does not, from where patchlint took it."""
    given = [t for t in patch.trailers if t.from_reply and norm(t.tag, t.value) == key]
    if not given:
        return "unexplained"
    trailer = given[0]
    if trailer.sender_match == "same-name" and not _b4_same_name(trailer, b4):
        return "name in another order"
    source = trailer.message_id
    if source in b4.flowed and not _lines_giving(b4.bodies.get(source, ""), key):
        return "format=flowed line joined"
    if trailer.origin == "carried" and trailer.carried_from:
        posting = trailer.carried_from
        if key not in b4.sets.get(posting, set()):
            original = ours.patches.get(posting)
            return classify_ours_only(key, original, b4, ours) if original else "unexplained"
        ours_same = patch.patch_id is not None and patch.patch_id == (
            ours.patches[posting].patch_id if posting in ours.patches else None
        )
        theirs = b4.patch_ids.get(patch.message_id), b4.patch_ids.get(posting)
        if ours_same and theirs[0] != theirs[1]:
            # git itself, on the diff alone, must agree that the postings are one patch
            alone = {_git_patch_id(patch.diff_text), _git_patch_id(ours.patches[posting].diff_text)}
            if alone == {patch.patch_id}:
                return "patch-id of the diff alone"
            return "unexplained"
        if ours_same and _given_to_cover(trailer, ours):
            return "cover trailers carried within one thread"
    return "unexplained"


def _git_patch_id(diff: str | None) -> str | None:
    run = subprocess.run(
        ["git", "patch-id", "--stable"], input=diff or "", capture_output=True, text=True
    )
    return run.stdout.split()[0] if run.stdout.strip() else None


def _given_to_cover(trailer: Trailer, ours: OurView) -> bool:
    reply = ours.messages.get(trailer.message_id)
    parent = ours.messages.get(reply.parent_id or "") if reply is not None else None
    while parent is not None and parent.kind == "reply":
        parent = ours.messages.get(parent.parent_id or "")
    return parent is not None and parent.kind == "cover"


# --- the run ---------------------------------------------------------------------------


def run(path: str, show: int, reroll: bool) -> dict[str, Any]:
    logging.getLogger("b4").setLevel(logging.CRITICAL)
    start = time.perf_counter()
    ours = our_view(path)
    mid = time.perf_counter()
    theirs = b4_view(path, reroll)
    end = time.perf_counter()
    common = sorted(set(ours.sets) & set(theirs.sets))
    classes: Counter[str] = Counter()
    patches_per_class: dict[str, set[str]] = defaultdict(set)
    examples: dict[str, list[str]] = defaultdict(list)
    same_after = 0
    for msgid in common:
        found: list[str] = []
        for key in sorted(theirs.sets[msgid] - ours.sets[msgid]):
            origin = theirs.origins[msgid].get(key, "")
            found.append(classify_b4_only(key, origin, theirs, ours))
            examples[found[-1]].append(f"{msgid}: b4 only {key} from {origin}")
        for key in sorted(ours.sets[msgid] - theirs.sets[msgid]):
            found.append(classify_ours_only(key, ours.patches[msgid], theirs, ours))
            examples[found[-1]].append(f"{msgid}: patchlint only {key}")
        for name in found:
            classes[name] += 1
            patches_per_class[name].add(msgid)
        if all(CLASSES[name].deliberate for name in found):
            same_after += 1
    same = sum(1 for m in common if ours.sets[m] == theirs.sets[m])
    with_trailers = [m for m in common if ours.sets[m] or theirs.sets[m]]
    report: dict[str, Any] = {
        "input": path,
        "b4_partial_reroll": reroll,
        "b4_reroll_failures": theirs.b4_failures,
        "patches_patchlint": len(ours.sets),
        "patches_b4": len(theirs.sets),
        "patches_both": len(common),
        "patch_only_patchlint": len(set(ours.sets) - set(theirs.sets)),
        "patch_only_b4": len(set(theirs.sets) - set(ours.sets)),
        "patches_with_reply_trailers": len(with_trailers),
        "identical_sets": same,
        "identical_percent": _percent(same, len(common)),
        "identical_after_deliberate": same_after,
        "identical_after_deliberate_percent": _percent(same_after, len(common)),
        "differing_trailers_per_class": {
            name: {
                "trailers": count,
                "patches": len(patches_per_class[name]),
                "deliberate": CLASSES[name].deliberate,
            }
            for name, count in classes.most_common()
        },
        "seconds_patchlint": round(mid - start, 2),
        "seconds_b4": round(end - mid, 2),
    }
    if show:
        report["examples"] = {k: v[:show] for k, v in examples.items()}
        report["kind_differences"] = {
            "patchlint_only": sorted(set(ours.sets) - set(theirs.sets))[:show],
            "b4_only": sorted(set(theirs.sets) - set(ours.sets))[:show],
        }
    return report


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / max(1, whole), 2)


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"{Path(report['input']).name}: {report['patches_both']} patches both tools see",
        f"  identical reply-trailer sets: {report['identical_sets']} "
        f"({report['identical_percent']}%)",
        f"  identical once the deliberate classes are set aside: "
        f"{report['identical_after_deliberate']} ({report['identical_after_deliberate_percent']}%)",
    ]
    for name, counts in report["differing_trailers_per_class"].items():
        kind = "deliberate" if counts["deliberate"] else "NOT deliberate"
        lines.append(
            f"  {counts['trailers']:4d} trailers on {counts['patches']:3d} patches: {name} ({kind})"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("mbox", nargs="+")
    parser.add_argument("--show", type=int, default=0, help="examples per class")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--reroll", action="store_true", help="let b4 rebuild partial rerolls (b4 am's default)"
    )
    args = parser.parse_args()
    reports = [run(path, args.show, args.reroll) for path in args.mbox]
    for report in reports:
        print(summary(report))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")


if __name__ == "__main__":
    main()
