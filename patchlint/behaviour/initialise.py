"""Initialisers: ``T x = e``, ``= {...}`` with designators, ``char s[] = "..."``.

An object named in an initialiser list is first zeroed as a whole (C11 6.7.9:
members not named are initialised as if static, that is to zero).
"""

from __future__ import annotations

from tree_sitter import Node

from . import smt
from .access import AccessMixin
from .ctype import CHAR, AnyType, ArrayType, IntType, RecordType, field_path
from .declarations import Unsupported, const_eval, text
from .machine import MemRef
from .values import AggV, PtrV, int_const


def initialise_object(run: AccessMixin, obj: PtrV, ctype: AnyType, init: Node) -> None:
    """Initialise the object ``obj`` points to (for arrays: its first element)."""
    if init.type == "initializer_list":
        oid = smt.const_int(obj.oid)
        if oid is None:
            raise Unsupported("initialiser of an object outside the frame")
        run.memory.fill_zero(oid)
        _list(run, obj, ctype, init)
        return
    if isinstance(ctype, ArrayType):
        if init.type in ("string_literal", "concatenated_string"):
            oid = smt.const_int(obj.oid)
            if oid is None:
                raise Unsupported("initialiser of an object outside the frame")
            run.memory.fill_zero(oid)
            _string(run, obj, ctype, init)
            return
        raise Unsupported(f"array initialised from {init.type}")
    value = run.eval(init)
    if isinstance(ctype, RecordType) and not isinstance(value, AggV):
        raise Unsupported(f"{ctype} initialised from {value.ctype}")
    run.store(MemRef(obj, obj.origin or "(object)"), value, init)


def array_length(run: AccessMixin, ctype: ArrayType, init: Node) -> ArrayType:
    """``int a[] = {1, 2}`` and ``char s[] = "ab"`` take their length from the initialiser."""
    if ctype.length is not None:
        return ctype
    if init.type in ("string_literal", "concatenated_string"):
        from .expressions import string_bytes

        return ArrayType(ctype.elem, len(string_bytes(init)) + 1)
    if init.type == "initializer_list":
        position = 0
        highest = 0
        for item in _items(init):
            if item.type == "initializer_pair":
                designator = item.child_by_field_name("designator")
                if designator is not None and designator.type == "subscript_designator":
                    value = const_eval(run.frame.symbols, designator.named_children[0])
                    if value is None:
                        raise Unsupported("array designator that is not a constant")
                    position = value
            position += 1
            highest = max(highest, position)
        return ArrayType(ctype.elem, highest)
    raise Unsupported("array of unknown length")


def _items(init: Node) -> list[Node]:
    return [child for child in init.named_children if child.type != "comment"]


def _list(run: AccessMixin, obj: PtrV, ctype: AnyType, init: Node) -> None:
    items = _items(init)
    if isinstance(ctype, RecordType):
        _record_list(run, obj, ctype, items)
    elif isinstance(ctype, ArrayType):
        # An array element of an array (int m[2][2]) is reached as an array object.
        first = run.decay(obj) if obj.ctype.target == ctype else obj
        _array_list(run, first, ctype, items)
    else:
        if len(items) > 1:
            raise Unsupported("scalar initialised from a list of several values")
        if items:
            initialise_object(run, obj, ctype, items[0])


def _record_list(run: AccessMixin, obj: PtrV, ctype: RecordType, items: list[Node]) -> None:
    definition = run.frame.symbols.record(ctype)
    if definition is None:
        raise Unsupported(f"initialiser of {ctype}, whose definition was not found")
    names = [member.name for member in definition.fields]
    position = 0
    for item in items:
        value_node = item
        if item.type == "initializer_pair":
            designator = item.child_by_field_name("designator")
            value = item.child_by_field_name("value")
            if designator is None or value is None or designator.type != "field_designator":
                raise Unsupported("nested or array designator in a struct initialiser")
            field_name = text(designator.named_children[0]) if designator.named_children else ""
            if field_name not in names:
                if field_path(run.frame.symbols, ctype, field_name) is None:
                    raise Unsupported(f"designator .{field_name} of {ctype}")
                position = len(names)
            else:
                position = names.index(field_name)
            value_node = value
        else:
            if position >= len(names):
                raise Unsupported(f"too many initialisers for {ctype}")
            field_name = names[position] or ""
            if not field_name:
                raise Unsupported(f"positional initialiser of an anonymous member of {ctype}")
        found = run.member(obj, field_name, value_node)
        member_ptr = found.ptr
        member_type = member_ptr.ctype.target
        if isinstance(member_type, ArrayType):
            first = run.decay(member_ptr)
            if value_node.type == "initializer_list":
                _array_list(run, first, member_type, _items(value_node))
            elif value_node.type in ("string_literal", "concatenated_string"):
                _string(run, first, member_type, value_node)
            else:
                raise Unsupported("array member initialised from an expression")
        elif value_node.type == "initializer_list":
            _list(run, member_ptr, member_type, value_node)
        else:
            ref = MemRef(member_ptr, f"{obj.origin}.{field_name}", found.bitfield, found.union_bits)
            run.store(ref, run.eval(value_node), value_node)
        position += 1


def _array_list(run: AccessMixin, first: PtrV, ctype: ArrayType, items: list[Node]) -> None:
    position = 0
    for item in items:
        value_node = item
        if item.type == "initializer_pair":
            designator = item.child_by_field_name("designator")
            value = item.child_by_field_name("value")
            if designator is None or value is None or designator.type != "subscript_designator":
                raise Unsupported("designator in an array initialiser")
            index = const_eval(run.frame.symbols, designator.named_children[0])
            if index is None:
                raise Unsupported("array designator that is not a constant")
            position = index
            value_node = value
        if ctype.length is not None and position >= ctype.length:
            raise Unsupported("initialiser past the end of an array")
        cell = run.pointer_add(first, smt.bv_val(position, 32))
        if value_node.type == "initializer_list":
            _list(run, cell, ctype.elem, value_node)
        else:
            run.store(MemRef(cell, f"{first.origin}[{position}]"), run.eval(value_node), value_node)
        position += 1


def _string(run: AccessMixin, first: PtrV, ctype: ArrayType, init: Node) -> None:
    from .expressions import string_bytes

    data = string_bytes(init) + b"\0"
    # The rest of the array is zero: callers zero the whole object first.
    length = min(ctype.length, len(data)) if ctype.length is not None else len(data)
    for index in range(length):
        byte = data[index]
        cell = run.pointer_add(first, smt.bv_val(index, 32))
        run.store(
            MemRef(cell, f"{first.origin}[{index}]"), int_const(byte, _char_type(ctype)), init
        )


def _char_type(ctype: ArrayType) -> IntType:
    return ctype.elem if isinstance(ctype.elem, IntType) else CHAR
