"""Lock identity: one canonical text per lock, whatever expression reaches it.

``spin_lock(&dev->lock)`` and ``spin_lock(&priv->dev->lock)`` take the same lock
when ``dev`` is a local set once from ``priv->dev``: both canonicalise to
``priv->dev->lock``. A lock reached through a pointer parameter keeps the
parameter's name, which a summary turns into an argument slot (``{0}->lock``)
so the call site can put its own expression in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tree_sitter import Node, Query, QueryCursor

from patchlint.analysis.calls import text

# An access path: a variable followed by fields and indices (`a->b.c[i]`).
_PATH = r"[A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*|\[[^\[\]]*\])*"
_PATH_RE = re.compile(rf"^{_PATH}$")
_CAST = re.compile(
    r"\((?:(?:const|volatile|struct|union|enum|unsigned|signed)\s+)*[A-Za-z_]\w*\s*\*+\s*\)"
)
_SPACE_AROUND = re.compile(r"\s*([^\w\s])\s*")
_SPACES = re.compile(r"\s+")
_REDUNDANT_PARENS = re.compile(rf"(?<![\w\]])\(({_PATH})\)")
_ADDRESS_ARROW = re.compile(rf"\(&({_PATH})\)->")
_DEREF_DOT = re.compile(rf"\(\*({_PATH})\)\.")
_NUMBER_PARENS = re.compile(r"(?<![\w\]])\((\d+)\)")
_DEREF_ADDRESS = re.compile(rf"\*\(&({_PATH})\)")
_ADDRESS_DEREF = re.compile(rf"&\(\*({_PATH})\)")
_ROOTS = re.compile(r"(?<![\w>.])[A-Za-z_]\w*")
_SLOT = re.compile(r"\{(\d+|ret)\}")
# `container_of(&p->member, T, member)` is `p` again (a callback handed `&p->ref`); the
# macros that say so are data (locks.toml [flow] member_owners).
_CONTAINER_OF: list[re.Pattern[str]] = []


def _container_of() -> re.Pattern[str]:
    if not _CONTAINER_OF:
        from patchlint.analysis.kb import knowledge

        names = "|".join(sorted(map(re.escape, knowledge().member_owners))) or "(?!)"
        _CONTAINER_OF.append(
            re.compile(rf"(?<!\w)(?:{names})\(\(?&\(?({_PATH})->(\w+)\)?\)?,[^,()]*,\2\)")
        )
    return _CONTAINER_OF[0]


# Values a local may stand for in a lock name: an access path, its address, or a
# call over such values (`this_cpu_ptr(&pcp)`), with no side effects we care about.
_ALIAS_VALUE = re.compile(rf"^&?{_PATH}$|^[A-Za-z_]\w*\((?:[^()]|\([^()]*\))*\)$")
MAX_SUBSTITUTIONS = 6


@functools.lru_cache(maxsize=65536)
def canonical(expression: str) -> str:
    """The canonical text of a C expression naming a lock object."""
    value = _SPACES.sub(" ", expression).strip()
    value = _SPACE_AROUND.sub(r"\1", value)
    value = _CAST.sub("", value)
    for _ in range(MAX_SUBSTITUTIONS):
        before = value
        value = _ADDRESS_ARROW.sub(r"\1.", value)
        value = _DEREF_DOT.sub(r"\1->", value)
        value = _REDUNDANT_PARENS.sub(r"\1", value)
        value = _NUMBER_PARENS.sub(r"\1", value)
        value = _DEREF_ADDRESS.sub(r"\1", value)
        value = _ADDRESS_DEREF.sub(r"\1", value)
        value = _container_of().sub(r"(\1)", value)
        value = value.replace("*&", "").replace("&*", "")
        while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
            value = value[1:-1]
        if value == before:
            break
    return value


def _balanced(value: str) -> bool:
    depth = 0
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@functools.lru_cache(maxsize=65536)
def pointee(argument: str) -> str:
    """The lock an argument points at: `&x->lock` names `x->lock`, `lock` names `*lock`."""
    value = canonical(argument)
    if value.startswith("&"):
        return canonical(value[1:])
    return canonical("*" + value) if _PATH_RE.match(value) else canonical(f"*({value})")


@functools.lru_cache(maxsize=65536)
def roots(identity: str) -> frozenset[str]:
    """Variables (and functions) an identity is computed from."""
    return frozenset(_ROOTS.findall(identity))


_LEADING_OBJECT = re.compile(r"^([A-Za-z_]\w*)(?:$|\.)")
_CALLED = re.compile(r"([A-Za-z_]\w*)\(")


@functools.lru_cache(maxsize=65536)
def pointer_roots(identity: str) -> frozenset[str]:
    """Variables whose new value makes the same text name another lock: every variable
    in it but a lock object named directly (`tasklist_lock`, `local.lock`)."""
    found = set(roots(identity)) - set(_CALLED.findall(identity))
    leading = _LEADING_OBJECT.match(identity)
    if leading:
        found.discard(leading.group(1))
    return frozenset(found)


_LEADING_ROOT = re.compile(r"^(\*?)[A-Za-z_]\w*(?=->|\.|$)")


_STRUCT_POINTER = re.compile(r"\bstruct\s+(\w+)\s*(?:\*\s*(?:const\s+)?)+(\w+)\s*[,;)=\[]")


@functools.lru_cache(maxsize=4096)
def struct_pointers(function_text: str) -> Mapping[str, str]:
    """The struct type of each pointer the function declares (parameters and locals:
    `struct usnic_ib_vf *vf` gives `vf: usnic_ib_vf`). A name declared with two types
    (in two blocks) has none: the kind of its lock is not guessed from it."""
    found: dict[str, str] = {}
    clashing: set[str] = set()
    for struct, name in _STRUCT_POINTER.findall(function_text):
        if found.setdefault(name, struct) != struct:
            clashing.add(name)
    for name in clashing:
        del found[name]
    return MappingProxyType(found)  # cached and shared: read-only


def typed_shape(identity: str, types: Mapping[str, str]) -> str | None:
    """``shape()`` qualified by the struct type of the lock's leading pointer
    (`usnic_ib_vf:?->lock`), or None when that type is not declared here."""
    leading = _LEADING_ROOT.match(identity)
    if leading is None or "->" not in identity:
        return None
    struct = types.get(leading.group(0).lstrip("*"))
    return f"{struct}:{shape(identity)}" if struct else None


def kind_by_shape(
    kinds: Mapping[str, str], identity: str, types: Mapping[str, str], unknown: str
) -> str:
    """The kind the file takes a lock of this shape with: of the same struct type when
    the lock's pointer has a declared type (a same-named field of another struct, such
    as a mutex `vf->lock` beside a spinlock `qp_grp->lock`, says nothing), else of
    the bare shape."""
    plain = shape(identity)
    typed = typed_shape(identity, types)
    if typed is not None:
        if typed in kinds:
            return kinds[typed]
        if any(key.endswith(":" + plain) for key in kinds):
            return unknown  # the file takes that field of other structs only
    return kinds.get(plain, unknown)


_DEREFERENCED = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)(?=->)|^\*([A-Za-z_]\w*)$")


@functools.lru_cache(maxsize=65536)
def dereferenced(identity: str) -> frozenset[str]:
    """Pointers a lock name dereferences (`p` in `p->lock` and `*p`): a path that
    locks it knows they are not NULL."""
    return frozenset(a or b for a, b in _DEREFERENCED.findall(identity))


def rename_root(identity: str, old: str, new: str) -> str:
    """``identity`` with the variable ``old`` written ``new`` (`x = y;` copies)."""
    return canonical(re.sub(rf"(?<![\w>.]){re.escape(old)}\b", new, identity))


@functools.lru_cache(maxsize=65536)
def shape(identity: str) -> str:
    """The lock with its leading variable blanked: `?->lock` for `dev->lock` and
    `d->lock`, a guess at "the same field of the same kind of object". A lock named
    by a bare variable has no field to go by: it is its own shape."""
    if "->" not in identity and "." not in identity:
        return identity
    return _LEADING_ROOT.sub(r"\1?", identity, count=1)


def fill(template: str, args: tuple[str, ...], returned: str | None = None) -> str | None:
    """A template ("{0}->lock") with the call's arguments put in, or None if one is missing."""
    missing = False

    def slot(match: re.Match[str]) -> str:
        nonlocal missing
        key = match.group(1)
        if key == "ret":
            if returned is None:
                missing = True
                return ""
            return f"({returned})"
        index = int(key)
        if index >= len(args):
            missing = True
            return ""
        return f"({args[index]})"

    value = _SLOT.sub(slot, template)
    return None if missing else canonical(value)


