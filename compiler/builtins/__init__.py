"""The builtin functions and the environment: one registry for every phase.

Each builtin is a :class:`Builtin` entry: its name, how many arguments it
takes, its signature and doc line for the spec, how the checker types a
call, how lowering turns the call into IR, which instructions the emitter
writes for the IR node, and the worst-case dynamic gas the analyzer adds on
top of those instructions' table gas (from the VM's own formulas). The
checker, lowering, emitter, analyzer and ``deed.compiler.docs`` all read
:data:`BUILTINS` and :data:`ENV_MEMBERS`; adding a builtin is adding one
entry in the module of its family.

Hooks take the phase's own object (the function checker, the function
lowerer, the emitter) so this module never imports those phases at run time.
"""

from __future__ import annotations

from . import accounts, core, crypto, documents, lists, oracle, text  # noqa: F401  (they register)
from .accounts import BALANCE, lower_balance
from .registry import (
    BUILTINS,
    ENV_BASES,
    ENV_BY_NAME,
    ENV_MEMBERS,
    IR_BUILTINS,
    REPORT_DATA,
    Builtin,
    EnvMember,
    builtin_gas,
    encoded_size,
    raw_size,
)

__all__ = [
    "BALANCE",
    "lower_balance",
    "BUILTINS",
    "ENV_BASES",
    "ENV_BY_NAME",
    "ENV_MEMBERS",
    "IR_BUILTINS",
    "REPORT_DATA",
    "Builtin",
    "EnvMember",
    "builtin_gas",
    "encoded_size",
    "raw_size",
]
