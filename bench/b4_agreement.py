"""Agreement of patchlint's reply trailers with the set `b4 am` would apply, per patch.

    python3 bench/b4_agreement.py MBOX [MBOX...] [--show N] [--json FILE]

b4 (a bench-only tool, not a patchlint dependency) runs its own library on the same
mbox: the archive is cut into threads (as lore serves them), each thread goes into a
b4 LoreMailbox, and each revision is taken with `get_series()` exactly as `b4 am` does,
with the cover letter's trailers added (`add_cover_trailers`). b4's patch-id search on
lore, which carries trailers between postings of the same patch-id, is answered from
the same archive instead of the network. The set b4 applies to a patch is its
follow-up trailers minus those the patch already carries (what `fix_trailers` adds).

patchlint's set is `applied_reply_trailers()` after `collect()` on the whole file.
Trailers compare as (tag, address) for people and (tag, value) otherwise, both sides
through the same normalisation. Patches only one side sees as patches are counted
apart (message kinds), not in the trailer agreement.

Every difference is put in a class; the classes that are deliberate choices are
documented in docs/mail.md ("Agreement with b4") and each has a test in
tests/mail/test_b4_choices.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import b4  # noqa: E402 - bench-only dependency

from patchlint.mail import applied_reply_trailers, collect, iter_messages  # noqa: E402

Key = tuple[str, str]
_ADDR = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_BARE = re.compile(r"([^\s<>()\"',;]+@[^\s<>()\"',;]+\.[^\s<>()\"',;]+)")


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


def _threads(msgs: list[Any]) -> list[list[Any]]:
    """Connected components by Message-ID / In-Reply-To / References, as lore threads."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    ids: list[str] = []
    for number, msg in enumerate(msgs):
        mid = b4.LoreMessage.get_clean_msgid(msg) or f"#no-id-{number}"
        ids.append(mid)
        find(mid)
        links = [_clean_id(msg.get("In-Reply-To"))]
        for ref in re.findall(r"<([^<>\s]+)>", str(msg.get("References") or "")):
            links.append(ref)
        for link in links:
            if link:
                union(mid, link)
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

    def __init__(self, threads: list[list[Any]]) -> None:
        self.threads = threads
        self.by_patch_id: dict[str, set[int]] = defaultdict(set)
        for number, thread in enumerate(threads):
            for msg in thread:
                try:
                    lmsg = b4.LoreMessage(msg)
                except ValueError:
                    continue
                if lmsg.has_diff and not lmsg.reply and lmsg.git_patch_id:
                    self.by_patch_id[lmsg.git_patch_id].add(number)

    def search(self, query: str, *args: Any, **kwargs: Any) -> list[Any] | None:
        wanted: set[int] = set()
        for pid in re.findall(r"patchid:([0-9a-f]+)", query):
            wanted |= self.by_patch_id.get(pid, set())
        found = [msg for number in sorted(wanted) for msg in self.threads[number]]
        return found or None


def b4_sets(path: str) -> tuple[dict[str, set[Key]], dict[str, dict[Key, str]]]:
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    msgs = b4.mailsplit_bytes(data)
    threads = _threads(msgs)
    lore = OfflineLore(threads)
    b4.get_pi_search_results = lore.search  # type: ignore[assignment]
    b4.can_network = True
    sets: dict[str, set[Key]] = defaultdict(set)
    origins: dict[str, dict[Key, str]] = defaultdict(dict)
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
            lser = mailbox.get_series(revision, reroll=False, codereview_trailers=True)
            if lser is None:
                continue
            lser.add_cover_trailers()
            for lmsg in lser.patches[1:]:
                if lmsg is None:
                    continue
                own = b4.LoreMessage.get_body_parts(lmsg.body)[2]
                sets[lmsg.msgid]  # noqa: B018 - a patch with no trailers is still a patch
                for trailer in lmsg.followup_trailers:
                    if trailer in own:
                        continue
                    key = norm(trailer.name, trailer.value)
                    sets[lmsg.msgid].add(key)
                    origins[lmsg.msgid][key] = trailer.lmsg.msgid if trailer.lmsg else ""
    return sets, origins