@dataclass
class Resolver:
    """Canonical lock names inside one function: locals set once stand for their value."""

    params: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    local_names: frozenset[str] = frozenset()
    # The analysis asks the same names again on every path: answers kept (the
    # aliases are fixed once the resolver is built).
    _resolved: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def resolve(self, identity: str) -> str:
        found = self._resolved.get(identity)
        if found is None:
            found = self._resolved[identity] = self._resolve(identity)
        return found

    def _resolve(self, identity: str) -> str:
        value = identity
        for _ in range(MAX_SUBSTITUTIONS):
            changed = False

            def swap(match: re.Match[str]) -> str:
                nonlocal changed
                name = match.group(0)
                alias = self.aliases.get(name)
                if alias is None:
                    return name
                changed = True
                return f"({alias})"

            value = _ROOTS.sub(swap, value)
            value = canonical(value)
            if not changed:
                break
        return value

    def lock_at(self, argument: str) -> str:
        return self.resolve(pointee(argument))

    def expression(self, argument: str) -> str:
        return self.resolve(canonical(argument))

    def template(self, identity: str, returned: str | None = None) -> str | None:
        """The identity over argument slots, for a summary; None if it names a local."""
        if not identity:
            return identity
        locals_named = False

        def slot(match: re.Match[str]) -> str:
            nonlocal locals_named
            name = match.group(0)
            if name in self.params:
                return "{" + str(self.params.index(name)) + "}"
            if returned is not None and name == returned:
                return "{ret}"
            if name in self.local_names:
                locals_named = True
            return name

        value = _ROOTS.sub(slot, identity)
        return None if locals_named else value

    def named_through(self, lock: str, returned: str) -> str | None:
        """The lock as a template over the returned variable (`*{ret}` when the function
        returns the lock's address: `lock = lock_ptr(kn); mutex_lock(lock); return
        lock;`), or None when the returned value does not lead to it. The variable stands
        for its value in ``lock`` (an alias), so the value is put back as the variable."""
        if not returned.isidentifier():
            return None
        value = self.expression(returned)
        if value == returned:
            return None  # not an alias: a lock named through it already says {ret}
        for written in (f"({value})", value):
            if written in lock:
                candidate = canonical(lock.replace(written, returned))
                if candidate != lock and self.resolve(candidate) == lock:
                    return self.template(candidate, returned)
        return None


