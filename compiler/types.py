"""Deed's types, as the checker sees them, and their mapping onto VM types."""

from __future__ import annotations

from dataclasses import dataclass, field

from deed.vm import types as vmt


class Type:
    storage_only = False

    @property
    def kind(self) -> str:
        return self.vm_type().kind

    def vm_type(self) -> vmt.ValueType:
        raise NotImplementedError


@dataclass(frozen=True)
class IntType(Type):
    signed: bool
    bits: int

    def __str__(self) -> str:
        return f"{'i' if self.signed else 'u'}{self.bits}"

    def vm_type(self) -> vmt.ValueType:
        return vmt.ValueType(vmt.TAG_INT if self.signed else vmt.TAG_UINT, self.bits)

    @property
    def code(self) -> int:
        return vmt.int_type_code(self.signed, self.bits)

    @property
    def range(self) -> tuple[int, int]:
        return vmt.int_range(self.code)


@dataclass(frozen=True)
class BoolType(Type):
    def __str__(self) -> str:
        return "bool"

    def vm_type(self) -> vmt.ValueType:
        return vmt.BOOL


@dataclass(frozen=True)
class AddressType(Type):
    def __str__(self) -> str:
        return "address"

    def vm_type(self) -> vmt.ValueType:
        return vmt.ADDRESS


@dataclass(frozen=True)
class FixedBytesType(Type):
    size: int

    def __str__(self) -> str:
        return f"bytes{self.size}"

    def vm_type(self) -> vmt.ValueType:
        return vmt.ValueType(vmt.TAG_FIXED_BYTES, self.size)


@dataclass(frozen=True)
class BytesType(Type):
    max_len: int

    def __str__(self) -> str:
        return f"bytes[{self.max_len}]"

    def vm_type(self) -> vmt.ValueType:
        return vmt.ValueType(vmt.TAG_BYTES, self.max_len)


@dataclass(frozen=True)
class StringType(Type):
    max_len: int

    def __str__(self) -> str:
        return f"string[{self.max_len}]"

    def vm_type(self) -> vmt.ValueType:
        return vmt.ValueType(vmt.TAG_STRING, self.max_len)


@dataclass(frozen=True)
class EnumType(Type):
    name: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return self.name

    def vm_type(self) -> vmt.ValueType:
        return vmt.ValueType(vmt.TAG_UINT, 8)


@dataclass(frozen=True)
class InterfaceType(Type):
    """A contract address known to have an interface's functions."""

    name: str

    def __str__(self) -> str:
        return self.name

    def vm_type(self) -> vmt.ValueType:
        return vmt.ADDRESS


@dataclass(frozen=True)
class MapType(Type):
    key: Type
    value: Type
    storage_only = True

    def __str__(self) -> str:
        return f"map[{self.key}, {self.value}]"


@dataclass(frozen=True)
class ListType(Type):
    """A bounded list in storage: its length, then its elements."""

    elem: Type
    capacity: int
    storage_only = True

    def __str__(self) -> str:
        return f"list[{self.elem}, {self.capacity}]"

    def vm_type(self) -> vmt.ValueType:
        """A list value (a parameter, a local): its elements packed in one
        bytes value, ``element_width`` bytes each (spec/language.md)."""
        return vmt.ValueType(vmt.TAG_BYTES, max(1, self.capacity * element_width(self.elem)))


@dataclass(frozen=True)
class ArrayType(Type):
    """A fixed-size array in storage; every element exists (zero at first)."""

    elem: Type
    size: int
    storage_only = True

    def __str__(self) -> str:
        return f"{self.elem}[{self.size}]"

    def vm_type(self) -> vmt.ValueType:
        """An array value (a parameter, a local): exactly ``size`` elements,
        packed like a list value's (spec/language.md)."""
        return vmt.ValueType(vmt.TAG_BYTES, max(1, self.size * element_width(self.elem)))


def _field_index(fields: tuple[tuple[str, Type], ...], name: str) -> int | None:
    return next((i for i, (n, _) in enumerate(fields) if n == name), None)


@dataclass(frozen=True)
class ReportType(Type):
    """The checked data of a signed oracle report: fields of 32 bytes each.
    Lives only in locals; its value is the data's bytes."""

    name: str
    fields: tuple[tuple[str, Type], ...] = field(compare=False)

    def __str__(self) -> str:
        return self.name

    def vm_type(self) -> vmt.ValueType:
        return vmt.ValueType(vmt.TAG_BYTES, 1024)

    def field_index(self, name: str) -> int | None:
        return _field_index(self.fields, name)


@dataclass(frozen=True)
class StructType(Type):
    """A struct: in storage, or as a value (one VM value per leaf field, see
    :func:`flatten`) when no field is a map, list or array."""

    name: str
    fields: tuple[tuple[str, Type], ...] = field(compare=False)

    def __str__(self) -> str:
        return self.name

    @property
    def storage_only(self) -> bool:  # type: ignore[override]
        return self.storage_field() is not None

    def storage_field(self, seen: frozenset = frozenset()) -> str | None:
        """The (dotted) name of the first field that keeps the struct in
        storage: a map, list or array, here or in a nested struct."""
        for n, t in self.fields:
            if isinstance(t, StructType):
                if t.name in seen or t.name == self.name:
                    return n  # a struct that contains itself is never a value
                inner = t.storage_field(seen | {self.name})
                if inner is not None:
                    return f"{n}.{inner}"
            elif t.storage_only:
                return n
        return None

    def field_index(self, name: str) -> int | None:
        return _field_index(self.fields, name)


