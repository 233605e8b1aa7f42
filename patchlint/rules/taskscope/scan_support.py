"""What a whole-tree scan needs from the task-scope knowledge: the words a file must
contain for the thread-group rules to have anything to say, and an identity of the
knowledge so that cached scan results are dropped when it changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from patchlint.rules.taskscope.scopes import roots as view_roots
from patchlint.rules.taskscope.view import tree_knowledge

FLAG_RULE = "thread-flag-as-group"
ACTION_RULE = "thread-action-on-group"
GROUP_RULE = "group-state-as-thread"
RULES = (FLAG_RULE, ACTION_RULE, GROUP_RULE)


def rule_tokens(root: Path) -> dict[str, tuple[str, ...]]:
    knowledge = tree_knowledge(root)
    # Per-thread facts with a counterpart, group state (a per-thread operand of a group
    # question), and the process links (identity tests against a process).
    state = {name.rpartition("->")[2] for name in knowledge.group_state}
    links = set(view_roots().process_links)
    facts = tuple(
        sorted(
            {t.fact.bit or t.fact.member for t in knowledge.thread_facts.values()} | state | links
        )
    )
    actions = tuple(sorted(knowledge.actions))
    groups = {t.counterpart.group for t in knowledge.thread_facts.values()}
    group_tokens = {g.bit or g.member for g in groups} | {
        p.name
        for p in knowledge.predicates.values()
        if p.scope == "group" and any(g.name in p.reads for g in groups)
    }
    return {FLAG_RULE: facts, ACTION_RULE: actions, GROUP_RULE: tuple(sorted(group_tokens))}


def identity(root: Path) -> str:
    """Changes whenever the inferred knowledge of the tree changes."""
    knowledge = tree_knowledge(root)
    digest = hashlib.blake2b(digest_size=12)
    for name in sorted(knowledge.thread_facts):
        thread = knowledge.thread_facts[name]
        digest.update(f"{name}>{thread.counterpart.group.name}:{thread.marker}".encode())
        digest.update(",".join(sorted(w.function for w in thread.writers)).encode())
    for name in sorted(knowledge.actions):
        digest.update(name.encode())
    for action in sorted(knowledge.group_forms):
        digest.update(",".join(f.name for f in knowledge.group_forms[action]).encode())
    digest.update(",".join(sorted(knowledge.summaries)).encode())
    return digest.hexdigest()
