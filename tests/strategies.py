"""Hypothesis strategies for types, values and (unverified) modules."""

from hypothesis import strategies as st

from deed.vm.module import ErrorDef, EventDef, Export, Field, Function, ImportDef, Module
from deed.vm.types import (
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    ValueType,
    type_range,
)

widths = st.sampled_from([8, 16, 32, 64, 128, 256])


def value_types():
    return st.one_of(
        widths.map(lambda w: ValueType(TAG_UINT, w)),
        widths.map(lambda w: ValueType(TAG_INT, w)),
        st.just(ValueType(TAG_BOOL)),
        st.just(ValueType(TAG_ADDRESS)),
        st.integers(1, 32).map(lambda n: ValueType(TAG_FIXED_BYTES, n)),
        st.integers(1, 40).map(lambda n: ValueType(TAG_BYTES, n)),
        st.integers(1, 40).map(lambda n: ValueType(TAG_STRING, n)),
    )


def values_of(t: ValueType):
    if t.tag == TAG_BOOL:
        return st.booleans()
    if t.tag in (TAG_UINT, TAG_INT):
        lo, hi = type_range(t)
        return st.integers(lo, hi)
    if t.tag == TAG_ADDRESS:
        return st.binary(min_size=20, max_size=20)
    if t.tag == TAG_FIXED_BYTES:
        return st.binary(min_size=t.param, max_size=t.param)
    if t.tag == TAG_BYTES:
        return st.binary(max_size=t.param)
    return st.text(max_size=t.param // 4)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
kinds = st.lists(st.sampled_from("IB"), max_size=4).map(tuple)
types = st.lists(value_types(), max_size=3).map(tuple)
fields = st.lists(st.builds(Field, names, value_types()), max_size=3).map(tuple)
constants = st.one_of(st.integers(-(2**256) + 1, 2**256 - 1), st.binary(max_size=40))


@st.composite
def modules(draw):
    return Module(
        constants=tuple(draw(st.lists(constants, max_size=5))),
        functions=tuple(
            draw(
                st.lists(
                    st.builds(
                        Function,
                        names,
                        kinds,
                        kinds,
                        kinds,
                        st.integers(0, 255),
                        st.binary(max_size=40),
                    ),
                    max_size=3,
                )
            )
        ),
        exports=tuple(
            draw(
                st.lists(
                    st.builds(
                        Export,
                        names,
                        st.binary(min_size=4, max_size=4),
                        st.integers(0, 5),
                        st.integers(0, 7),
                        types,
                        types,
                    ),
                    max_size=3,
                )
            )
        ),
        events=tuple(draw(st.lists(st.builds(EventDef, names, fields), max_size=2))),
        errors=tuple(draw(st.lists(st.builds(ErrorDef, names, fields), max_size=2))),
        imports=tuple(
            draw(
                st.lists(
                    st.builds(ImportDef, names, st.binary(min_size=4, max_size=4), types, types),
                    max_size=2,
                )
            )
        ),
    )
