"""Thread-group semantics: per-thread state and actions used where the process is meant.

``thread-flag-as-group``: a per-thread predicate (TIF_MEMDIE, PF_EXITING, ...) answers
a process-wide question.  ``thread-action-on-group``: a single-thread action follows a
group-wide state change of the same task, or is applied to each process of a process
walk although a group action exists.  What is per-thread, what is per-group and who
owns which flag is data (rules/kernel/task-state.toml); this module only weighs the
evidence found in the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from patchlint.findings import Confidence, Evidence, Finding
from patchlint.rules.engine import AnalysisUnit
from patchlint.rules.taskstate import (
    CURRENT,
    PerThread,
    SingleAction,
    TaskStateKB,
    ancestors,
    enclosing_condition,
    field_chain,
    knowledge,
    signal_owner,
    squash,
    strip_parens,
    task_name,
    walk,
)
from patchlint.rules.thread_group_facts import (
    FunctionFacts,
    called_with_process,
    counterpart_elsewhere,
    defines,
    file_facts,
    group_context,
)

FLAG_RULE = "thread-flag-as-group"
ACTION_RULE = "thread-action-on-group"


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace")


def _line(node: Any) -> int:
    return node.start_point[0] + 1


def _mentions(unit: AnalysisUnit, words: Iterable[str]) -> bool:
    text = unit.source.text
    return any(word in text for word in words)


# =========================================================================== flag rule


@dataclass
class FlagTest:
    node: Any
    concept: PerThread
    subject_node: Any | None  # None: the running thread
    key: str


def _flag_tests(kb: TaskStateKB, source: Any, facts: FunctionFacts) -> Iterator[FlagTest]:
    for call in facts.calls:
        accessor = kb.accessors.get(call.name)
        if accessor is None or accessor.kind != "test" or accessor.flag_arg >= len(call.args):
            continue
        flag = _text(call.args[accessor.flag_arg]).strip()
        concept = kb.reportable.get(flag)
        if concept is None:
            continue
        subject = call.args[accessor.task_arg] if 0 <= accessor.task_arg < len(call.args) else None
        yield FlagTest(call.node, concept, subject, squash(source.node_text(call.node)))
    body = facts.function.body if facts.function.body is not None else facts.function.node
    for node in walk(body):
        if node.type != "binary_expression" or _text(node.child_by_field_name("operator")) != "&":
            continue
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        for holder, bits in ((left, right), (right, left)):
            chain = field_chain(holder)
            if not chain or len(chain) < 2 or chain[-1] != kb.task_flags_field or "signal" in chain:
                continue
            subject = strip_parens(holder).child_by_field_name("argument")
            for bit in walk(bits):
                concept = kb.reportable.get(_text(bit)) if bit.type == "identifier" else None
                if concept is not None and concept.family == "pf":
                    key = f"{squash(source.node_text(holder))} & {concept.name}"
                    yield FlagTest(node, concept, subject, key)
            break


def _guards_owner_action(test: FlagTest) -> bool:
    """``if (test_thread_flag(TIF_MEMDIE)) exit_oom_victim();``: the owner dropping it."""
    for parent in ancestors(test.node):
        if parent.type == "if_statement":
            consequence = parent.child_by_field_name("consequence")
            return consequence is not None and any(
                n.type == "identifier" and _text(n) in test.concept.owner_guards
                for n in walk(consequence)
            )
        if parent.type in ("compound_statement", "function_definition"):
            return False
    return False


def _asked_group_first(facts: FunctionFacts, test: FlagTest) -> bool:
    """The function already asked the group question; the thread test narrows it on purpose."""
    return any(
        call.name in test.concept.counterpart_calls and call.node.end_byte <= test.node.start_byte
        for call in facts.calls
    )


def _scoped_in_condition(kb: TaskStateKB, test: FlagTest) -> bool:
    """``thread_group_empty(task) && (task->flags & PF_EXITING)``: scoped deliberately."""
    condition = enclosing_condition(test.node)
    for node in walk(condition):
        if node.type == "identifier" and _text(node) in kb.signal_flags:
            return True
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and _text(function) in kb.group_predicates:
                return True
    return False


def _process_evidence(
    kb: TaskStateKB, unit: AnalysisUnit, facts: FunctionFacts, test: FlagTest, subject: str
) -> tuple[list[Evidence], Confidence]:
    """Why the tested task stands for a whole process, strongest first."""
    region = facts.walk_at(test.node, "process", subject)
    if region is not None:
        return [
            Evidence(
                "path",
                f"{subject} is the cursor of {region.name}(): one task per "
                "process, the group leader",
                unit.path,
                region.line,
            )
        ], "high"
    chain = field_chain(test.subject_node) if test.subject_node is not None else None
    if (chain and chain[-1] in kb.leader_fields) or subject in facts.names.leaders:
        return [
            Evidence(
                "note",
                f"{subject} is a group leader, which stays around as a "
                "zombie while other threads run",
                unit.path,
                _line(test.node),
            )
        ], "high"
    passed = called_with_process(unit, kb, facts.function, subject)
    if passed is not None:
        return [passed], "high"
    evidence: list[Evidence] = []
    if _mixes_other_bits(kb, test):
        return evidence, "medium"  # PF_EXITING | PF_DUMPCORE | ...: this thread's own state
    body = facts.function.body if facts.function.body is not None else facts.function.node
    for node in walk(body):
        if node.type != "field_expression" or node.parent.type == "field_expression":
            continue
        chain = field_chain(node)
        owner = signal_owner(chain, facts.names) if chain else None
        if not owner or owner[0] != subject:
            continue
        asked = owner[1] in test.concept.counterpart_fields or (
            owner[1] == kb.write_flag_field
            and node.parent.type == "binary_expression"
            and any(
                n.type == "identifier" and _text(n) in test.concept.counterpart_fields
                for n in walk(node.parent)
            )
        )
        if asked:
            evidence.append(
                Evidence(
                    "counterpart",
                    f"the function asks the same question "
                    f"group-wide about {subject} "
                    f"({squash(unit.source.node_text(node.parent))})",
                    unit.path,
                    _line(node),
                )
            )
            break
    for call in facts.calls:
        if call.name in kb.group_action_calls and any(
            task_name(kb, a, facts.names) == subject for a in call.args
        ):
            evidence.append(
                Evidence(
                    "call",
                    f"the function acts on {subject} as a process ({call.name}())",
                    unit.path,
                    _line(call.node),
                )
            )
            break
    return evidence, "medium"


def _mixes_other_bits(kb: TaskStateKB, test: FlagTest) -> bool:
    """A mask with bits the knowledge base does not pair asks about this thread's state."""
    if test.node.type != "binary_expression":
        return False
    bits = [n for n in walk(test.node) if n.type == "identifier" and _text(n).startswith("PF_")]
    return any(_text(n) not in kb.reportable for n in bits)


