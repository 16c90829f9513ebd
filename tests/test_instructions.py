"""Instruction semantics against a Python model, with the exact gas of the table.

One module holds an export per (instruction, integer type); hypothesis draws
operands, and each call must give the model's result, or revert exactly when
the model says the result does not fit, charging exactly the table's gas.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import Harness

from deed.vm import costs
from deed.vm.opcodes import BY_NAME

TYPES = ["u8", "u64", "u256", "i8", "i64", "i256"]
BINARY = [
    "ADD",
    "SUB",
    "MUL",
    "DIV",
    "MOD",
    "EXP",
    "BAND",
    "BOR",
    "BXOR",
    "SHL",
    "SHR",
    "MIN",
    "MAX",
    "LT",
    "GT",
    "LE",
    "GE",
    "EQ",
    "NE",
    "AND",
    "OR",
]
UNARY = ["NEG", "CAST", "BNOT", "NOT"]
TYPED = {
    "ADD",
    "SUB",
    "MUL",
    "DIV",
    "MOD",
    "EXP",
    "BAND",
    "BOR",
    "BXOR",
    "SHL",
    "SHR",
    "NEG",
    "CAST",
    "BNOT",
}


def bounds(t):
    bits = int(t[1:])
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if t[0] == "i" else (0, 2**bits - 1)


def tdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def model(op, t, a, b=None):
    """The result, or None when the instruction must revert."""
    lo, hi = bounds(t)
    if op in ("DIV", "MOD") and b == 0:
        return None
    if op in ("SHL", "SHR", "EXP") and b < 0:
        return None
    if op == "EXP" and abs(a) >= 2 and b > 256:
        return None
    if op == "SHL" and a != 0 and b > 256:
        return None
    r = {
        "ADD": lambda: a + b,
        "SUB": lambda: a - b,
        "MUL": lambda: a * b,
        "DIV": lambda: tdiv(a, b),
        "MOD": lambda: a - b * tdiv(a, b) if b else 0,
        "EXP": lambda: a**b,
        "BAND": lambda: a & b,
        "BOR": lambda: a | b,
        "BXOR": lambda: a ^ b,
        "SHL": lambda: a << b,
        "SHR": lambda: a >> b,
        "MIN": lambda: min(a, b),
        "MAX": lambda: max(a, b),
        "LT": lambda: int(a < b),
        "GT": lambda: int(a > b),
        "LE": lambda: int(a <= b),
        "GE": lambda: int(a >= b),
        "EQ": lambda: int(a == b),
        "NE": lambda: int(a != b),
        "AND": lambda: int(bool(a) and bool(b)),
        "OR": lambda: int(bool(a) or bool(b)),
        "NEG": lambda: -a,
        "CAST": lambda: a,
        "BNOT": lambda: (a ^ hi) if lo == 0 else ~a,
        "NOT": lambda: int(a == 0),
    }[op]()
    if op in TYPED and not lo <= r <= hi:
        return None
    return r


def _module_text(t):
    """One function and export per instruction, for integer type t."""
    funcs, exports = [], []
    for op in BINARY + UNARY:
        name = f"{op.lower()}_{t}"
        arity = 2 if op in BINARY else 1
        funcs.append(f".func {name}({' '.join('I' * arity)}) -> I")
        funcs.extend(f"    LOAD {i}" for i in range(arity))
        funcs.append(f"    {op} {t}" if op in TYPED else f"    {op}")
        funcs.append("    RET")
        # operands arrive as i256 so that unsigned instructions also see negative inputs
        exports.append(f".export {name}({','.join(['i256'] * arity)}) -> i256 = {name}")
    return "\n".join(funcs + exports) + "\n"


@pytest.fixture(scope="module")
def arith():
    h = Harness()
    return h, {t: h.deployed(_module_text(t)) for t in TYPES}


i256 = st.integers(-(2**255), 2**255 - 1)
operands = st.one_of(
    st.integers(-300, 300),
    i256,
    st.sampled_from([0, 1, -1, 255, 256, 2**63, 2**64 - 1, -(2**63), 2**255 - 1, -(2**255)]),
)
BASE_GAS = 2 + 2  # LOAD per operand and RET, plus the instruction's own cost


@given(st.sampled_from(TYPES), st.sampled_from(BINARY + UNARY), operands, operands)
def test_instruction_matches_model_and_charges_table_gas(arith, t, op, a, b):
    h, addrs = arith
    arity = 2 if op in BINARY else 1
    args = [a, b][:arity]
    expected = model(op, t, *args)
    result = h.call(addrs[t], f"{op.lower()}_{t}", args)
    load = h.load_gas(addrs[t])  # the call's first use of the module's code
    gas = load + 2 * arity + BY_NAME[op].gas + (2 if expected is not None else 0)
    returned = costs.return_data(32)  # an i256 kept as return data
    if expected is None or not -(2**255) <= expected < 2**255:
        assert result.status == "reverted", (op, t, args, result)
        if expected is None:
            assert result.gas_used == gas
    else:
        assert result.success, (op, t, args, result.revert_reason)
        assert result.return_values == (expected,)
        assert result.gas_used == gas + returned


def test_signed_division_rounds_toward_zero(arith):
    h, addrs = arith
    assert h.call(addrs["i64"], "div_i64", [-7, 2]).return_values == (-3,)
    assert h.call(addrs["i64"], "mod_i64", [-7, 2]).return_values == (-1,)
    assert h.call(addrs["i8"], "div_i8", [-128, -1]).revert_reason == "arithmetic overflow"
    assert h.call(addrs["u8"], "div_u8", [1, 0]).revert_reason == "division by zero"