@dataclass(frozen=True)
class TupleType(Type):
    """Several values returned by one function: ``-> (uint, bool)``. Also the
    IR's type of a flattened aggregate (its leaves, in order)."""

    elems: tuple[Type, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.elems)) + ")"


@dataclass(frozen=True)
class NoneType(Type):
    def __str__(self) -> str:
        return "nothing"


@dataclass(frozen=True)
class ErrorType(Type):
    """The type of an expression that already has an error: fits everywhere,
    so one mistake is reported once."""

    def __str__(self) -> str:
        return "<error>"

    def vm_type(self) -> vmt.ValueType:
        return vmt.U256


ERROR = ErrorType()
UINT = IntType(False, 256)
U8 = IntType(False, 8)
U64 = IntType(False, 64)
BOOL = BoolType()
ADDRESS = AddressType()
BYTES32 = FixedBytesType(32)
NONE = NoneType()
REASON = StringType(1024)


def builtin_type(name: str) -> Type | None:
    """The type a plain name denotes (``u64``, ``uint``, ``bool``, ``bytes32``...)."""
    if name == "uint":
        return UINT
    if name == "bool":
        return BOOL
    if name == "address":
        return ADDRESS
    if name[:1] in ("u", "i") and name[1:].isdigit():
        bits = int(name[1:])
        if 8 <= bits <= 256 and bits % 8 == 0:
            return IntType(name[0] == "i", bits)
        return None
    if name.startswith("bytes") and name[5:].isdigit():
        size = int(name[5:])
        return FixedBytesType(size) if 1 <= size <= 32 else None
    return None


def is_aggregate(t: Type) -> bool:
    """A value of several VM values: a struct value or a tuple."""
    return isinstance(t, StructType | TupleType)


def flatten(t: Type, prefix: str = "") -> list[tuple[str, Type]]:
    """The leaves of a value in order, with their dotted paths: a struct value
    is one VM value per leaf field (nested structs flatten recursively), a
    tuple one per element. A scalar is itself."""
    if isinstance(t, StructType):
        out: list[tuple[str, Type]] = []
        for n, ft in t.fields:
            out += flatten(ft, f"{prefix}.{n}" if prefix else n)
        return out
    if isinstance(t, TupleType):
        out = []
        for i, et in enumerate(t.elems):
            out += flatten(et, f"{prefix}.{i}" if prefix else str(i))
        return out
    return [(prefix, t)]


def leaf_types(t: Type) -> list[Type]:
    """The VM-level types of a value of ``t``, in order (none for nothing)."""
    if t == NONE:
        return []
    return [lt for _, lt in flatten(t)]


def leaf_range(t: StructType | TupleType, index: int) -> tuple[int, int]:
    """Where field (or element) ``index`` of ``t`` sits among its leaves."""
    parts = t.fields if isinstance(t, StructType) else [("", e) for e in t.elems]
    start = sum(len(flatten(ft)) for _, ft in parts[:index])
    return start, start + len(flatten(parts[index][1]))


def is_list_element(t: Type) -> bool:
    """What a list value (a parameter, a local) can hold: fixed-width scalars."""
    return isinstance(t, IntType | BoolType | AddressType | FixedBytesType)


def element_width(t: Type) -> int:
    """Bytes of one element of a list value (spec/language.md, list values)."""
    if isinstance(t, IntType):
        return t.bits // 8
    if isinstance(t, BoolType):
        return 1
    if isinstance(t, AddressType):
        return 20
    if isinstance(t, FixedBytesType):
        return t.size
    return 32


def is_int(t: Type) -> bool:
    return isinstance(t, IntType)


def widens_to(src: Type, dst: Type) -> bool:
    """Implicit conversion: only integer widening within one signedness."""
    if src == dst or src == ERROR or dst == ERROR:
        return True
    if isinstance(src, IntType) and isinstance(dst, IntType):
        return src.signed == dst.signed and src.bits <= dst.bits
    if isinstance(src, InterfaceType) and isinstance(dst, AddressType):
        return True
    if isinstance(src, StringType) and isinstance(dst, StringType):
        return src.max_len <= dst.max_len
    if isinstance(src, BytesType) and isinstance(dst, BytesType):
        return src.max_len <= dst.max_len
    return False


def raw_size(t: Type) -> int:
    """Most bytes of a value of ``t`` as the VM holds it (hash inputs, map
    keys); integers count as their 32-byte form."""
    if isinstance(t, AddressType | InterfaceType):
        return 20
    if isinstance(t, FixedBytesType):
        return t.size
    if isinstance(t, BytesType | StringType):
        return t.max_len
    if isinstance(t, ListType):
        return t.capacity * element_width(t.elem)
    if isinstance(t, ArrayType):
        return t.size * element_width(t.elem)
    return 32


def encoded_size(t: Type) -> int:
    """Most bytes of a value of ``t`` in the VM's value encoding (``encode``,
    events, return data): fixed widths, and a 4-byte length before bytes."""
    if isinstance(t, BoolType):
        return 1
    if isinstance(t, AddressType | InterfaceType):
        return 20
    if isinstance(t, FixedBytesType):
        return t.size
    if isinstance(t, BytesType | StringType | ListType | ArrayType):
        return 4 + raw_size(t)  # a list or array value is one bytes value
    return 32