def _judge_flag(
    kb: TaskStateKB, unit: AnalysisUnit, facts: FunctionFacts, test: FlagTest
) -> Finding | None:
    concept = test.concept
    fn = facts.function.name
    if concept.owner(fn) is not None or _guards_owner_action(test):
        return None
    subject = (
        CURRENT if test.subject_node is None else task_name(kb, test.subject_node, facts.names)
    )
    if facts.walk_at(test.node, "thread", subject) is not None:
        return None  # each thread of a walk asked in turn: that is the group question
    evidence = [
        Evidence(
            "counterpart",
            f"{concept.name} is {concept.meaning}; the group-wide "
            f"form is {concept.replacement(subject)}",
            unit.path,
            _line(test.node),
        )
    ]
    if concept.when == "any":
        if _asked_group_first(facts, test):
            return None
        evidence.append(
            Evidence("note", f"{fn}() is not one of the owners of {concept.name}", unit.path)
        )
        if subject == CURRENT:
            other = counterpart_elsewhere(unit, kb, concept.counterpart_calls, fn, CURRENT)
            confidence: Confidence = "medium" if other else "low"
            evidence.append(
                Evidence(
                    "note",
                    "tested on the running thread, which need not be the one the flag was set on",
                    unit.path,
                )
            )
        else:
            context = group_context(unit, kb, fn)
            other = counterpart_elsewhere(unit, kb, concept.counterpart_calls, fn)
            evidence.extend(context)
            confidence = "high" if context else "medium"
        if other is not None:
            evidence.append(other)
    elif concept.when == "process":
        if subject == CURRENT or _scoped_in_condition(kb, test):
            return None
        found, confidence = _process_evidence(kb, unit, facts, test, subject)
        if not found:
            return None
        evidence.extend(found)
    else:
        return None
    message = (
        f"{test.key} tests one thread, but {concept.name} is {concept.meaning}; "
        f"the process-wide question is {concept.replacement(subject)}"
    )
    return Finding(
        rule=FLAG_RULE,
        severity="info" if confidence == "low" else "warning",
        message=message,
        file=unit.path,
        line=_line(test.node),
        column=test.node.start_point[1] + 1,
        function=fn,
        confidence=confidence,
        key=test.key,
        evidence=evidence,
    )


