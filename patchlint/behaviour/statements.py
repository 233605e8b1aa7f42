"""Statements: blocks, declarations, branches, loops unrolled to a bound, switch, goto.

``goto`` unwinds to the innermost block holding the label and resumes there;
entering a statement "seeking" a label skips everything before it, including
into the body of a loop or an ``if`` (C allows jumping into them).
"""

from __future__ import annotations

from tree_sitter import Node

from . import smt
from .ctype import ArrayType, RecordType, UnknownType
from .declarations import Unsupported, const_eval, declaration_types, text
from .expressions import ExpressionMixin
from .initialise import array_length, initialise_object
from .machine import (
    BreakSignal,
    ContinueSignal,
    Fault,
    GotoSignal,
    MemRef,
    PathCut,
    ReturnSignal,
)
from .values import IntV, Value, convert, int_const, truth

_SKIP = frozenset({"comment", ";", "empty_statement", "type_definition", "struct_specifier"})
_SKIP |= {
    "union_specifier",
    "enum_specifier",
    "preproc_call",
    "preproc_def",
    "preproc_function_def",
}
_LOOPS = frozenset({"while_statement", "do_statement", "for_statement"})
CONCRETE_LOOP_CAP = 512


def contains_label(node: Node, label: str) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if (
            current.type == "labeled_statement"
            and text(current.child_by_field_name("label")) == label
        ):
            return True
        if current.type in ("function_definition",):
            continue
        stack.extend(current.named_children)
    return False


