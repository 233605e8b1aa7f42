"""Whether a function allocates with the GFP flags its caller passes.

``call_kern.cocci``'s rule reports a call passed ``GFP_KERNEL`` under a lock
whatever the callee is: a function taking GFP flags usually allocates with them.
Some only store the mask (``mapping_set_gfp_mask()``) or pick something by it
(``node_zonelist()``). Once the callee's definition is seen, this tells the two
apart: a ``gfp_t`` parameter "allocates" when it reaches, through the function's
calls and those of its file, an allocator of the data, or a function or macro
whose body is not seen (which may allocate with it). A whole-tree scan exports the
answer per definition (``SleepExport.gfp_params``), so the rule applies to a callee
of another file only when its body is unseen or says it allocates.
"""

from __future__ import annotations

import re

from patchlint.analysis.calls import call_args
from patchlint.analysis.facts import FileFacts
from patchlint.analysis.identity import canonical
from patchlint.analysis.kb import Knowledge
from patchlint.source import FunctionDef

MAX_DEPTH = 8  # same-file functions followed; deeper counts as allocating


def allocating_gfp_params(ff: FileFacts, fn: FunctionDef) -> tuple[int, ...]:
    """Positions of ``fn``'s gfp_t parameters that reach an allocation."""
    if fn.body is None:
        return ()
    found = [
        position
        for name, position in gfp_params(fn, ff.kb).items()
        if _reaches_allocation(ff, fn, name, 0)
    ]
    return tuple(sorted(found))


def _reaches_allocation(ff: FileFacts, fn: FunctionDef, param: str, depth: int) -> bool:
    key = f"gfp-reach:{fn.start_byte}:{param}"
    cached = ff.memo.get(key)
    if isinstance(cached, bool):
        return cached
    ff.memo[key] = False  # recursion: a cycle allocates only through another call
    mention = re.compile(rf"\b{re.escape(param)}\b")
    result = False
    for callee, node in ff.calls_in_function(fn):
        for position, argument in enumerate(call_args(node)):
            if mention.search(argument) and _callee_allocates(ff, callee, position, depth):
                result = True
                break
        if result:
            break
    ff.memo[key] = result
    return result


def _callee_allocates(ff: FileFacts, callee: str, position: int, depth: int) -> bool:
    kb = ff.kb
    if callee in kb.allocators:
        return True
    if callee in kb.not_sleeping or kb.neutral(callee) or callee in kb.ops:
        return False
    definition = ff.source.function(callee)
    if definition is None or depth >= MAX_DEPTH:
        return True  # unseen (another file, a macro): it may allocate with the flags
    if position >= len(definition.params):
        return True  # a variadic tail or a parameter the front end could not name
    return _reaches_allocation(ff, definition, definition.params[position], depth + 1)


Forward = tuple[int, str, int]  # (gfp_t parameter position, same-file callee, its argument)


def gfp_forwards(ff: FileFacts, fn: FunctionDef) -> tuple[Forward, ...]:
    """Where ``fn`` passes its gfp_t parameters to functions of its own file. The file's
    definition may be one configuration's stub (a header's ``alloc_cpumask_var_node()``
    without CPUMASK_OFFSTACK) while the tree defines the function elsewhere too: the
    scan's table looks every definition up (``SummaryTable.allocates_with``)."""
    if fn.body is None:
        return ()
    found: set[Forward] = set()
    params = gfp_params(fn, ff.kb)
    for callee, node in ff.calls_in_function(fn):
        if callee == fn.name or ff.source.function(callee) is None:
            continue
        for position, argument in enumerate(call_args(node)):
            for name, own in params.items():
                if re.search(rf"\b{re.escape(name)}\b", argument):
                    found.add((own, callee, position))
    return tuple(sorted(found))


def gfp_params(fn: FunctionDef, kb: Knowledge) -> dict[str, int]:
    """Parameters of type gfp_t (by name), with their positions."""
    found: dict[str, int] = {}
    declarator = fn.node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    parameters = declarator.child_by_field_name("parameters") if declarator else None
    position = 0
    for param in parameters.named_children if parameters is not None else []:
        if param.type != "parameter_declaration":
            continue
        kind = param.child_by_field_name("type")
        if kind is not None and kind.text is not None and kind.text.decode() in kb.gfp_types:
            name = param.child_by_field_name("declarator")
            if name is not None and name.text is not None:
                found[name.text.decode().lstrip("*")] = position
        position += 1
    return found


def gfp_argument(kb: Knowledge, args: tuple[str, ...], params: dict[str, int]) -> int | None:
    for arg in args:
        value = canonical(arg)
        if value in params:
            return params[value]
    return None


def blocking_flags(kb: Knowledge, arg: str) -> bool:
    """A GFP flags argument allowing to block, written as flags only (no call in it)."""
    return "(" not in arg and "?" not in arg and kb.blocking(arg)
