"""The repair pass: kernel macros no list names, recognised by shape where the parse fails."""

from __future__ import annotations

import pytest

from patchlint.source import normalise, parse_c


def _errors(node) -> list[tuple[int, int]]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            found.append(tuple(current.start_point))
        stack.extend(current.children)
    return found


def _parsed(src: str):
    """Parse ``src``; positions and newlines kept, no error left."""
    out = normalise(src).text
    assert len(out) == len(src) and len(out.encode()) == len(src.encode())
    assert [i for i, c in enumerate(out) if c == "\n"] == [
        i for i, c in enumerate(src) if c == "\n"
    ]
    parsed = parse_c(src, "t.c")
    assert _errors(parsed.tree.root_node) == [], parsed.normalised.text
    return parsed


def _construct(parsed, kind: str, name: str):
    found = [c for c in parsed.constructs if c.kind == kind and c.name == name]
    assert found, [(c.kind, c.name) for c in parsed.constructs]
    return found[0]


def _body(statements: str) -> str:
    return "static int f(struct req *req)\n{\n" + statements + "\treturn 0;\n}\n"


TYPE_ARGUMENTS = {
    "tag": ("\tstruct io_rw *rw = io_kiocb_to_cmd(req, struct io_rw);\n", "io_kiocb_to_cmd"),
    "primitive": ("\tlong v = PVOP_CALL0(unsigned long, cpu.read_cr0);\n", "PVOP_CALL0"),
    "pointer": (
        "\tvoid *p = DECLARE_SOCKADDR(struct sockaddr_in *, sin, msg);\n",
        "DECLARE_SOCKADDR",
    ),
    "typedef pointer": ("\tx = FIELD_PEEK(u8 *, req, 4);\n", "FIELD_PEEK"),
    "on the next line": ("\tm = container_of(t, struct\n\t\t\t foo_bar, node);\n", "container_of"),
}


@pytest.mark.parametrize("case", sorted(TYPE_ARGUMENTS))
def test_type_arguments(case: str) -> None:
    statement, macro = TYPE_ARGUMENTS[case]
    parsed = _parsed(_body(statement))
    assert _construct(parsed, "type_arg", macro).line == 3


def test_loop_macros_by_shape() -> None:
    parsed = _parsed(
        _body(
            "\tskb_queue_walk(&q->list, skb) {\n\t\tkfree(skb);\n\t}\n"
            "\tNCSI_FOR_EACH_PACKAGE(ndp, np)\n\t\tcount++;\n"
            "\tfor_other_threads(p, t)\n\t\tcount++;\n"
        )
    )
    loops = [n for n in parsed.functions[0].body.children if n.type == "for_statement"]
    assert len(loops) == 3
    assert _construct(parsed, "iterator", "skb_queue_walk").args == ("&q->list", "skb")
    assert _construct(parsed, "iterator", "for_other_threads").args == ("p", "t")
    assert parsed.node_text(loops[1]).startswith("NCSI_FOR_EACH_PACKAGE(ndp, np)")


def test_statement_macros() -> None:
    parsed = _parsed(
        _body(
            "\tHARDIRQ_EXIT()\n\tcount++;\n"
            "\tnvkm_msec(device, 2000,\n\t\tif (nvkm_rd32(device, 0x100) == 1)\n"
            "\t\t\tbreak;\n\t);\n"
            "\tIO_COND(addr, return inb(port), return readb(addr));\n"
            "\tXDP_METADATA_KFUNC_xxx\n"
            "\tDEFINE_OUTPUT_BODY(a, b,\n\t\t\tc)\n"
        )
    )
    names = {c.name for c in parsed.constructs if c.kind == "statement_macro"}
    assert {"HARDIRQ_EXIT", "nvkm_msec", "IO_COND", "XDP_METADATA_KFUNC_xxx"} <= names
    assert "DEFINE_OUTPUT_BODY" in names
    # The statements inside a statement-argument macro stay visible.
    assert "readb" in {site.name for site in _calls(parsed)}


def _calls(parsed):
    from patchlint.source import calls_in

    return calls_in(parsed, parsed.functions[0])


def test_attribute_macros_in_function_heads() -> None:
    parsed = _parsed(
        "STATIC int\nxfs_alloc(void)\n{\n\treturn 0;\n}\n"
        "static ieee80211_rx_result debug_noinline\nrx_h(struct rx *rx)\n{\n\treturn 1;\n}\n"
        "MEM_STATIC void*\nzstd_ptr(void)\n{\n\treturn 0;\n}\n"
        "static __le32 FOO_ATTR le_get(void)\n{\n\treturn 0;\n}\n"
    )
    assert [f.name for f in parsed.functions] == ["xfs_alloc", "rx_h", "zstd_ptr", "le_get"]
    blanked = {c.name for c in parsed.constructs if c.kind == "attribute"}
    assert {"STATIC", "debug_noinline", "MEM_STATIC", "FOO_ATTR"} <= blanked
    assert "ieee80211_rx_result" not in blanked and "__le32" not in blanked


