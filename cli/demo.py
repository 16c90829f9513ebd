"""``deed demo``: the standard contracts on a local chain kept in SQLite.

Compiles the standard contracts, deploys them with signed transactions, and
runs a complete story: a flight-delay policy sold and paid from a signed
oracle report; an invoice issued although another account registered its
document hash first, as an invoice and from a contract of its own, then paid in parts with its tax routed; a bill of
exchange drawn, accepted, endorsed, discounted and paid at maturity; a trade
escrow funded and released on a signed delivery report. Every receipt is
printed with its gas.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from deed.compiler.driver import compile_source
from deed.contracts import source
from deed.vm.chain import Chain, Receipt, Transaction, deploy_data
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report, signer_set
from deed.vm.state import SqliteBackend
from deed.vm.types import ADDRESS, BYTES32, TAG_BYTES, TAG_UINT, U64, U256, ValueType

ETHER = 10**18
HOUR, DAY = 3600, 86400
PEOPLE = (
    "insurer",
    "traveller",
    "oracle-1",
    "oracle-2",
    "oracle-3",
    "supplier",
    "customer",
    "tax-office",
    "bank",
    "carrier",
)


class DemoChain:
    def __init__(self, path: Path, echo: Callable[[str], None]):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        self.echo = echo
        self.keys = {name: KeyPair.from_text(f"deed demo {name}") for name in PEOPLE}
        self.chain = Chain(SqliteBackend(path), chain_id=1)
        self.timestamp = 1_790_000_000
        self.chain.genesis(
            {k.address: 1_000 * ETHER for k in self.keys.values()}, timestamp=self.timestamp
        )
        self.block = None
        self.new_block()

    def new_block(self, seconds: int = 12) -> None:
        if self.block is not None:
            header = self.block.commit()
            self.echo(f"   -- block {header.height}, state root {header.state_root.hex()[:16]}..")
        self.timestamp += seconds
        self.block = self.chain.begin_block(self.timestamp, proposer=self.keys["bank"].address)

    def addr(self, name: str) -> bytes:
        return self.keys[name].address

    def _apply(self, who: str, to: bytes | None, data: bytes, value: int, what: str) -> Receipt:
        key = self.keys[who]
        tx = Transaction(
            1, self.chain.nonce(key.address), key.public_key, to, value, 3_000_000, 1, data
        ).signed(key)
        r = self.block.apply(tx)
        events = ", ".join(f"{log.event}{_show(log.values)}" for log in r.logs)
        result = f" -> {_show(r.return_values)}" if r.return_values else ""
        reason = f" ({r.revert_reason})" if r.revert_reason else ""
        self.echo(f"{who:>10} {what:<40} {r.status:<9} gas {r.gas_used:>7,}{result}{reason}")
        if events:
            self.echo(f"{'':>10}   events: {events}")
        return r

    def deploy(
        self,
        who: str,
        name: str,
        init_types=(),
        init_args=(),
        value: int = 0,
        text: str | None = None,
    ) -> bytes:
        """Compile and deploy contracts/NAME.deed (or ``text``, shown as NAME)."""
        start = time.perf_counter()
        path = f"contracts/{name}.deed" if text is None else f"{name}.deed"
        module = compile_source(source(name) if text is None else text, path).module
        ms = 1000 * (time.perf_counter() - start)
        self.echo(f"{'':>10} compiled {path}: {len(module.encode()):,} bytes in {ms:.0f} ms")
        data = deploy_data(module.encode(), encode_values(list(init_types), list(init_args)))
        r = self._apply(who, None, data, value, f"deploy {name.split('/')[-1]}")
        if not r.success:
            raise SystemExit(f"deploying {name} failed: {r.revert_reason}")
        return r.contract_address

    def send(
        self, who: str, to: bytes, fn: str, args=(), value: int = 0, shown: str | None = None
    ) -> Receipt:
        text = shown if shown is not None else ", ".join(_short(a) for a in args)
        return self._apply(
            who, to, self.chain.encode_call(to, fn, list(args)), value, f"{fn}({text})"
        )


# A contract that registers any document hash it is given: in the name of
# whoever signs its deployment, so never in anyone else's.
_SQUATTER = """
contract Squatter:
    init(doc: bytes32):
        register_document(doc)
