"""Replay a witness with gcc: compile each version with a generated harness that sets
the witness inputs, stubs the uninterpreted functions with the witness results, runs
the function and prints what it observably did.  Independent of the engine: only the
witness (names and values, as the report shows them) and the C text are used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from behaviour_pairs import Pair

from patchlint.behaviour import Witness
from patchlint.source import parse_c

GCC = shutil.which("gcc")
_TYPE_WORDS = {
    "int",
    "char",
    "long",
    "short",
    "unsigned",
    "signed",
    "float",
    "double",
    "void",
    "_Bool",
}
_CALL_RESULT = re.compile(r"^(?P<callee>.*)\(\) #(?P<k>\d+) returns$")
_OBJECT = re.compile(r"^&obj(?P<n>\d+)(?:\[(?P<i>-?\d+)\])?$")

PRELUDE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Kernel helpers some pairs use, with the kernel's semantics (include/linux/minmax.h). */
#define min_t(type, x, y) ({ type __x = (x); type __y = (y); __x < __y ? __x : __y; })
#define max_t(type, x, y) ({ type __x = (x); type __y = (y); __x > __y ? __x : __y; })
static unsigned char __obj[9][4096] __attribute__((aligned(64)));
#define __OBJ(n) ((void *)(__obj[n] + 2048))
static long long __results[64];
static int __calls;
static void __print_ll(long long v) { printf("%lld", v); }
static void __print_ull(unsigned long long v) { printf("%llu", v); }
static void __print_d(double v)
{
	unsigned long long b;
	memcpy(&b, &v, 8);
	printf("%a[%llx]", v, isnan(v) ? 0ULL : b);
}
static void __print_f(float v) { __print_d(v); }
static void __print_p(const void *p) {
	int n;
	if (!p) { printf("NULL"); return; }
	for (n = 0; n < 9; n++)
		if ((const unsigned char *)p >= __obj[n] && (const unsigned char *)p < __obj[n] + 4096) {
			printf("obj%d%+ld", n, (long)((const unsigned char *)p - (__obj[n] + 2048)));
			return;
		}
	printf("other");
}
static int __in_objects(const void *p)
{
	return (const unsigned char *)p >= __obj[0] && (const unsigned char *)p < __obj[9];
}
static void __dump_objects(void)
{
	for (int n = 0; n < 9; n++)
		for (int i = 0; i < 4096; i++)
			if (__obj[n][i])
				printf("obj%d[%d]=%d\n", n, i - 2048, __obj[n][i]);
}
#define __PRINT(x) _Generic((x), float: __print_f, double: __print_d, \
	unsigned long: __print_ull, unsigned long long: __print_ull, unsigned int: __print_ull, \
	default: __print_ll)(x)
"""


@dataclass
class Replay:
    before: str
    after: str
    before_crashed: bool
    after_crashed: bool
    skipped: str | None = None

    @property
    def differs(self) -> bool:
        return self.before != self.after or self.before_crashed != self.after_crashed


def _literal(value: int | float | str, type_text: str = "") -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        if value >= 1 << 63:
            return f"{value}ULL"
        if value < -(1 << 63) + 1:
            return f"(-{-value - 1}LL - 1)"
        return f"{value}LL"
    if isinstance(value, float):
        return "NAN" if value != value else value.hex()
    if value in ("nan", "-nan"):
        return "NAN"
    if value in ("inf", "-inf"):
        return "-INFINITY" if value.startswith("-") else "INFINITY"
    return value


def _pointer_value(lhs: str, value: str) -> str | None:
    if value == "NULL":
        return f"(__typeof__({lhs}))0"
    error = re.fullmatch(r"ERR_PTR\((-?\d+)\)", value)
    if error:
        return f"(__typeof__({lhs}))(long){error.group(1)}"
    match = _OBJECT.match(value)
    if match:
        index = match.group("i") or "0"
        return f"((__typeof__({lhs}))__OBJ({match.group('n')}) + {index})"
    return None