class StatementMixin(ExpressionMixin):
    def run_cleanups(self, scope_cleanups: list[tuple[str, tuple[Value, ...], int]]) -> None:
        raise NotImplementedError

    def exec_statement(self, node: Node, seek: str | None = None) -> None:
        self.tick()
        kind = node.type
        if kind in _SKIP:
            return
        if kind == "compound_statement":
            self.exec_block(node, seek)
        elif kind == "expression_statement":
            if seek is None:
                for child in node.named_children:
                    if child.type != "comment":
                        self.eval(child)
        elif kind == "declaration":
            if seek is None:
                self.exec_declaration(node)
        elif kind == "if_statement":
            self.exec_if(node, seek)
        elif kind in _LOOPS:
            self.exec_loop(node, seek)
        elif kind == "switch_statement":
            self.exec_switch(node, seek)
        elif kind == "return_statement":
            self.exec_return(node)
        elif kind == "break_statement":
            raise BreakSignal()
        elif kind == "continue_statement":
            raise ContinueSignal()
        elif kind == "goto_statement":
            raise GotoSignal(text(node.child_by_field_name("label")))
        elif kind == "labeled_statement":
            inner = node.child_by_field_name("statement") or _last_named(node)
            label = text(node.child_by_field_name("label"))
            if inner is not None:
                self.exec_statement(inner, None if seek == label else seek)
        elif kind in ("preproc_if", "preproc_ifdef"):
            self.exec_conditional(node, seek)
        elif kind in ("gnu_asm_expression", "asm_statement"):
            raise Unsupported(f"inline assembly at line {node.start_point[0] + 1}")
        elif kind == "attributed_statement":
            inner = _last_named(node)
            if inner is not None:
                self.exec_statement(inner, seek)
        else:
            raise Unsupported(
                f"statement {kind.replace('_', ' ')} at line {node.start_point[0] + 1}"
            )

    # -- blocks ---------------------------------------------------------------------
    def exec_block(self, node: Node, seek: str | None = None) -> None:
        children = [c for c in node.named_children if c.type not in ("comment",)]
        self.frame.scopes.append({})
        self.frame.cleanups.append([])
        try:
            self._run_children(children, seek)
        finally:
            self.frame.scopes.pop()
            self.run_cleanups(self.frame.cleanups.pop())

    def _run_children(self, children: list[Node], seek: str | None) -> None:
        index = 0
        jumps = 0
        if seek is not None:
            index = self._label_index(children, seek)
        while index < len(children):
            child = children[index]
            try:
                self.exec_statement(child, seek)
                seek = None
                index += 1
            except GotoSignal as jump:
                target = self._label_index(children, jump.label, missing=-1)
                if target < 0:
                    raise
                jumps += 1
                if jumps > self.loop_bound:
                    raise PathCut(
                        f"goto {jump.label} taken more than {self.loop_bound} times"
                    ) from None
                index = target
                seek = jump.label

    def _label_index(self, children: list[Node], label: str, missing: int | None = None) -> int:
        for index, child in enumerate(children):
            if contains_label(child, label):
                return index
        if missing is not None:
            return missing
        raise Unsupported(f"label {label} not found")

    def statement_expression(self, body: Node) -> Value:
        """GNU ``({ ...; value; })``: the value of the last expression statement."""
        children = [c for c in body.named_children if c.type != "comment"]
        self.frame.scopes.append({})
        self.frame.cleanups.append([])
        try:
            if children and children[-1].type == "expression_statement":
                self._run_children(children[:-1], None)
                last = [c for c in children[-1].named_children if c.type != "comment"]
                if not last:
                    return int_const(0)
                return self.eval(last[0])
            self._run_children(children, None)
            return int_const(0)
        finally:
            self.frame.scopes.pop()
            self.run_cleanups(self.frame.cleanups.pop())

    # -- declarations ------------------------------------------------------------
    def exec_declaration(self, node: Node) -> None:
        storage = {text(c) for c in node.children if c.type == "storage_class_specifier"}
        self.check_declaration_constructs(node)
        for declared, init in declaration_types(self.frame.symbols, node):
            name = declared.name
            if name is None:
                continue
            ctype = declared.ctype
            if "extern" in storage or (
                not isinstance(ctype, ArrayType) and ctype.__class__.__name__ == "FunctionType"
            ):
                continue
            if "static" in storage:
                self.declare_static_local(name, ctype, init)
                continue
            if isinstance(ctype, UnknownType):
                raise Unsupported(f"local {name} of unresolved type {ctype}")
            if isinstance(ctype, ArrayType) and init is not None:
                ctype = array_length(self, ctype, init)
            var = self.declare(name, ctype, name in self.frame.address_taken)
            if init is None:
                continue
            if var.obj is not None:
                initialise_object(self, var.obj, ctype, init)
            elif init.type == "initializer_list":
                items = [c for c in init.named_children if c.type != "comment"]
                first = self.materialise(self.eval(items[0]), ctype) if items else int_const(0)
                var.value = convert(first, ctype)
            else:
                var.value = convert(self.materialise(self.eval(init), ctype), ctype)
            self.after_declaration(var.name, node)

    def check_declaration_constructs(self, node: Node) -> None:
        raise NotImplementedError

    def after_declaration(self, name: str, node: Node) -> None:
        raise NotImplementedError

    def declare_static_local(self, name: str, ctype: object, init: Node | None) -> None:
        raise NotImplementedError

    # -- control flow --------------------------------------------------------------
    def exec_if(self, node: Node, seek: str | None) -> None:
        consequence = node.child_by_field_name("consequence")
        alternative = node.child_by_field_name("alternative")
        if alternative is not None and alternative.type == "else_clause":
            alternative = _last_named(alternative)
        if seek is not None:
            if consequence is not None and contains_label(consequence, seek):
                self.exec_statement(consequence, seek)
            elif alternative is not None:
                self.exec_statement(alternative, seek)
            return
        condition = node.child_by_field_name("condition")
        if condition is None:
            raise Unsupported(f"if without a condition at line {node.start_point[0] + 1}")
        taken = self.branch(truth(self.condition_value(condition)), node)
        if taken:
            if consequence is not None:
                self.exec_statement(consequence)
        elif alternative is not None:
            self.exec_statement(alternative)

    def condition_value(self, node: Node) -> Value:
        if node.type == "parenthesized_expression":
            inner = [c for c in node.named_children if c.type != "comment"]
            if len(inner) == 1 and inner[0].type != "compound_statement":
                return self.condition_value(inner[0])
        if node.type == "declaration":
            raise Unsupported("declaration in a condition")
        return self.eval(node)

    def exec_loop(self, node: Node, seek: str | None) -> None:
        if self.special_loop(node, seek):
            return
        kind = node.type
        body = node.child_by_field_name("body")
        condition = node.child_by_field_name("condition")
        update = node.child_by_field_name("update")
        where = f"loop at line {node.start_point[0] + 1}"
        self.frame.scopes.append({})
        self.frame.cleanups.append([])
        try:
            if kind == "for_statement" and seek is None:
                initializer = node.child_by_field_name("initializer")
                if initializer is not None:
                    if initializer.type == "declaration":
                        self.exec_declaration(initializer)
                    else:
                        self.eval(initializer)
            # Iterations decided by a symbolic condition count against the unrolling
            # bound; a condition the path fixes only against a large safety cap.
            symbolic = 0
            total = 0
            first = True
            while True:
                entering_body = seek is not None and body is not None and contains_label(body, seek)
                test = (not first or kind != "do_statement") and not entering_body
                if test:
                    if condition is None:
                        if total >= self.loop_bound:
                            raise PathCut(
                                f"{where} runs past the unrolling bound ({self.loop_bound})"
                            )
                    else:
                        cond = smt.simplify_bool(truth(self.condition_value(condition)))
                        if smt.is_true(cond):
                            if total >= CONCRETE_LOOP_CAP:
                                raise PathCut(f"{where} runs more than {CONCRETE_LOOP_CAP} times")
                        elif smt.is_false(cond):
                            break
                        else:
                            if not self.decider.decide_loop(
                                cond, where, symbolic >= self.loop_bound
                            ):
                                break
                            symbolic += 1
                first = False
                total += 1
                try:
                    if body is not None:
                        self.exec_statement(body, seek if entering_body else None)
                    seek = None
                except BreakSignal:
                    break
                except ContinueSignal:
                    seek = None
                if update is not None:
                    self.eval(update)
        finally:
            self.frame.scopes.pop()
            self.run_cleanups(self.frame.cleanups.pop())

    def special_loop(self, node: Node, seek: str | None) -> bool:
        raise NotImplementedError

    def exec_conditional(self, node: Node, seek: str | None) -> None:
        raise NotImplementedError

    def exec_switch(self, node: Node, seek: str | None) -> None:
        body = node.child_by_field_name("body")
        if body is None:
            return
        cases = [c for c in body.named_children if c.type != "comment"]
        start: int | None = None
        if seek is not None:
            start = self._label_index(cases, seek)
        else:
            condition = node.child_by_field_name("condition")
            if condition is None:
                raise Unsupported("switch without a controlling expression")
            start = self._switch_target(self.condition_value(condition), cases, node)
        if start is None:
            return
        self.frame.scopes.append({})
        self.frame.cleanups.append([])
        try:
            for index in range(start, len(cases)):
                case = cases[index]
                statements = [c for c in _case_statements(case)]
                try:
                    self._run_children(statements, seek if index == start else None)
                    seek = None
                except GotoSignal as jump:
                    target = self._label_index(cases, jump.label, missing=-1)
                    if target < 0:
                        raise
                    raise Unsupported("goto between the cases of a switch") from None
        except BreakSignal:
            pass
        finally:
            self.frame.scopes.pop()
            self.run_cleanups(self.frame.cleanups.pop())

    def _switch_target(self, value: Value, cases: list[Node], node: Node) -> int | None:
        if not isinstance(value, IntV):
            raise Unsupported(f"switch on {value.ctype}")
        from .ctype import promote

        ctype = promote(value.ctype)
        scrutinee = convert(value, ctype)
        assert isinstance(scrutinee, IntV)
        default: int | None = None
        for index, case in enumerate(cases):
            if case.type != "case_statement":
                continue
            value_node = case.child_by_field_name("value")
            if value_node is None:
                default = index
                continue
            low, high = self._case_range(case, value_node)
            low_bv = smt.bv_val(low, ctype.bits)
            if high is None:
                hit = smt.eq(scrutinee.expr, low_bv)
            else:
                high_bv = smt.bv_val(high, ctype.bits)
                compare = smt.sle if ctype.signed else smt.ule
                hit = smt.conj(compare(low_bv, scrutinee.expr), compare(scrutinee.expr, high_bv))
            if self.branch(hit, case):
                return index
        return default

    def _case_range(self, case: Node, value_node: Node) -> tuple[int, int | None]:
        low = const_eval(self.frame.symbols, value_node)
        if low is None:
            raise Unsupported(f"case label {text(value_node)} is not a constant we can read")
        # GNU case ranges ("case 1 ... 5:") reach us with the dots blanked by the front end.
        constructs = self.frame.symbols.file.source.normalised.constructs
        if any(c.kind == "case_range" and c.start == case.start_byte for c in constructs):
            original = self.frame.symbols.file.source.node_text(case)
            parts = original.split("...")
            if len(parts) == 2:
                from .symbols import parse_snippet

                high_node = parse_snippet(parts[1].rstrip().rstrip(":"))
                high = const_eval(self.frame.symbols, high_node) if high_node is not None else None
                if high is None:
                    raise Unsupported("case range with a bound we cannot read")
                return low, high
        return low, None

    def exec_return(self, node: Node) -> None:
        values = [c for c in node.named_children if c.type != "comment"]
        if not values:
            raise ReturnSignal(None)
        value = self.eval(values[0])
        ret_type = self.frame.return_type
        if not isinstance(ret_type, UnknownType) and ret_type.__class__.__name__ != "VoidType":
            value = convert(self.materialise(value, ret_type), ret_type)
        raise ReturnSignal(value)


def _case_statements(case: Node) -> list[Node]:
    if case.type != "case_statement":
        return [case]
    value = case.child_by_field_name("value")
    out = []
    for child in case.named_children:
        if child.type == "comment" or (value is not None and child.id == value.id):
            continue
        out.append(child)
    return out


def _last_named(node: Node) -> Node | None:
    named = [c for c in node.named_children if c.type != "comment"]
    return named[-1] if named else None


__all__ = ["Fault", "MemRef", "RecordType", "StatementMixin", "contains_label"]
