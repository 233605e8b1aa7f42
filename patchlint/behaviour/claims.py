"""Does a commit message claim that the patch changes no behaviour?

Kernel changelogs say it in many ways: "No functional change intended", "NFC",
"no functional changes", "No behaviour change", "no change in behavior expected",
"pure cleanup", "just a refactor", "this is a no-op", "should not change
behaviour"...  The phrases are data (rules/behaviour/claims.toml); a phrase that
is negated ("this is not just a cleanup") or asked about ("no functional change?")
is not a claim, and neither is one in quoted reply text or in a trailer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import patchlint.knowledge as _knowledge
from patchlint.knowledge import load_toml


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence that makes the claim
    phrase: str  # the words that matched
    line: int  # 1-based line in the message text given
    # The one function the claim is about ("no functional change for foo()"), or None
    # for the whole patch.
    function: str | None = None

    def covers(self, function: str) -> bool:
        return self.function is None or self.function == function


@dataclass(frozen=True)
class _Patterns:
    claims: tuple[re.Pattern[str], ...]
    negations: re.Pattern[str]
    scoped: re.Pattern[str]
    excepted: re.Pattern[str]


@functools.cache
def _patterns() -> _Patterns:
    data = load_toml("behaviour/claims.toml")
    claims = tuple(re.compile(p, re.I | re.M) for p in data.get("claims", []))
    negations = re.compile(data.get("negation", r"\b(not|isn't|is\s+not|no\s+longer)\s+$"), re.I)
    scoped = re.compile(data.get("scoped", r"$^"), re.I)
    excepted = re.compile(data.get("excepted", r"$^"), re.I)
    return _Patterns(claims, negations, scoped, excepted)


# "No functional change intended for shrink_worker()": a claim about one function.
_FOR_FUNCTION = re.compile(r"^\s*(?:\w+\s+)?(?:for|in|to)\s+(\w+)\(\)", re.I)
_FOR_OTHER = re.compile(r"^\s*(?:\w+\s+)?(?:for|on)\s+\S", re.I)
_TRAILER = re.compile(r"^[A-Za-z][\w-]*:\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """The message's paragraphs (first line number, text with its line breaks),
    without quoted reply text, trailers and what follows the "---" line: a claim
    wrapped over two lines ("no functional\nchange") is still one phrase."""
    paragraphs: list[tuple[int, list[str]]] = []
    previous = -1
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped == "---":
            break  # the diffstat and the diff follow
        quoted = stripped.startswith(">")
        trailer = _TRAILER.match(stripped) and not stripped.lower().startswith(("note:", "nfc:"))
        if not stripped or quoted or trailer:
            continue
        if number == previous + 1 and paragraphs:
            paragraphs[-1][1].append(line)
        else:
            paragraphs.append((number, [line]))
        previous = number
    return [(number, "\n".join(lines)) for number, lines in paragraphs]


def find_claim(message: str) -> Claim | None:
    """The first sentence of ``message`` claiming the change keeps behaviour, or None."""
    patterns = _patterns()
    for first_line, paragraph in _paragraphs(message):
        for pattern in patterns.claims:
            for match in pattern.finditer(paragraph):
                before = paragraph[: match.start()]
                after = paragraph[match.end() :]
                if patterns.negations.search(before[-40:]):
                    continue
                if after.lstrip().startswith("?"):
                    continue
                if patterns.scoped.match(after):
                    # "No functional change for X, but Y changes" claims only part.
                    continue
                sentence = _sentence_around(paragraph, match.start(), match.end())
                if patterns.excepted.search(sentence[: sentence.find(match.group(0))]):
                    # "Other than the debugfs directory, no behavioral change intended."
                    continue
                function = _FOR_FUNCTION.match(after)
                if function is None and _FOR_OTHER.match(after):
                    continue  # "no functional change for v1": about something else
                return Claim(
                    " ".join(sentence.split()),
                    " ".join(match.group(0).split()),
                    first_line + paragraph.count("\n", 0, match.start()),
                    function.group(1) if function else None,
                )
    return None


def _sentence_around(line: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(line, 0, start)), default=0)
    right_match = _SENTENCE_END.search(line, end)
    right = right_match.start() if right_match else len(line)
    return line[left:right]


_knowledge.on_change(_patterns.cache_clear)