_DECLARATION_QUERY: list[Query] = []


def local_names(body: Node | None) -> frozenset[str]:
    """The names ``body`` declares (``function_resolver(...).local_names``), from a
    query for its declarations: most questions are only "is this name a local?", and
    the resolver is a walk of every node of the body."""
    if body is None:
        return frozenset()
    if not _DECLARATION_QUERY:
        from patchlint.source import C_LANGUAGE

        query = "(declaration) @declaration (init_declarator) @init"
        _DECLARATION_QUERY.append(Query(C_LANGUAGE, query))
    captures = QueryCursor(_DECLARATION_QUERY[0]).captures(body)
    names = [_declared(n.child_by_field_name("declarator")) for n in captures.get("init", [])]
    for node in captures.get("declaration", []):
        names.extend(_declared(c) for c in node.named_children if c.type != "init_declarator")
    return frozenset(name for name in names if name)


def function_resolver(params: list[str], body: Node | None) -> Resolver:
    """Aliases of one function: locals assigned exactly once from an alias-able value."""
    assigned: dict[str, list[str]] = {}
    declared: set[str] = set()
    address_taken: set[str] = set()
    in_loop: set[str] = set()  # assigned inside a loop: a new value each time round
    fields_written: set[str] = set()  # `dentry->d_parent = ...`
    stack: list[tuple[Node, bool]] = [(body, False)] if body is not None else []
    while stack:
        node, looping = stack.pop()
        kind = node.type
        if kind in _LOOPS:
            looping = True
        if kind == "for_statement":
            # An iterator macro (`list_for_each_entry(pos, head, member)`) is a
            # `for (;;  pos, head, member)` to the parser: its cursors change each time.
            update = node.child_by_field_name("update")
            if update is not None and not _writes(update):
                in_loop.update(_identifiers(update))
        if kind in ("init_declarator", "assignment_expression") and looping:
            target = (
                _declared(node.child_by_field_name("declarator"))
                if kind == "init_declarator"
                else text(node.child_by_field_name("left"))
            )
            if target:
                in_loop.add(target)
        if kind == "init_declarator":
            name = _declared(node.child_by_field_name("declarator"))
            if name:
                declared.add(name)
                assigned.setdefault(name, []).append(text(node.child_by_field_name("value")))
        elif kind == "declaration":
            for child in node.named_children:
                name = _declared(child) if child.type != "init_declarator" else None
                if name:
                    declared.add(name)
        elif kind == "assignment_expression":
            left = node.child_by_field_name("left")
            if left is not None and left.type == "field_expression":
                fields_written.add(canonical(text(left)))
            if left is not None and left.type == "identifier":
                operator = text(node.child_by_field_name("operator"))
                value = text(node.child_by_field_name("right")) if operator == "=" else "?"
                assigned.setdefault(text(left), []).append(value)
        elif kind == "update_expression":
            argument = node.child_by_field_name("argument")
            if argument is not None and argument.type == "identifier":
                assigned.setdefault(text(argument), []).append("?")
        elif kind == "pointer_expression" and text(node.child_by_field_name("operator")) == "&":
            argument = node.child_by_field_name("argument")
            if argument is not None and argument.type == "identifier":
                address_taken.add(text(argument))
        stack.extend((child, looping) for child in node.named_children)
    # A variable written after its definition names other objects over time; an alias
    # computed from one (`parent = p->d_parent` with `p = parent` later) would too.
    unstable = set(address_taken) | in_loop
    for name, values in assigned.items():
        if len(values) > 1 or name in params:
            unstable.add(name)
    aliases: dict[str, str] = {}
    for name, values in assigned.items():
        if name in unstable:
            continue
        value = canonical(values[0])
        if (
            name in declared
            and _ALIAS_VALUE.match(value)
            and name not in roots(value)
            and not roots(value) & unstable
            # `old_parent = dentry->d_parent` names another object once the field
            # is written (`dentry->d_parent = target->d_parent`).
            and not any(_within(value, written) for written in fields_written)
        ):
            aliases[name] = value
    return Resolver(tuple(params), aliases, frozenset(declared))