def _declarations(text: str, function: str) -> tuple[list[str], str, list[str]]:
    """Parameter declarations, the return type text, and external prototypes to stub."""
    source = parse_c(text, "replay.c")
    fn = source.function(function)
    assert fn is not None
    declarator = fn.node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    assert declarator is not None
    params_node = declarator.child_by_field_name("parameters")
    params = []
    for param in params_node.named_children if params_node else []:
        if param.type == "parameter_declaration" and source.node_text(param).strip() != "void":
            params.append(source.node_text(param).strip())
    ret = source.node_text(fn.node.child_by_field_name("type")).strip()
    if fn.node.child_by_field_name("declarator").type == "pointer_declarator":
        ret += " *"
    from patchlint.behaviour.symbols import model_layer

    # Functions the engine models (model.h) run from the C library in the replay.
    defined = {f.name for f in source.functions} | set(model_layer().functions)
    prototypes = []
    for node in source.tree.root_node.named_children:
        if node.type != "declaration":
            continue
        decl = node.child_by_field_name("declarator")
        inner = decl
        while inner is not None and inner.type == "pointer_declarator":
            inner = inner.child_by_field_name("declarator")
        if inner is not None and inner.type == "function_declarator":
            name_node = inner.child_by_field_name("declarator")
            name = source.node_text(name_node) if name_node is not None else ""
            if name and name not in defined:
                prototypes.append(source.node_text(node).strip())
    return params, ret, prototypes


def _param_name(declaration: str) -> str:
    match = re.search(r"\(\s*\*\s*(\w+)\s*\)|(\w+)\s*(?:\[\s*\])?\s*$", declaration)
    assert match, declaration
    return match.group(1) or match.group(2)


def _stub(prototype: str) -> str:
    """A definition for an external prototype: log the call, return the scripted result."""
    head = prototype.rstrip(";").strip()
    match = re.match(r"(?P<ret>.*?)\b(?P<name>\w+)\s*\((?P<params>.*)\)$", head, re.S)
    assert match, prototype
    ret, name, params_text = match.group("ret").strip(), match.group("name"), match.group("params")
    params = [p.strip() for p in params_text.split(",") if p.strip() and p.strip() != "void"]
    # Unnamed parameters ("int") get a name.
    params = [
        p
        if re.search(r"[\w\]]\s+\**\s*\w+$|\*\s*\w+$", p) and _param_name(p) not in _TYPE_WORDS
        else f"{p} a{i}"
        for i, p in enumerate(params)
    ]
    names = [_param_name(p) for p in params]
    body = [f'\tprintf("call {name}(");']
    for index, pname in enumerate(names):
        if index:
            body.append('\tprintf(", ");')
        if "*" in params[index]:
            body.append(f"\t__print_p({pname});")
            if "void" not in params[index] and "char" not in params[index]:
                body.append(
                    f"\tif ({pname} && !__in_objects({pname})) "
                    f'{{ printf("->"); __PRINT(*{pname}); }}'
                )
        else:
            body.append(f"\t__PRINT({pname});")
    body.append('\tprintf(")\\n");')
    body.append("\t__print_state();")
    if ret != "void":
        body.append(f"\treturn ({ret})__results[__calls++];")
    else:
        body.append("\t__calls++;")
    head = f"{ret} {name}({', '.join(params) or 'void'})"
    return f"{head}\n{{\n" + "\n".join(body) + "\n}\n"


