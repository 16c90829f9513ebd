"""Testing Deed contracts in pytest, without a harness (spec/testing.md).

The ``env`` fixture (registered by :mod:`deed.testing.plugin` as a pytest
plugin) is a fresh :class:`Env` per test::

    def test_pay(env):
        alice, bob = env.accounts[:2]
        c = env.deploy("contracts/escrow/trade_escrow.deed", bob, ...)
        with env.reverts("not allowed"):
            c.confirm_delivery(sender=bob)
"""

from .contract import Contract, ContractFunction, Event, Reverted
from .env import Account, Env, TxReceipt, compiled
from .gas import RECORDER, GasRecorder
from .oracles import OracleKey, OracleKeys, ReportType
from .values import ArgumentError, Fields

__all__ = [
    "RECORDER",
    "Account",
    "ArgumentError",
    "Contract",
    "ContractFunction",
    "Env",
    "Event",
    "Fields",
    "GasRecorder",
    "OracleKey",
    "OracleKeys",
    "ReportType",
    "Reverted",
    "TxReceipt",
    "compiled",
]