def _within(value: str, field: str) -> bool:
    return value == field or value.startswith((field + "->", field + "."))


_LOOPS = frozenset({"for_statement", "while_statement", "do_statement"})


def _writes(node: Node) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("assignment_expression", "update_expression", "call_expression"):
            return True
        stack.extend(current.named_children)
    return False


def _identifiers(node: Node) -> set[str]:
    """The variables an iterator macro's arguments name as such: its cursors. An
    argument that only reads through a variable (`&pas->lh`) does not change it."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier":
            found.add(text(current))
        elif current.type in ("comma_expression", "parenthesized_expression"):
            stack.extend(current.named_children)
    return found


def _declared(node: Node | None) -> str | None:
    while node is not None and node.type in (
        "pointer_declarator",
        "array_declarator",
        "attributed_declarator",
        "parenthesized_declarator",
        "function_declarator",  # a function-pointer local: `u64 (*read)(void)`
    ):
        inner = node.child_by_field_name("declarator")
        if inner is None and node.type == "parenthesized_declarator" and node.named_children:
            inner = node.named_children[0]  # the grammar gives it no field name
        node = inner
    if node is not None and node.type == "identifier":
        return text(node)
    return None


def is_path(expression: str) -> bool:
    return bool(_PATH_RE.match(expression))


@functools.lru_cache(maxsize=65536)
def owners(lock: str) -> frozenset[str]:
    """Expressions that hand a lock over: its address, its owner object, the owner's address."""
    if not lock:
        return frozenset()
    found = {lock, canonical("&" + lock)}
    # Every object on the path to the lock reaches it: `dev`, `dev->queue` for
    # `dev->queue->lock`, and the address of an embedded one (`&wb->flushing`).
    for match in re.finditer(r"->|\.", lock):
        head = lock[: match.start()]
        if match.group(0) == "->":
            found.add(head)
        else:
            found |= {head, canonical("&" + head)}
    if lock.startswith("*"):
        found.add(lock[1:])
    # `(rxrpc_sk(sock->sk))->sk.sk_lock` is reached from `rxrpc_sk(sock->sk)` too.
    found |= {_unwrapped(item) for item in found}
    return frozenset(found)