def patchlint_sets(path: str) -> tuple[dict[str, set[Key]], dict[str, Any], Any]:
    collection = collect(iter_messages(path))
    sets: dict[str, set[Key]] = {}
    by_id: dict[str, Any] = {}
    for patch in collection.patches:
        if not patch.message_id:
            continue
        by_id[patch.message_id] = patch
        sets.setdefault(patch.message_id, set()).update(
            norm(t.tag, t.value) for t in applied_reply_trailers(patch)
        )
    return sets, by_id, collection


def run(path: str, show: int) -> dict[str, Any]:
    logging.getLogger("b4").setLevel(logging.CRITICAL)
    start = time.perf_counter()
    ours, patches, collection = patchlint_sets(path)
    mid = time.perf_counter()
    theirs, origins = b4_sets(path)
    end = time.perf_counter()
    common = sorted(set(ours) & set(theirs))
    same = [m for m in common if ours[m] == theirs[m]]
    differ = [m for m in common if ours[m] != theirs[m]]
    with_trailers = [m for m in common if ours[m] or theirs[m]]
    same_with = [m for m in with_trailers if ours[m] == theirs[m]]
    classes: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    messages = {m.message_id: m for m in collection.messages if m.message_id}
    for msgid in differ:
        for key in sorted(theirs[msgid] - ours[msgid]):
            name = classify_b4_only(key, origins[msgid].get(key, ""), messages, patches[msgid])
            classes[name] += 1
            examples[name].append(f"{msgid}: b4 only {key}")
        for key in sorted(ours[msgid] - theirs[msgid]):
            name = classify_ours_only(key, patches[msgid])
            classes[name] += 1
            examples[name].append(f"{msgid}: patchlint only {key}")
    report = {
        "input": path,
        "patches_patchlint": len(ours),
        "patches_b4": len(theirs),
        "patches_both": len(common),
        "patch_only_patchlint": len(set(ours) - set(theirs)),
        "patch_only_b4": len(set(theirs) - set(ours)),
        "identical_sets": len(same),
        "agreement": round(100.0 * len(same) / max(1, len(common)), 2),
        "patches_with_reply_trailers": len(with_trailers),
        "agreement_with_trailers": round(100.0 * len(same_with) / max(1, len(with_trailers)), 2),
        "difference_classes": dict(classes.most_common()),
        "seconds_patchlint": round(mid - start, 2),
        "seconds_b4": round(end - mid, 2),
    }
    if show:
        report["examples"] = {k: v[:show] for k, v in examples.items()}
        report["kind_differences"] = {
            "patchlint_only": sorted(set(ours) - set(theirs))[:show],
            "b4_only": sorted(set(theirs) - set(ours))[:show],
        }
    return report


def classify_b4_only(key: Key, origin: str, messages: dict[str, Any], patch: Any) -> str:
    reply = messages.get(origin)
    tag, who = key
    if reply is None:
        return "b4 only: other"
    body = reply.body or ""
    if re.search(rf"^[ \t]+{re.escape(tag)}:.*{re.escape(who)}", body, re.I | re.M):
        return "b4 only: indented line (a quoted commit)"
    from patchlint.mail.trailers import is_trailer_tag

    if not is_trailer_tag(tag):
        return "b4 only: not a trailer tag"
    return "b4 only: other"


def classify_ours_only(key: Key, patch: Any) -> str:
    for trailer in patch.trailers:
        if norm(trailer.tag, trailer.value) == key and trailer.from_reply:
            return f"patchlint only: {trailer.origin}"
    return "patchlint only: other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mbox", nargs="+")
    parser.add_argument("--show", type=int, default=0, help="examples per class")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    reports = [run(path, args.show) for path in args.mbox]
    text = json.dumps(reports, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