"""


def _short(v) -> str:
    if isinstance(v, bytes):
        text = v.rstrip(b"\0")
        if text and all(32 <= c < 127 for c in text) and len(v) == 32:
            return repr(text.decode())
        return "0x" + v.hex()[:8] + ".."
    if isinstance(v, int) and not isinstance(v, bool) and v >= 10**15:
        return f"{v / ETHER:g} ETH"
    return str(v)


def _show(values) -> str:
    return "(" + ", ".join(_short(v) for v in values) + ")"


def _field(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def run_demo(path: Path, echo: Callable[[str], None]) -> None:
    d = DemoChain(path, echo)
    echo(f"local chain in {path} (SQLite); every transaction signed with ed25519")
    oracles = [d.keys[f"oracle-{i}"] for i in (1, 2, 3)]

    echo("\n== insurance: parametric flight-delay cover (oracles: 2 of 3)")
    cover_args = (  # sales close 2 hours before departure
        [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), U256, U64],
        [signer_set(oracles), 2, 500, 2 * HOUR],
    )
    cover = d.deploy("insurer", "insurance/flight_delay", *cover_args, value=20 * ETHER)
    flight = _field("LH454 2026-11-22")
    departure = d.timestamp + 6 * HOUR
    premium = d.chain.call(cover, "premium_for", [2 * ETHER]).return_values[0]
    d.send("traveller", cover, "buy", [flight, departure, 2 * ETHER], value=premium)
    d.new_block(seconds=9 * HOUR)  # the flight lands 150 minutes late
    reported = flight + departure.to_bytes(32, "big") + (150).to_bytes(32, "big")
    report = sign_report(d.timestamp - 600, reported, [(0, oracles[0]), (2, oracles[2])])
    d.send(
        "oracle-1",
        cover,
        "claim",
        [0, report],
        shown="0, report: 150 min, signed by oracles 1 and 3",
    )
    d.send("oracle-1", cover, "claim", [0, report], shown="0, the same report again")
    d.new_block()

    echo("\n== bills: an invoice paid in two parts, tax routed to the tax office")
    doc = _field("invoice 2026-0042")
    invoice_types = [ADDRESS, ADDRESS, BYTES32, U256, U256, U64, ADDRESS]
    invoice_args = [
        d.addr("customer"),
        d.addr("tax-office"),
        doc,
        10 * ETHER,
        1_900,
        d.timestamp + 30 * DAY,
        bytes(20),
    ]
    echo("   others saw the document's hash and register it first: the carrier from a")
    echo("   contract of its own, the traveller as an invoice. The VM records each in its")
    echo("   signer's name, under the signer's own key, so neither blocks the supplier")
    d.deploy("carrier", "squatter", [BYTES32], [doc], text=_SQUATTER)
    d.deploy("traveller", "bills/invoice", invoice_types, invoice_args)
    invoice = d.deploy("supplier", "bills/invoice", invoice_types, invoice_args)
    d.send("customer", invoice, "pay", value=4 * ETHER, shown="4 ETH")
    d.send("customer", invoice, "pay", value=6 * ETHER, shown="6 ETH")
    d.send("bank", invoice, "reimburse", value=10 * ETHER, shown="10 ETH, the customer's expense")
    d.send("bank", invoice, "reimburse", value=10 * ETHER, shown="10 ETH, again")
    d.new_block()

    echo("\n== bills: a bill of exchange drawn on the customer, endorsed, discounted, paid")
    bill_doc = _field("bill of exchange 7731")
    bill = d.deploy(
        "supplier",
        "bills/bill_of_exchange",
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [d.addr("customer"), d.addr("supplier"), bill_doc, 50 * ETHER, d.timestamp + 90 * DAY],
    )
    d.send("customer", bill, "accept")
    d.send("supplier", bill, "offer_discount", [d.addr("bank"), 48 * ETHER])
    d.send("bank", bill, "buy_discounted", value=48 * ETHER, shown="48 ETH")
    d.send(
        "supplier",
        bill,
        "endorse",
        [d.addr("carrier")],
        shown="carrier: the supplier no longer holds it",
    )
    d.send("bank", bill, "endorse", [d.addr("insurer")], shown="insurer: the bank endorses it on")
    d.new_block(seconds=90 * DAY)
    d.send("customer", bill, "pay", value=50 * ETHER, shown="50 ETH at maturity")
    d.new_block()

    echo("\n== escrow: payment held until a signed delivery report arrives")
    shipment = _field("MSKU 1234567")
    escrow_types = [
        ADDRESS,
        ADDRESS,
        ValueType(TAG_BYTES, 160),
        ValueType(TAG_UINT, 8),
        BYTES32,
        U64,
    ]
    escrow = d.deploy(
        "customer",
        "escrow/trade_escrow",
        escrow_types,
        [
            d.addr("supplier"),
            d.addr("bank"),
            signer_set([d.keys["carrier"]]),
            1,
            shipment,
            d.timestamp + 30 * DAY,
        ],
    )
    d.send("customer", escrow, "deposit", value=25 * ETHER, shown="25 ETH")
    delivery = sign_report(
        d.timestamp, shipment + (1).to_bytes(32, "big"), [(0, d.keys["carrier"])]
    )
    d.send(
        "carrier",
        escrow,
        "delivery_report",
        [delivery],
        shown="report: delivered, signed by the carrier",
    )
    d.new_block()

    head = d.chain.head
    d.block.abandon()
    echo(f"\nhead: block {head.height}, state root {head.state_root.hex()}")
    echo(
        f"held by the contracts: cover {d.chain.balance(cover) / ETHER:g} ETH (capital), invoice {d.chain.balance(invoice) / ETHER:g}, "
        f"bill {d.chain.balance(bill) / ETHER:g}, escrow {d.chain.balance(escrow) / ETHER:g}"
    )