def harness(pair: Pair, which: str, witness: Witness) -> str | None:
    text = pair.version(which)
    params, ret, prototypes = _declarations(text, pair.function)
    param_names = [_param_name(p) for p in params]
    lines: list[str] = []
    setup_pointers: list[tuple[int, str]] = []
    setup_values: list[tuple[int, str]] = []
    stubs: list[str] = []
    for name, value in witness.inputs:
        call = _CALL_RESULT.match(name)
        if call:
            lines.append(f"\t__results[{int(call.group('k')) - 1}] = {_literal(value)};")
            continue
        if " after " in name:
            return None  # memory changed by a stub: not replayed
        lhs = name
        if isinstance(value, str) and value.lstrip("-") in ("nan", "inf"):
            value_text = _literal(value)
            setup_values.append((0, f"\t{lhs} = {value_text};"))
            continue
        if isinstance(value, str):
            pointer = _pointer_value(lhs, value)
            if pointer is None:
                # A function pointer parameter: point it at a logging stub.
                decl = next((p for p in params if _param_name(p) == lhs), None)
                if decl is None:
                    return None
                stub_name = f"__stub_{lhs}"
                stub_proto = decl.replace(f"(*{lhs})", stub_name).replace(f"( *{lhs})", stub_name)
                stubs.append(
                    _stub(stub_proto + ";").replace(f"call {stub_name}(", f"call (*{lhs})(")
                )
                setup_pointers.append((0, f"\t{lhs} = {stub_name};"))
                continue
            setup_pointers.append((lhs.count("->") + lhs.count("["), f"\t{lhs} = {pointer};"))
        else:
            literal = _literal(value)
            setup_values.append(
                (
                    0,
                    f"\tmemcpy((void *)&({lhs}), &(__typeof__({lhs})){{ {literal} }}, "
                    f"sizeof({lhs}));",
                )
            )
    setup_pointers.sort(key=lambda item: item[0])
    body = [f"\t{p};" for p in params]
    body += [line for _, line in setup_pointers] + [line for _, line in setup_values] + lines
    call = f"{pair.function}({', '.join(param_names)})"
    if ret.strip() == "void":
        body.append(f"\t{call};")
    elif "*" in ret:
        body.append(f'\tprintf("return "); __print_p({call}); printf("\\n");')
    else:
        body.append(f'\t{{ {ret} __r = {call}; printf("return "); __PRINT(__r); printf("\\n"); }}')
    body.append("\t__dump_objects();")
    globals_text = _globals(text)
    for global_name in globals_text:
        body.append(f'\tprintf("{global_name}="); __PRINT({global_name}); printf("\\n");')
    state = ["static void __print_state(void)", "{"]
    for global_name in globals_text:
        state.append(f'\tprintf("  {global_name}="); __PRINT({global_name}); printf("\\n");')
    state.append("\t__dump_objects();")
    state.append("}")
    stub_text = "\n".join(state) + "\n" + "\n".join(_stub(p) for p in prototypes)
    return (
        PRELUDE
        + text
        + "\n"
        + stub_text
        + "\n".join(stubs)
        + "\nint main(void)\n{\n"
        + "\n".join(body)
        + "\n\treturn 0;\n}\n"
    )


def _globals(text: str) -> list[str]:
    source = parse_c(text, "replay.c")
    names = []
    for node in source.tree.root_node.named_children:
        if node.type != "declaration":
            continue
        decl = node.child_by_field_name("declarator")
        if decl is not None and decl.type == "identifier":
            names.append(source.node_text(decl))
    return names


def run_version(code: str, workdir: Path, tag: str) -> tuple[str, bool]:
    assert GCC is not None
    source = workdir / f"{tag}.c"
    binary = workdir / tag
    source.write_text(code)
    flags = [
        "-O0",
        "-w",
        "-fwrapv",
        "-fno-strict-aliasing",
        "-fsanitize=undefined",
        "-fno-sanitize-recover=all",
        "-fno-sanitize=signed-integer-overflow,shift-base,alignment",
    ]
    built = subprocess.run(
        [GCC, *flags, "-o", str(binary), str(source), "-lm"], capture_output=True, text=True
    )
    if built.returncode != 0:
        raise AssertionError(f"harness does not compile:\n{built.stderr[:3000]}\n{code}")
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=10)
    return done.stdout, done.returncode != 0


def replay(pair: Pair, witness: Witness) -> Replay:
    codes = {which: harness(pair, which, witness) for which in ("before", "after")}
    if codes["before"] is None or codes["after"] is None:
        return Replay("", "", False, False, skipped="the witness needs memory changed by a callee")
    with tempfile.TemporaryDirectory(prefix="patchlint-replay-") as tmp:
        out_b, crash_b = run_version(codes["before"], Path(tmp), "before")
        out_a, crash_a = run_version(codes["after"], Path(tmp), "after")
    return Replay(out_b, out_a, crash_b, crash_a)