_CALL_HEAD = re.compile(r"[A-Za-z_]\w*\(")


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at ``start``, or -1."""
    depth = 0
    for position in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[position], 0)
        if depth == 0:
            return position
    return -1


@functools.lru_cache(maxsize=65536)
def _computing_call(lock: str) -> tuple[str, tuple[str, ...]] | None:
    """The call a lock is computed by and its arguments (`group_lock_ptr`, (`sb`,
    `group`) of `*(group_lock_ptr(sb,group))` or `(slot_of(page))->lock`), or None."""
    value = lock[1:] if lock.startswith("*") else lock
    if value.startswith("("):
        end = _closing(value, 0)
        if end < 0:
            return None
        value, rest = value[1:end], value[end + 1 :]
    else:
        rest = ""
    head = _CALL_HEAD.match(value)
    if head is None:
        return None
    end = _closing(value, head.end() - 1)
    if end < 0:
        return None
    rest = value[end + 1 :] + rest
    if rest and not rest.startswith(("->", ".")):
        return None
    inner = value[head.end() : end]
    args: list[str] = []
    depth, start = 0, 0
    for position, char in enumerate(inner):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            args.append(canonical(inner[start:position]))
            start = position + 1
    args.append(canonical(inner[start:]))
    found = tuple(arg for arg in args if arg)
    return (head.group(0)[:-1], found) if found else None


def computed_from(lock: str, values: set[str], callee: str) -> bool:
    """Whether ``values`` hold every argument of the call the lock is computed by: a
    callee given them can compute the lock itself (`unlock_group(sb, group)` for
    `*(group_lock_ptr(sb,group))`). The computing function itself only names it."""
    found = _computing_call(lock)
    if found is None or found[0] == callee:
        return False
    return all(arg in values for arg in found[1])


def _unwrapped(expression: str) -> str:
    """``expression`` without parentheses around all of it."""
    while expression.startswith("(") and expression.endswith(")"):
        depth = 0
        for position, char in enumerate(expression):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and position < len(expression) - 1:
                return expression
        expression = expression[1:-1]
    return expression
