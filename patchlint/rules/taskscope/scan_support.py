"""What a whole-tree scan needs from the task-scope knowledge: the words a file must
contain for the thread-group rules to have anything to say, and an identity of the
knowledge so that cached scan results are dropped when it changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from patchlint.rules.taskscope.view import tree_knowledge

FLAG_RULE = "thread-flag-as-group"
ACTION_RULE = "thread-action-on-group"


def rule_tokens(root: Path) -> dict[str, tuple[str, ...]]:
    knowledge = tree_knowledge(root)
    facts = tuple(sorted({t.fact.bit or t.fact.member for t in knowledge.thread_facts.values()}))
    actions = tuple(sorted(knowledge.actions))
    return {FLAG_RULE: facts, ACTION_RULE: actions}


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
