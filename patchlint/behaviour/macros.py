"""Macros: those of the file and of the model are expanded, object-like header macros
too (constants such as PAGE_SIZE keep their C type that way); function-like header
macros stay uninterpreted calls, except inside the expansion of a header constant.

Expansion is by name (each parameter is the argument's expression, evaluated where
it is used) unless the body pastes or stringifies tokens, in which case the argument
texts are substituted into the body as the preprocessor would.  A macro is not
expanded again inside its own expansion (C11 6.10.3.4).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from .declarations import Unsupported, text
from .machine import Frame, MacroArg
from .statements import StatementMixin
from .symbols import Macro, parse_snippet
from .values import Value, int_const

_TOKEN = re.compile(r"##|#|\w+|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\s+|.", re.S)
MAX_MACRO_DEPTH = 24


def substitute(macro: Macro, args: list[str]) -> str:
    """The body of ``macro`` with argument texts substituted, # and ## applied."""
    params = list(macro.params or ())
    bound = dict(zip(params, args, strict=False))
    if macro.variadic:
        bound["__VA_ARGS__"] = ", ".join(args[len(params) :])
    tokens = [m.group() for m in _TOKEN.finditer(macro.body)]
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "#" and index + 1 < len(tokens):
            following = index + 1
            while following < len(tokens) and tokens[following].isspace():
                following += 1
            if following < len(tokens) and tokens[following] in bound:
                literal = bound[tokens[following]].strip().replace("\\", "\\\\").replace('"', '\\"')
                out.append(f'"{literal}"')
                index = following + 1
                continue
        if token == "##":
            while out and out[-1].isspace():
                out.pop()
            index += 1
            while index < len(tokens) and tokens[index].isspace():
                index += 1
            if index < len(tokens):
                out.append(bound.get(tokens[index], tokens[index]).strip())
                index += 1
            continue
        out.append(bound.get(token, token))
        index += 1
    return "".join(out)


class MacroMixin(StatementMixin):
    def find_macro(self, name: str, object_like: bool) -> Macro | None:
        if name in self.expanding:
            return None
        for layer in self.frame.symbols.layers():
            macro = layer.macros.get(name)
            if macro is not None:
                return macro if (macro.params is None) == object_like else None
        macro = self.frame.symbols.macro(name)
        if macro is None or (macro.params is None) != object_like:
            return None
        if object_like or self.header_constant_depth > 0:
            return macro
        return None

    def expand_object_macro(self, macro: Macro, node: Node) -> Value:
        from_header = self.frame.symbols.file.macros.get(macro.name) is None and not any(
            layer.macros.get(macro.name) is macro for layer in self.frame.symbols.layers()
        )
        if from_header:
            self.header_constant_depth += 1
        try:
            body = parse_snippet(substitute(macro, [])) if macro.body else None
            if body is None:
                raise Unsupported(f"macro {macro.name}")
            return self._expand(macro, body, {}, node)
        finally:
            if from_header:
                self.header_constant_depth -= 1

    def expand_call_macro(self, macro: Macro, args: list[Node], node: Node) -> Value:
        assert macro.params is not None
        if len(args) < len(macro.params) or (len(args) > len(macro.params) and not macro.variadic):
            if not (len(macro.params) == 1 and not args):
                raise Unsupported(f"macro {macro.name} called with {len(args)} arguments")
        if "#" in macro.body or macro.variadic:
            body = parse_snippet(
                substitute(macro, [self.argument_text(a, self.frame) for a in args])
            )
            if body is None:
                raise Unsupported(f"macro {macro.name} (its expansion is not C we read)")
            return self._expand(macro, body, {}, node)
        body = parse_snippet(macro.body) if macro.body else None
        if body is None:
            raise Unsupported(f"macro {macro.name} (body not parsed as C)")
        bindings = {
            param: MacroArg(arg, self.frame) for param, arg in zip(macro.params, args, strict=False)
        }
        return self._expand(macro, body, bindings, node)

    def argument_text(self, node: Node, frame: Frame, depth: int = 0) -> str:
        """An argument's text with the enclosing macro's parameters replaced by theirs."""
        raw = text(node)
        if not frame.macro_args or depth > MAX_MACRO_DEPTH:
            return raw
        out = []
        for token in _TOKEN.finditer(raw):
            bound = frame.macro_args.get(token.group())
            out.append(
                self.argument_text(bound.node, bound.frame, depth + 1) if bound else token.group()
            )
        return "".join(out)

    def _expand(self, macro: Macro, body: Node, bindings: dict[str, MacroArg], node: Node) -> Value:
        caller = self.frame
        if len(self.expanding) > MAX_MACRO_DEPTH:
            raise Unsupported(f"macro expansion deeper than {MAX_MACRO_DEPTH} at {macro.name}")
        frame = Frame(
            f"macro {macro.name}",
            caller.symbols,
            caller.return_type,
            scopes=caller.scopes,
            macro_args=bindings,
            address_taken=caller.address_taken,
            cleanups=caller.cleanups,
            source=None,
        )
        self.frames.append(frame)
        self.expanding.append(macro.name)
        try:
            if body.type in (
                "compound_statement",
                "do_statement",
                "if_statement",
                "expression_statement",
            ):
                self.exec_statement(body)
                return int_const(0)
            return self.eval(body)
        finally:
            self.expanding.pop()
            self.frames.pop()