def test_macros_next_to_strings() -> None:
    parsed = _parsed(
        _body(
            '\tprintk(KERN_ERR PFX "gpios not assigned\\n");\n'
            '\tprint_hex_dump("buf@" __stringify(__LINE__) ": ", 1);\n'
        )
    )
    assert _construct(parsed, "string_macro", "KERN_ERR")
    assert _construct(parsed, "string_macro", "__stringify").args == ("__LINE__",)


def test_inline_asm_with_macros() -> None:
    parsed = _parsed(
        "static long hypercall(unsigned int nr)\n{\n\tlong ret;\n"
        '\tasm volatile(KVM_HYPERCALL : "=a"(ret) : "a"(nr) : "memory");\n'
        '\tasm volatile("1: rdmsr" : EAX_EDX_RET(val, low, high) : "c" (msr));\n'
        '\tasm("btl %2,%1" CC_SET(c) : CC_OUT(c) (v) : "m" (*p), ASM_INPUT_RM (nr));\n'
        '\tasm_inline volatile("nop" ::: "memory");\n'
        '\tregister unsigned long rax asm("rax") = nr;\n'
        "\treturn ret;\n}\n"
    )
    assert len([c for c in parsed.constructs if c.kind == "inline_asm"]) >= 3
    assert _construct(parsed, "asm_label", "asm")


def test_typeof_and_type_macro_declarations() -> None:
    parsed = _parsed(
        _body(
            "\ttypeof(req->flags) flags = 0;\n"
            "\tDARRAY_PREALLOCATED(struct scatterlist, 4) sgl;\n"
            "\t__typeof__(*req) copy;\n"
        )
    )
    assert _construct(parsed, "type_macro", "typeof").args == ("req->flags",)
    assert _construct(parsed, "type_macro", "DARRAY_PREALLOCATED")


def test_conditionals_inside_failing_declarations_are_flattened() -> None:
    parsed = _parsed(
        _body(
            "\tint table[] = {\n\t\t1,\n#ifdef CONFIG_X\n\t\t2,\n#endif\n\t};\n"
            "\tif (table[0])\n\t\tgoto out;\n\tcount++;\nout:\n#ifdef CONFIG_Y\n"
            "\tcount++;\n#endif\n"
        )
    )
    assert [c.args for c in parsed.constructs if c.kind == "preprocessor"]


def test_odd_arguments() -> None:
    parsed = _parsed(
        _body(
            "\tr = __arch_cmpxchg64(ptr, old, new,);\n"
            "\toutl(r, ES_REG(ensoniq, 1371_SMPRATE));\n"
            "\tcfg = X86_CONFIG(.event=0xc0, .umask=0x01);\n"
            "\tn = 16 KB;\n"
            "\tprintk(KERN_DEFAULT CUT_HERE);\n"
        )
    )
    assert _construct(parsed, "unit_macro", "KB")
    assert _construct(parsed, "list_macro", "KERN_DEFAULT")


def test_declarations_with_attribute_macros() -> None:
    parsed = _parsed(
        _body("\tstruct hvsi_query packet __ALIGNED__;\n\tint __outvar valid;\n\tpacket.x = 1;\n")
    )
    blanked = {c.name for c in parsed.constructs if c.kind == "attribute"}
    assert {"__ALIGNED__", "__outvar"} <= blanked


def test_file_scope_macros_without_semicolon() -> None:
    parsed = _parsed(
        "static int handler(int x)\n{\n\treturn x;\n}\nNOKPROBE_SYMBOL(handler)\n"
        "\nstatic void after(void)\n{\n}\n"
        "BTF_SET_START(hooks)\nBTF_ID(func, handler)\nBTF_SET_END(hooks)\n"
    )
    assert [f.name for f in parsed.functions] == ["handler", "after"]


def test_computed_goto_is_recorded() -> None:
    parsed = _parsed(_body("\tstatic void *table[] = { &&a };\n\tgoto *table[0];\na:\n"))
    assert _construct(parsed, "computed_goto", "goto")


