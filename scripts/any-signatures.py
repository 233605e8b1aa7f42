#!/usr/bin/env python3
"""List the function signatures of the package that mention Any (directly or through a
module-level alias defined with Any), with their module and line.

    python3 scripts/any-signatures.py            # count, then one line per signature
    python3 scripts/any-signatures.py --quiet    # the count only

The project allows at most 15 such signatures, each with a comment saying why.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "patchlint"


def any_aliases(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None and _mentions(value, {"Any"}):
            names.add(target.id)
    return names


def _mentions(node: ast.AST, names: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in names:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in names:
            return True
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            try:
                inner = ast.parse(sub.value, mode="eval")
            except SyntaxError:
                continue
            if _mentions(inner, names):
                return True
    return False


def signatures(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {"Any"} | any_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            annotations = [a.annotation for a in arguments if a.annotation is not None]
            for extra in (node.args.vararg, node.args.kwarg):
                if extra is not None and extra.annotation is not None:
                    annotations.append(extra.annotation)
            if node.returns is not None:
                annotations.append(node.returns)
            if any(_mentions(a, names) for a in annotations):
                found.append((node.lineno, node.name))
    return found


def main() -> int:
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    rows = [
        (str(path.relative_to(PACKAGE.parent)), line, name)
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in signatures(path)
    ]
    print(len(rows))
    if "--quiet" not in sys.argv:
        for module, line, name in rows:
            print(f"{module}:{line}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
