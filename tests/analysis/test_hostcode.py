"""UML's host-built files are told from kernel code by the tree's Makefiles."""

from __future__ import annotations

from pathlib import Path

from patchlint.analysis.hostcode import is_host_code
from patchlint.analysis.kb import HostObjects, knowledge

RULES = "arch/um/scripts/Makefile.rules"


def _tree(tmp_path: Path, directory: str, makefile: str) -> Path:
    folder = tmp_path / directory
    folder.mkdir(parents=True)
    (folder / "Makefile").write_text(makefile, encoding="utf-8")
    return tmp_path


def test_user_objs_and_user_suffix_are_host_code(tmp_path: Path) -> None:
    spec = knowledge().host_objects
    root = _tree(
        tmp_path,
        "arch/um/os-Linux",
        "obj-y = irq.o file.o user_syms.o drivers/\n"
        "net-objs := net_kern.o net_user.o\n"
        "obj-$(CONFIG_NET) += net.o\n"
        "USER_OBJS := $(user-objs-y) irq.o \\\n\tfile.o\n"
        f"include $(srctree)/{RULES}\n",
    )
    host = [
        name
        for name in ("irq.c", "file.c", "net_user.c", "net_kern.c", "user_syms.c", "irq.h")
        if is_host_code(root, f"arch/um/os-Linux/{name}", spec)
    ]
    assert host == ["irq.c", "file.c", "net_user.c"]


def test_variable_expansion_and_no_rules_no_host_code(tmp_path: Path) -> None:
    spec = HostObjects("USER_OBJS", RULES, "_user.o")
    root = _tree(tmp_path, "a", f"obj-y := mem.o\nUSER_OBJS := $(obj-y)\ninclude {RULES}\n")
    _tree(tmp_path, "b", "obj-y := mem.o\nUSER_OBJS := $(obj-y)\n")
    assert is_host_code(root, "a/mem.c", spec)
    assert not is_host_code(root, "b/mem.c", spec)  # the host rules are not included
    assert not is_host_code(None, "a/mem.c", spec)
    assert not is_host_code(root, "c/mem.c", spec)  # no Makefile