def check_thread_flag_as_group(unit: AnalysisUnit) -> Iterable[Finding]:
    kb = knowledge()
    if not _mentions(unit, kb.reportable):
        return []
    findings = []
    for facts in file_facts(unit, kb).every:
        if not unit.wants(facts.function.name):
            continue
        for test in _flag_tests(kb, unit.source, facts):
            finding = _judge_flag(kb, unit, facts, test)
            if finding is not None:
                findings.append(finding)
    return findings


# ========================================================================= action rule


@dataclass
class GroupWrite:
    node: Any
    task: str
    member: str


def _group_writes(kb: TaskStateKB, facts: FunctionFacts) -> list[GroupWrite]:
    writes = []
    body = facts.function.body if facts.function.body is not None else facts.function.node
    for node in walk(body):
        if node.type == "assignment_expression":
            chain = field_chain(node.child_by_field_name("left"))
            owner = signal_owner(chain, facts.names) if chain else None
            if owner and owner[1] in kb.write_fields and _sets_state(kb, node, owner[1]):
                writes.append(GroupWrite(node, *owner))
    for call in facts.calls:
        writer = kb.writers.get(call.name)
        if writer is not None and writer[0] < len(call.args):
            writes.append(
                GroupWrite(call.node, task_name(kb, call.args[writer[0]], facts.names), writer[1])
            )
            continue
        if call.name not in kb.write_calls:
            continue
        for arg in call.args:
            arg = strip_parens(arg)
            if arg.type != "pointer_expression" or not _text(arg).lstrip().startswith("&"):
                continue
            chain = field_chain(arg.child_by_field_name("argument"))
            owner = signal_owner(chain, facts.names) if chain else None
            if owner and owner[1] in kb.write_fields:
                writes.append(GroupWrite(call.node, *owner))
    return writes


def _sets_state(kb: TaskStateKB, assignment: Any, member: str) -> bool:
    """A write to signal->flags matters only when it sets a state the threads act upon."""
    if member != kb.write_flag_field:
        return True
    operator = assignment.child_by_field_name("operator")
    if operator is not None and _text(operator) == "&=":
        return False
    value = assignment.child_by_field_name("right")
    return value is not None and any(
        n.type == "identifier" and _text(n) in kb.write_flag_bits for n in walk(value)
    )


def _reachable_after(first: Any, second: Any) -> bool:
    """``second`` follows ``first`` on some path: not in the other branch, no exit between."""
    if first.end_byte > second.start_byte:
        return False
    second_ancestors = {(a.start_byte, a.end_byte, a.type) for a in ancestors(second)}
    child = first
    for parent in ancestors(first):
        if (parent.start_byte, parent.end_byte, parent.type) in second_ancestors:
            return parent.type != "if_statement"
        if parent.type == "compound_statement":
            after = [c for c in parent.named_children if c.start_byte >= child.end_byte]
            if any(
                c.type
                in ("return_statement", "goto_statement", "break_statement", "continue_statement")
                for c in after
            ):
                return False
        child = parent
    return True


