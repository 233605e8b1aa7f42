"""Statements of the interpreter: blocks, declarations, control flow, kernel iterators.

Kept apart from expressions only to keep modules small; ``StatementMixin`` is
mixed into ``Interpreter`` and uses its ``eval``/``lvalue``/``branch`` helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patchlint.simulate.preproc import eval_condition
from patchlint.simulate.world import Obj, Ptr, Stop, truth

if TYPE_CHECKING:
    from patchlint.simulate.interpreter import Frame

Node = Any

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


class StatementMixin:
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
        for child in node.named_children:
            if child.type in _PREPROC:
                out.extend(self.preproc_branch(child))
            elif child.type not in _SKIPPED:
                out.append(child)
        return out

    def preproc_branch(self, node: Node) -> list[Node]:
        """Statements of the branch of an #if group a configured build compiles."""
        defined = self.world.config
        kind = node.type
        if kind == "preproc_else":
            return self.statements_of_preproc(node, skip=())
        if kind == "preproc_ifdef" or kind == "preproc_elifdef":
            name = node.child_by_field_name("name")
            directive = node.children[0].type if node.children else "#ifdef"
            wanted = "ndef" not in directive
            taken = (name is not None and name.text.decode() in defined) == wanted
        else:
            cond = node.child_by_field_name("condition")
            taken = eval_condition(cond.text.decode() if cond is not None else "1", defined)
        if taken:
            return self.statements_of_preproc(node, skip=("name", "condition", "alternative"))
        alternative = node.child_by_field_name("alternative")
        return self.preproc_branch(alternative) if alternative is not None else []

    def statements_of_preproc(self, node: Node, skip: tuple[str, ...]) -> list[Node]:
        skipped = {
            node.child_by_field_name(f).id for f in skip if node.child_by_field_name(f) is not None
        }
        out: list[Node] = []
        for child in node.named_children:
            if child.id in skipped:
                continue
            if child.type in _PREPROC:
                out.extend(self.preproc_branch(child))
            elif child.type not in _SKIPPED:
                out.append(child)
        return out

    def exec_sequence(self, statements: list[Node], frame: Frame) -> None:
        from patchlint.simulate.interpreter import Goto

        labels = {}
        for index, stmt in enumerate(statements):
            # `a: b: stmt` nests one labeled statement in another.
            while stmt is not None and stmt.type == "labeled_statement":
                label = stmt.child_by_field_name("label")
                labels[label.text.decode()] = index
                inner = [c for c in stmt.named_children if c.id != label.id]
                stmt = inner[0] if inner else None
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
        self.tick(frame, node)
        kind = node.type
        if kind in _SKIPPED:
            return
        if kind in _PREPROC:
            self.exec_sequence(self.preproc_branch(node), frame)
            return
        method = getattr(self, "_s_" + kind, None)
        if method is None:
            raise Stop(
                f"unsupported statement {kind} at {frame.function}:{node.start_point[0] + 1}",
                kind="unsupported",
            )
        method(node, frame)

    def _s_compound_statement(self, node: Node, frame: Frame) -> None:
        self.exec_block(node, frame)

    def _s_expression_statement(self, node: Node, frame: Frame) -> None:
        for child in node.named_children:
            if child.type != "comment":
                self.eval(child, frame)

    def _s_attributed_statement(self, node: Node, frame: Frame) -> None:
        for child in node.named_children:
            if child.type != "attribute_declaration":
                self.exec_stmt(child, frame)

    def _s_labeled_statement(self, node: Node, frame: Frame) -> None:
        label = node.child_by_field_name("label")
        for child in node.named_children:
            if child is not None and child.id != label.id:
                self.exec_stmt(child, frame)

    def _s_declaration(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.interpreter_expr import UNINIT, convert

        type_text = node.child_by_field_name("type").text.decode()
        if any(c.type == "storage_class_specifier" and c.text == b"static" for c in node.children):
            raise Stop(f"static local in {frame.function}", kind="unsupported")
        for declarator in node.children_by_field_name("declarator"):
            value: Any = UNINIT
            target = declarator
            if declarator.type == "init_declarator":
                target = declarator.child_by_field_name("declarator")
                init = declarator.child_by_field_name("value")
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
            name = target.text.decode()
            if array and value is UNINIT:
                value = [0] * 8
            elif value is UNINIT and type_text.startswith(("struct", "union")) and not pointer:
                value = self.world.new(type_text.split()[-1], f"{frame.function}.{name}")
            frame.env[name] = convert(value, "" if pointer else type_text, pointer)
            frame.types[name] = "" if pointer else type_text
            self.note(frame, node, f"{name} = {_short(frame.env[name])}")

    def initializer(self, node: Node, frame: Frame) -> Any:
        items = [c for c in node.named_children if c.type != "comment"]
        if all(c.type != "initializer_pair" for c in items):
            return [self.eval(c, frame) for c in items] or [0] * 8
        obj = self.world.new("anonymous", f"{frame.function}.initializer")
        for pair in items:
            designator = pair.child_by_field_name("designator")
            value = pair.child_by_field_name("value")
            if designator is None or value is None or designator.type != "field_designator":
                raise Stop("initializer designator", kind="unsupported")
            obj.set(designator.text.decode().lstrip("."), self.eval(value, frame))
        return obj

    def _s_if_statement(self, node: Node, frame: Frame) -> None:
        cond = truth(self.eval(node.child_by_field_name("condition"), frame))
        self.branch(frame, node, cond)
        if cond:
            self.exec_stmt(node.child_by_field_name("consequence"), frame)
            return
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            for child in alternative.named_children:
                self.exec_stmt(child, frame)

    def _s_return_statement(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.interpreter import Return

        values = [c for c in node.named_children if c.type != "comment"]
        raise Return(self.eval(values[0], frame) if values else None)

    def _s_break_statement(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.interpreter import Break

        raise Break()

    def _s_continue_statement(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.interpreter import Continue

        raise Continue()

    def _s_goto_statement(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.interpreter import Goto

        raise Goto(node.child_by_field_name("label").text.decode())

    def loop_body(self, body: Node, frame: Frame) -> bool:
        """Run one iteration; False when the loop must stop (break)."""
        from patchlint.simulate.interpreter import Break, Continue

        try:
            self.exec_stmt(body, frame)
        except Break:
            return False
        except Continue:
            pass
        return True

    def _s_while_statement(self, node: Node, frame: Frame) -> None:
        while True:
            self.tick(frame, node)
            cond = truth(self.eval(node.child_by_field_name("condition"), frame))
            self.branch(frame, node, cond)
            if not cond or not self.loop_body(node.child_by_field_name("body"), frame):
                return

    def _s_do_statement(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.iterators import run_do_iterator

        if run_do_iterator(self.primitives, self, frame, node):
            return
        while True:
            self.tick(frame, node)
            if not self.loop_body(node.child_by_field_name("body"), frame):
                return
            cond = truth(self.eval(node.child_by_field_name("condition"), frame))
            self.branch(frame, node, cond)
            if not cond:
                return

    def _s_for_statement(self, node: Node, frame: Frame) -> None:
        construct = self.primitives.construct_for(frame.src, node)
        if construct is not None:
            self.primitives.run_construct(self, frame, node, construct)
            return
        frame.scopes.append([])
        try:
            init = node.child_by_field_name("initializer")
            if init is not None:
                if init.type == "declaration":
                    self._s_declaration(init, frame)
                else:
                    self.eval(init, frame)
            cond_node = node.child_by_field_name("condition")
            update = node.child_by_field_name("update")
            while True:
                self.tick(frame, node)
                if cond_node is not None:
                    cond = truth(self.eval(cond_node, frame))
                    self.branch(frame, node, cond)
                    if not cond:
                        return
                if not self.loop_body(node.child_by_field_name("body"), frame):
                    return
                if update is not None:
                    self.eval(update, frame)
        finally:
            self.leave_scope(frame)

    def _s_switch_statement(self, node: Node, frame: Frame) -> None:
        from patchlint.simulate.interpreter import Break
        from patchlint.simulate.interpreter_expr import same

        value = self.eval(node.child_by_field_name("condition"), frame)
        cases = [
            c for c in node.child_by_field_name("body").named_children if c.type == "case_statement"
        ]
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
        self.branch(
            frame,
            node,
            "default"
            if start is not None and cases[start].child_by_field_name("value") is None
            else (
                f"case {cases[start].child_by_field_name('value').text.decode()}"
                if start is not None
                else "none"
            ),
        )
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


def _short(value: Any) -> str:
    from patchlint.simulate.interpreter_expr import UNINIT
    from patchlint.simulate.world import describe

    if value is UNINIT:
        return "(uninitialised)"
    if isinstance(value, Obj | Ptr):
        return describe(value)
    text = describe(value)
    return text if len(text) < 40 else text[:37] + "..."
