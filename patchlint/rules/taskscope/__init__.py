"""Task-scope inference: thread, group and mm state, their counterparts, predicates and
actions, inferred from a kernel tree (see infer.py)."""