def _group_action_text(unit: AnalysisUnit, action: SingleAction, task: str) -> str | None:
    """The group action to name, if it exists (core API, this file or the tree)."""
    if not action.group_call:
        return None
    if action.group_needs_definition and defines(unit, action.group_function) is None:
        return None
    return action.group_call.replace("{task}", task)


def _single_actions(
    kb: TaskStateKB, facts: FunctionFacts
) -> Iterator[tuple[Any, SingleAction, Any]]:
    for call in facts.calls:
        action = kb.actions.get(call.name)
        if action is None or not 0 <= action.task_arg < len(call.args):
            continue
        if action.pidtype_arg is not None:
            if (
                action.pidtype_arg >= len(call.args)
                or _text(call.args[action.pidtype_arg]).strip() not in action.single_pidtype
            ):
                continue
        yield call, action, call.args[action.task_arg]


def _action_finding(
    unit: AnalysisUnit,
    facts: FunctionFacts,
    call: Any,
    key: str,
    message: str,
    confidence: Confidence,
    evidence: list[Evidence],
) -> Finding:
    return Finding(
        rule=ACTION_RULE,
        severity="warning",
        message=message,
        file=unit.path,
        line=_line(call.node),
        column=call.node.start_point[1] + 1,
        function=facts.function.name,
        confidence=confidence,
        key=key,
        evidence=evidence,
    )


def _judge_actions(kb: TaskStateKB, unit: AnalysisUnit, facts: FunctionFacts) -> Iterator[Finding]:
    writes = _group_writes(kb, facts)
    for call, action, target in _single_actions(kb, facts):
        task = task_name(kb, target, facts.names)
        if facts.walk_at(call.node, "thread", task) is not None:
            continue  # the per-thread action of a thread walk is the group action
        group = _group_action_text(unit, action, task)
        replacement = group or action.group_walk
        spelled = squash(unit.source.node_text(call.node))
        write = next(
            (w for w in reversed(writes) if w.task == task and _reachable_after(w.node, call.node)),
            None,
        )
        if write is None and action.signal:
            write = next(
                (w for w in writes if w.task == task and _reachable_after(call.node, w.node)), None
            )
        if write is not None:
            evidence = [
                Evidence(
                    "call",
                    f"group-wide state changed: {task}->signal->{write.member}",
                    unit.path,
                    _line(write.node),
                ),
                Evidence(
                    "call", f"{call.name}() acts on {task} alone", unit.path, _line(call.node)
                ),
                Evidence("note", f"group action: {replacement}", unit.path),
            ]
            yield _action_finding(
                unit,
                facts,
                call,
                f"{call.name}({task}) with {task}->signal->{write.member}",
                f"{spelled} acts on one thread, but the same code changes "
                f"{task}->signal->{write.member} for the whole thread group; the other "
                f"threads are left behind: use {replacement}",
                "high" if group else "medium",
                evidence,
            )
            continue
        region = facts.walk_at(call.node, "process", task)
        if region is not None and group is not None:
            evidence = [
                Evidence(
                    "path",
                    f"{task} is the cursor of {region.name}(): one task per process",
                    unit.path,
                    region.line,
                ),
                Evidence("note", f"group action: {group}", unit.path),
            ]
            yield _action_finding(
                unit,
                facts,
                call,
                f"{call.name}({task}) in {region.name}({task})",
                f"{spelled} reaches only one thread of each process of the "
                f"{region.name}() walk; use {group}",
                "high",
                evidence,
            )


def check_thread_action_on_group(unit: AnalysisUnit) -> Iterable[Finding]:
    kb = knowledge()
    if not _mentions(unit, kb.actions):
        return []
    findings = []
    for facts in file_facts(unit, kb).every:
        if unit.wants(facts.function.name):
            findings.extend(_judge_actions(kb, unit, facts))
    return findings