def test_repair_keeps_byte_offsets_after_non_ascii() -> None:
    src = "/* Jörg’s driver */\n" + _body("\tx = io_kiocb_to_cmd(req, struct io_rw); /* é */\n")
    parsed = _parsed(src)
    construct = _construct(parsed, "type_arg", "io_kiocb_to_cmd")
    assert parsed.data[construct.start : construct.end].decode().startswith("io_kiocb_to_cmd(")


def test_code_that_parses_is_left_alone() -> None:
    src = _body("\tx = call(a, b);\n\ty = (struct foo *)x;\n\tz = sizeof(struct foo);\n")
    assert normalise(src).text == src


def test_a_macro_that_breaks_a_whole_file_is_found_far_from_the_error() -> None:
    """One unknown macro can make tree-sitter swallow the rest of the file in one
    ERROR node; the last round looks further into it than the first lines."""
    cases = "".join(f"\tN(EVENT_{i}) N(OTHER_{i})\n" for i in range(12))
    src = (
        "const char *name(int cmd)\n{\n#define N(val) case val: return #val;\n"
        "\tswitch (cmd) {\n"
        + cases
        + "\tN(LAST)\n\t}\n#undef N\n\treturn NULL;\n}\n"
        + "".join(f"static int f{i}(void)\n{{\n\treturn {i};\n}}\n" for i in range(30))
    )
    parsed = parse_c(src, "t.c")
    assert len(parsed.functions) == 31
    assert sum(f.has_errors for f in parsed.functions) <= 1


def test_macros_among_struct_members_are_not_statements() -> None:
    """`randomized_struct_fields_start` in struct task_struct: blanked, never a block."""
    # The function after the struct fails too, so the struct is repaired with it.
    parsed = _parsed(
        "struct task {\n\tint a;\n\trandomized_struct_fields_start\n\tint b;\n"
        "\trandomized_struct_fields_end\n\tint c;\n};\n"
        "int f(struct task *t)\n{\n\tskb_queue_walk(q, s) {\n\t\tt->b++;\n\t}\n"
        "\treturn t->b;\n}\n"
    )
    kinds = {c.name: c.kind for c in parsed.constructs}
    assert kinds["randomized_struct_fields_start"] == "attribute"
    assert kinds["randomized_struct_fields_end"] == "attribute"
    fields = parsed.tree.root_node.children[0].child_by_field_name("body")
    assert [n.type for n in fields.named_children] == ["field_declaration"] * 3


def test_call_shaped_macros_among_struct_members_are_members_not_blocks() -> None:
    """No `;` after a macro among members: a type before a name, or blanked; never the
    `{ }` or loop a statement macro becomes (a block cannot stand among members)."""
    parsed = _parsed(
        "struct task {\n\tint a;\n\tKABI_RESERVE(1)\n\tint b;\n\tTYPE_OF(u32) c;\n"
        "\tDECLARE_THING(x, 3)\n};\n"
        "int f(struct task *t)\n{\n\tskb_queue_walk(q, s) {\n\t\tt->b++;\n\t}\n"
        "\treturn t->b;\n}\n"
    )
    kinds = {c.name: c.kind for c in parsed.constructs}
    assert kinds == {
        "KABI_RESERVE": "attribute",
        "TYPE_OF": "type_macro",
        "DECLARE_THING": "attribute",
        "skb_queue_walk": "iterator",
    }
    fields = parsed.tree.root_node.children[0].child_by_field_name("body")
    assert [n.type for n in fields.named_children] == ["field_declaration"] * 3
    assert not parsed.tree.root_node.has_error


def test_defines_between_the_rows_of_a_table_are_blanked() -> None:
    """`#define ROW(...)` and `#undef` inside an initialiser list (lib/test_bpf.c):
    blanked in the first pass, so the table and the functions after it parse; a
    `#define` in a function body stays (tree-sitter-c takes it as a statement)."""
    rows = "".join(f"\t{{ {i}, {i} }},\n" for i in range(40))
    parsed = _parsed(
        "static const struct t tests[] = {\n" + rows + "#define ROW(a) \\\n\t{ a, a },\n"
        "\tROW(3),\n#undef ROW\n#undef OTHER\n" + rows + "};\n"
        "int f(void)\n{\n#define IN_BODY 2\n\treturn IN_BODY;\n}\n"
    )
    assert not parsed.tree.root_node.has_error
    assert [(c.kind, c.name) for c in parsed.constructs] == [
        ("preprocessor", "#define"),
        ("preprocessor", "#undef"),
    ]
    (function,) = parsed.functions
    body = function.node.child_by_field_name("body")
    assert body is not None and body.named_children[0].type == "preproc_def"
