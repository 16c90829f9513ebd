"""Testing Deed contracts in pytest, without a harness (spec/testing.md);
gas reports, gas snapshots and fuzzing strategies (docs/testing-gas.md).

The ``env`` fixture (registered by :mod:`deed.testing.plugin` as a pytest
plugin) is a fresh :class:`Env` per test::

    def test_refund(env):
        alice, bob, carol = env.accounts[:3]
        c = env.deploy("escrow.deed", bob, carol, env.timestamp + 86400)
        with env.reverts("deadline not reached"):
            c.refund(sender=alice)

``pytest --rpc URL`` (or ``DEED_TEST_RPC``) makes ``env`` a chain on a running node
instead (:mod:`.remote`; spec/testing.md, "Against a node").

The names below are imported on first use: pytest loads the plugin (and so
this package) in every run, and a run that never asks for ``env`` should not
pay for loading the VM.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "Account": "env",
    "NotOnThisNode": "access",
    "NodeFailed": "remote",
    "Env": "env",
    "TxReceipt": "env",
    "compiled": "env",
    "Contract": "contract",
    "ContractFunction": "contract",
    "Event": "contract",
    "Reverted": "contract",
    "RECORDER": "gas",
    "GasRecorder": "gas",
    "OracleKey": "oracles",
    "OracleKeys": "oracles",
    "ReportType": "oracles",
    "Address": "values",
    "ArgumentError": "values",
    "Fields": "values",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'deed.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
