"""Gas bounds on the contract families: the demo's story (flight-delay cover,
invoice, bill of exchange, trade escrow) measures each function on its
costliest path; the bound is never below and within twice the measure."""

from pathlib import Path

from support import Harness

from deed.analyzer.context import Context
from deed.analyzer.gas import GasAnalysis
from deed.cli import demo
from deed.compiler.driver import compile_source
from deed.contracts import source
from deed.vm.chain import Transaction, intrinsic_gas
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report, signer_set
from deed.vm.types import ADDRESS, BYTES32, TAG_BYTES, TAG_UINT, U64, ValueType


def bounds(name: str, text: str | None = None) -> dict[str, int]:
    """The bounds of contracts/NAME.deed, or of ``text`` (a contract the demo writes)."""
    code = source(name) if text is None else text
    return {n: b.bound for n, b in GasAnalysis(Context(compile_source(code, name))).all().items()}


def test_demo_story_is_within_the_bounds(tmp_path, monkeypatch):
    measured: dict[tuple[bytes, str], int] = {}
    deployed: dict[bytes, tuple[str, str | None]] = {}
    apply, deploy = demo.DemoChain._apply, demo.DemoChain.deploy

    def recording_apply(self, who, to, data, value, what):
        r = apply(self, who, to, data, value, what)
        if r.success:
            tx = Transaction(1, 0, self.keys[who].public_key, to, value, 3_000_000, 1, data)
            fn = "init" if what.startswith("deploy ") else what.split("(")[0]
            key = (to or r.contract_address, fn)
            measured[key] = max(measured.get(key, 0), r.gas_used - intrinsic_gas(tx))
        return r

    def recording_deploy(self, who, name, *args, **kw):
        address = deploy(self, who, name, *args, **kw)
        deployed[address] = (name, kw.get("text"))
        return address

    monkeypatch.setattr(demo.DemoChain, "_apply", recording_apply)
    monkeypatch.setattr(demo.DemoChain, "deploy", recording_deploy)
    demo.run_demo(tmp_path / "story.db", lambda line: None)
    checked = 0
    for address, (name, text) in deployed.items():
        bound = bounds(name, text)
        for (target, fn), gas in measured.items():
            if target != address or (name, fn) == ("escrow/trade_escrow", "delivery_report"):
                continue  # a 1-of-1 report: its costliest case is measured below
            assert gas <= bound[fn] <= 2 * gas, (name, fn, gas, bound[fn])
            checked += 1
    assert checked >= 12


def test_delivery_report_with_the_most_signatures_fits_its_bound():
    carriers = [KeyPair.from_text(f"carrier {i}") for i in range(5)]
    h = Harness()
    types = [ADDRESS, ADDRESS, ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), BYTES32, U64]
    shipment = b"S" * 32
    args = encode_values(
        types,
        [h.addr("bob"), h.addr("carol"), signer_set(carriers), 1, shipment, h.timestamp + 86400],
    )
    module = compile_source(source("escrow/trade_escrow"), "trade_escrow").module
    escrow = h.deployed(module, init_args=args)
    h.send("alice", escrow, "deposit", value=10**18)
    report = sign_report(h.timestamp, shipment + (1).to_bytes(32, "big"), list(enumerate(carriers)))
    tx = h.tx("dave", escrow, h.chain.encode_call(escrow, "delivery_report", [report]))
    r = h.block.apply(tx)
    assert r.success, r.revert_reason
    gas = r.gas_used - intrinsic_gas(tx)
    bound = bounds("escrow/trade_escrow")["delivery_report"]
    assert gas <= bound <= 2 * gas


def test_family_sources_are_packaged():
    root = Path(__file__).parent.parent / "contracts"
    for name in (
        "insurance/flight_delay",
        "bills/invoice",
        "bills/bill_of_exchange",
        "escrow/trade_escrow",
    ):
        assert source(name) == (root / f"{name}.deed").read_text()
