"""Statements of the interpreter: blocks, declarations, control flow, kernel iterators.

Kept apart from expressions only to keep modules small; ``StatementMixin`` is
mixed into ``Interpreter`` and uses its ``eval``/``lvalue``/``branch`` helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from patchlint.simulate.frames import (
    Break,
    Continue,
    Engine,
    Frame,
    Goto,
    Node,
    Return,
    child,
    line_of,
    text_of,
)
from patchlint.simulate.interpreter_expr import convert, same
from patchlint.simulate.iterators import run_construct, run_do_iterator
from patchlint.simulate.preproc import eval_condition
from patchlint.simulate.world import (
    UNINIT,
    Obj,
    Ptr,
    Slot,
    Stop,
    Uninitialised,
    Value,
    describe,
    truth,
)

_SKIPPED = {
    "comment",
    "preproc_call",
    "preproc_def",
    "preproc_function_def",
    "preproc_include",
    "type_definition",
    "struct_specifier",
    "enum_specifier",
    "union_specifier",
    ";",
    "{",
    "}",
    "function_definition",
}
_PREPROC = {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"}

StatementHandler: TypeAlias = "Callable[[StatementMixin, Node, Frame], None]"
_STATEMENTS: dict[str, StatementHandler] = {}


def _handles(*kinds: str) -> Callable[[StatementHandler], StatementHandler]:
    def register(handler: StatementHandler) -> StatementHandler:
        for kind in kinds:
            _STATEMENTS[kind] = handler
        return handler

    return register


class StatementMixin(Engine):
    """Statement execution; see ``Interpreter`` for the state it relies on."""

    # -- blocks and scopes --------------------------------------------------------
    def exec_block(self, node: Node, frame: Frame) -> None:
        frame.scopes.append([])
        try:
            self.exec_sequence(self.statements_of(node), frame)
        finally:
            self.leave_scope(frame)

    def leave_scope(self, frame: Frame) -> None:
        for release in reversed(frame.scopes.pop()):
            release()

    def statements_of(self, node: Node) -> list[Node]:
        """The statements a block (or a configured #if branch inside it) contains."""
        out: list[Node] = []
        for item in node.named_children:
            if item.type in _PREPROC:
                out.extend(self.preproc_branch(item))
            elif item.type not in _SKIPPED:
                out.append(item)
        return out

    def preproc_branch(self, node: Node) -> list[Node]:
        """Statements of the branch of an #if group a configured build compiles."""
        defined = self.world.config
        kind = node.type
        if kind == "preproc_else":
            return self.statements_of_preproc(node, skip=())
        if kind in ("preproc_ifdef", "preproc_elifdef"):
            name = node.child_by_field_name("name")
            directive = node.children[0].type if node.children else "#ifdef"
            wanted = "ndef" not in directive
            taken = (name is not None and text_of(name) in defined) == wanted
        else:
            cond = node.child_by_field_name("condition")
            taken = eval_condition(text_of(cond) if cond is not None else "1", defined)
        if taken:
            return self.statements_of_preproc(node, skip=("name", "condition", "alternative"))
        alternative = node.child_by_field_name("alternative")
        return self.preproc_branch(alternative) if alternative is not None else []

    def statements_of_preproc(self, node: Node, skip: tuple[str, ...]) -> list[Node]:
        skipped = set()
        for name in skip:
            found = node.child_by_field_name(name)
            if found is not None:
                skipped.add(found.id)
        out: list[Node] = []
        for item in node.named_children:
            if item.id in skipped:
                continue
            if item.type in _PREPROC:
                out.extend(self.preproc_branch(item))
            elif item.type not in _SKIPPED:
                out.append(item)
        return out

    def exec_sequence(self, statements: list[Node], frame: Frame) -> None:
        labels = {}
        for index, stmt in enumerate(statements):
            # `a: b: stmt` nests one labeled statement in another.
            current: Node | None = stmt
            while current is not None and current.type == "labeled_statement":
                label = child(current, "label")
                labels[text_of(label)] = index
                inner = [c for c in current.named_children if c.id != label.id]
                current = inner[0] if inner else None
        index = 0
        while index < len(statements):
            try:
                self.exec_stmt(statements[index], frame)
            except Goto as jump:
                if jump.label not in labels:
                    raise
                index = labels[jump.label]
                continue
            index += 1

    # -- statements ---------------------------------------------------------------
    def exec_stmt(self, node: Node, frame: Frame) -> None:
        self.tick(frame)
        kind = node.type
        if kind in _SKIPPED:
            return
        if kind in _PREPROC:
            self.exec_sequence(self.preproc_branch(node), frame)
            return
        handler = _STATEMENTS.get(kind)
        if handler is None:
            raise Stop(
                f"unsupported statement {kind} at {frame.function}:{line_of(node)}",
                kind="unsupported",
            )
        handler(self, node, frame)

    @_handles("compound_statement")
    def _compound_statement(self, node: Node, frame: Frame) -> None:
        self.exec_block(node, frame)

    @_handles("expression_statement")
    def _expression_statement(self, node: Node, frame: Frame) -> None:
        for item in node.named_children:
            if item.type != "comment":
                self.eval(item, frame)

    @_handles("attributed_statement")
    def _attributed_statement(self, node: Node, frame: Frame) -> None:
        for item in node.named_children:
            if item.type != "attribute_declaration":
                self.exec_stmt(item, frame)

    @_handles("labeled_statement")
    def _labeled_statement(self, node: Node, frame: Frame) -> None:
        label = child(node, "label")
        for item in node.named_children:
            if item.id != label.id:
                self.exec_stmt(item, frame)

    @_handles("declaration")
    def declaration(self, node: Node, frame: Frame) -> None:
        type_text = text_of(child(node, "type"))
        if any(c.type == "storage_class_specifier" and c.text == b"static" for c in node.children):
            raise Stop(f"static local in {frame.function}", kind="unsupported")
        for declarator in node.children_by_field_name("declarator"):
            value: Slot = UNINIT
            target: Node | None = declarator
            if declarator.type == "init_declarator":
                target = child(declarator, "declarator")
                init = child(declarator, "value")
                if init.type == "initializer_list":
                    value = self.initializer(init, frame)
                else:
                    value = self.eval(init, frame)
            pointer = False
            array = False
            while target is not None and target.type != "identifier":
                if target.type == "pointer_declarator":
                    pointer = True
                elif target.type == "array_declarator":
                    array = True
                elif target.type not in ("parenthesized_declarator", "attributed_declarator"):
                    raise Stop(f"declarator {target.type}", kind="unsupported")
                target = target.child_by_field_name("declarator") or (
                    target.named_children[0] if target.named_children else None
                )
            if target is None:
                raise Stop("declaration without a name", kind="unsupported")
            name = text_of(target)
            if array and isinstance(value, Uninitialised):
                value = [0] * 8
            elif (
                isinstance(value, Uninitialised)
                and type_text.startswith(("struct", "union"))
                and not pointer
            ):
                value = self.world.new(type_text.split()[-1], f"{frame.function}.{name}")
            frame.env[name] = convert(value, "" if pointer else type_text, pointer)
            frame.types[name] = "" if pointer else type_text
            self.note(frame, node, f"{name} = {_short(frame.env[name])}")

    def initializer(self, node: Node, frame: Frame) -> Value:
        items = [c for c in node.named_children if c.type != "comment"]
        if all(c.type != "initializer_pair" for c in items):
            values: list[Value] = [self.eval(c, frame) for c in items]
            return values or [0] * 8
        obj = self.world.new("anonymous", f"{frame.function}.initializer")
        for pair in items:
            designator = pair.child_by_field_name("designator")
            value = pair.child_by_field_name("value")
            if designator is None or value is None or designator.type != "field_designator":
                raise Stop("initializer designator", kind="unsupported")
            obj.set(text_of(designator).lstrip("."), self.eval(value, frame))
        return obj

    @_handles("if_statement")
    def _if_statement(self, node: Node, frame: Frame) -> None:
        cond = truth(self.eval(child(node, "condition"), frame))
        self.branch(frame, node, cond)
        if cond:
            self.exec_stmt(child(node, "consequence"), frame)
            return
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            for item in alternative.named_children:
                self.exec_stmt(item, frame)

    @_handles("return_statement")
    def _return_statement(self, node: Node, frame: Frame) -> None:
        values = [c for c in node.named_children if c.type != "comment"]
        raise Return(self.eval(values[0], frame) if values else None)

    @_handles("break_statement")
    def _break_statement(self, node: Node, frame: Frame) -> None:
        raise Break()

    @_handles("continue_statement")
    def _continue_statement(self, node: Node, frame: Frame) -> None:
        raise Continue()

    @_handles("goto_statement")
    def _goto_statement(self, node: Node, frame: Frame) -> None:
        raise Goto(text_of(child(node, "label")))

    def loop_body(self, body: Node, frame: Frame) -> bool:
        """Run one iteration; False when the loop must stop (break)."""
        try:
            self.exec_stmt(body, frame)
        except Break:
            return False
        except Continue:
            pass
        return True

    @_handles("while_statement")
    def _while_statement(self, node: Node, frame: Frame) -> None:
        condition, body = child(node, "condition"), child(node, "body")
        while True:
            self.tick(frame)
            cond = truth(self.eval(condition, frame))
            self.branch(frame, node, cond)
            if not cond or not self.loop_body(body, frame):
                return

    @_handles("do_statement")
    def _do_statement(self, node: Node, frame: Frame) -> None:
        if run_do_iterator(self, frame, node):
            return
        condition, body = child(node, "condition"), child(node, "body")
        while True:
            self.tick(frame)
            if not self.loop_body(body, frame):
                return
            cond = truth(self.eval(condition, frame))
            self.branch(frame, node, cond)
            if not cond:
                return

    @_handles("for_statement")
    def _for_statement(self, node: Node, frame: Frame) -> None:
        if run_construct(self, frame, node):
            return
        frame.scopes.append([])
        try:
            init = node.child_by_field_name("initializer")
            if init is not None:
                if init.type == "declaration":
                    self.declaration(init, frame)
                else:
                    self.eval(init, frame)
            cond_node = node.child_by_field_name("condition")
            update = node.child_by_field_name("update")
            body = child(node, "body")
            while True:
                self.tick(frame)
                if cond_node is not None:
                    cond = truth(self.eval(cond_node, frame))
                    self.branch(frame, node, cond)
                    if not cond:
                        return
                if not self.loop_body(body, frame):
                    return
                if update is not None:
                    self.eval(update, frame)
        finally:
            self.leave_scope(frame)

    @_handles("switch_statement")
    def _switch_statement(self, node: Node, frame: Frame) -> None:
        value = self.eval(child(node, "condition"), frame)
        cases = [c for c in child(node, "body").named_children if c.type == "case_statement"]
        start = None
        for index, case in enumerate(cases):
            label = case.child_by_field_name("value")
            if label is not None and same(self.eval(label, frame), value):
                start = index
                break
        if start is None:
            start = next(
                (i for i, c in enumerate(cases) if c.child_by_field_name("value") is None), None
            )
        if start is None:
            taken = "none"
        else:
            label = cases[start].child_by_field_name("value")
            taken = "default" if label is None else f"case {text_of(label)}"
        self.branch(frame, node, taken)
        if start is None:
            return
        body: list[Node] = []
        for case in cases[start:]:
            label = case.child_by_field_name("value")
            body.extend(c for c in self.statements_of(case) if label is None or c.id != label.id)
        frame.scopes.append([])
        try:
            self.exec_sequence(body, frame)
        except Break:
            pass
        finally:
            self.leave_scope(frame)


def _short(value: Slot) -> str:
    if isinstance(value, Obj | Ptr):
        return describe(value)
    text = describe(value)
    return text if len(text) < 40 else text[:37] + "..."
