"""Configuration alternatives: a definition in one arm of an ``#if``/``#else`` whose
other arm declares or defines the same function.

```c
#ifdef CONFIG_PM_SLEEP
extern void wakeup_source_unregister(struct wakeup_source *ws);
#else
static inline void wakeup_source_unregister(struct wakeup_source *ws) {}
#endif
```

The empty inline is what a kernel built without ``CONFIG_PM_SLEEP`` calls; a kernel
built with it calls drivers/base/power/wakeup.c's definition, which sleeps. Code has
to be right in every configuration, so the stub does not make the call safe: when a
name has definitions that are not such alternatives, may-sleep is decided by those
(``SummaryTable.sleeps_guarded``). A name whose every definition is an alternative
keeps the strict rule (all of them must sleep).
"""

from __future__ import annotations

import bisect
import functools
import re

_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b")


def _directive(line: str) -> str | None:
    match = _DIRECTIVE.match(line)
    return match.group(1) if match else None


@functools.lru_cache(maxsize=8)
def _conditionals(text: str) -> tuple[list[str], list[int], list[str]]:
    """The lines of ``text``, and the index and kind of each conditional directive
    line: every exported function of a file asks, and the lines are the same."""
    lines = text.splitlines()
    indices: list[int] = []
    kinds: list[str] = []
    for index, line in enumerate(lines):
        kind = _directive(line) if "#" in line else None
        if kind is not None:
            indices.append(index)
            kinds.append(kind)
    return lines, indices, kinds


def config_alternative(text: str, name: str, line: int) -> bool:
    """Whether the definition of ``name`` starting at 1-based ``line`` of ``text`` is in
    an arm of a preprocessor conditional whose other arms mention ``name(`` (declare
    or define it): it is one configuration's choice among several."""
    lines, indices, kinds = _conditionals(text)
    if not 0 < line <= len(lines):
        return False
    # The innermost conditional around the line: its opening directive.
    depth = 0
    start = None
    for position in range(bisect.bisect_left(indices, line - 1) - 1, -1, -1):
        kind = kinds[position]
        if kind == "endif":
            depth += 1
        elif kind in ("if", "ifdef", "ifndef"):
            if depth == 0:
                start = position
                break
            depth -= 1
    if start is None:
        return False
    # Its arms at depth 0, up to the matching #endif.
    arms: list[tuple[int, int]] = []
    arm_start = indices[start]
    depth = 0
    end = None
    for position in range(start + 1, len(indices)):
        kind, index = kinds[position], indices[position]
        if kind in ("if", "ifdef", "ifndef"):
            depth += 1
        elif kind == "endif":
            if depth == 0:
                end = index
                break
            depth -= 1
        elif kind in ("elif", "else") and depth == 0:
            arms.append((arm_start, index))
            arm_start = index
    if end is None:
        return False
    arms.append((arm_start, end))
    if len(arms) < 2:
        return False
    mention = re.compile(rf"\b{re.escape(name)}\s*\(")
    own = line - 1
    return any(
        mention.search("\n".join(lines[first + 1 : last]))
        for first, last in arms
        if not first < own < last
    )
