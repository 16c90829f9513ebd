"""A chain for one test: funded accounts, contracts as Python objects, time,
impersonation, snapshots and expected failures.

``Env`` is written once, against :class:`~.access.ChainAccess`: by default a
chain in memory that the test owns (:mod:`.inprocess`, where every cheat
works), or with ``pytest --rpc URL`` a running node (:mod:`.remote`), where
the cheats work only as far as the node offers them and otherwise raise
:class:`~.access.NotOnThisNode` saying why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from deed.vm.chain import CallResult, Chain, Receipt, deploy_data
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.execution import Log
from deed.vm.state import MemoryBackend

from . import oracles
from .access import ChainAccess, NotOnThisNode, Outgoing
from .contract import Contract, Event, Reverted, describe_failure
from .inprocess import InProcess
from .oracles import OracleKeys, ReportType
from .values import ArgumentError, to_vm_values

NAMES = ("alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy")
FUNDS = 10**30  # each named account's balance at genesis
GAS_LIMIT = 5_000_000


@dataclass(frozen=True)
class Account:
    """A named account: ``bytes(account)`` and ``account.address`` are its
    20-byte address, so it is passed as an ``address`` argument as it is."""

    name: str
    key: KeyPair
    address: bytes = b""  # the key's address, computed once (it is a hash)

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", self.key.address)

    def __bytes__(self) -> bytes:
        return self.address

    def __repr__(self) -> str:
        return f"<Account {self.name} 0x{self.address.hex()}>"


@lru_cache(maxsize=256)
def _account(name: str) -> Account:
    """The account called ``name``: its key from the name, so the same in every test
    (made once per process: deriving keys is most of what making an env costs)."""
    return Account(name, KeyPair.from_text(name))


@dataclass
class TxReceipt:
    """The outcome of one transaction, its events decoded through the ABIs
    when first read (most transactions of a test are never asked)."""

    raw: Receipt
    function: str
    intrinsic_gas: int  # what carrying the transaction cost, before any execution
    env: Env = field(repr=False)

    @property
    def execution_gas(self) -> int:
        """The gas the execution used: ``gas_used`` less the intrinsic gas."""
        return self.raw.gas_used - self.intrinsic_gas

    @cached_property
    def events(self) -> list[Event]:
        return self.env.decode_logs(self.raw.logs)

    @property
    def gas_used(self) -> int:
        return self.raw.gas_used

    @property
    def logs(self) -> list[Log]:
        return self.raw.logs

    @property
    def success(self) -> bool:
        return self.raw.success


@dataclass(frozen=True)
class Compiled:
    """A compiled contract, as deploy needs it (kept per source: compiling is slow)."""

    name: str
    abi: dict
    code: bytes
    init_params: tuple
    reports: dict[str, ReportType]


@lru_cache(maxsize=64)
def _compile(source: str, path: str, contract: str | None) -> Compiled:
    from deed.compiler.driver import compile_source  # only when a test deploys

    out = compile_source(source, path, contract)
    module = out.module
    init = next((e for e in module.exports if e.is_init), None)
    return Compiled(
        out.abi["contract"],
        out.abi,
        module.encode(),
        tuple(init.params) if init else (),
        oracles.report_types(out.checked.node),
    )


def compiled(source: str | Path, contract: str | None = None) -> Compiled:
    """A ``.deed`` file (a Path, or a string naming one) or source text, compiled."""
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith(".deed")
    ):
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read the contract {path}: {exc.strerror}") from None
        return _compile(text, str(path), contract)
    return _compile(source, "<source>", contract)


Addressable = Account | Contract | bytes


def address_of(who: Addressable) -> bytes:
    """The 20-byte address of an account, a contract or an address."""
    address = bytes(who)
    if len(address) != 20:
        raise ArgumentError(f"an address has 20 bytes, got {len(address)}: {who!r}")
    return address


class Env:
    """One test's chain. Made fresh by the ``env`` fixture; usable without pytest.

    ``Env()`` is a chain in memory whose genesis funds the named accounts;
    :meth:`over_rpc` is one on a running node, with fresh accounts."""

    def __init__(self, names: Sequence[str] = NAMES, funds: int = FUNDS) -> None:
        accounts = [_account(n) for n in names]
        self._start(InProcess({a.address: funds for a in accounts}), accounts)

    @classmethod
    def on(cls, access: ChainAccess, accounts: Sequence[Account]) -> Env:
        """An env on ``access``, whose ``accounts`` are funded there already
        (``__init__`` keeps the signature tests use for a chain in memory)."""
        env = cls.__new__(cls)
        env._start(access, accounts)
        return env

    @classmethod
    def over_rpc(cls, url: str, names: Sequence[str] = NAMES, funds: int | None = None) -> Env:
        """An env on the node at ``url``: accounts with fresh keys (the node's
        chain outlives the test run, so fixed keys would meet their old
        state), each given ``funds`` from the faucet (see :mod:`.remote`)."""
        from . import remote

        access = remote.OverRpc(url)
        accounts = [Account(n, remote.fresh_key()) for n in names]
        given = remote.ACCOUNT_FUNDS if funds is None else funds
        try:
            access.fund({a.address: given for a in accounts})
        except BaseException:
            access.close()
            raise
        return cls.on(access, accounts)

    def _start(self, access: ChainAccess, accounts: Sequence[Account]) -> None:
        self.access = access
        self.accounts: list[Account] = list(accounts)
        self._keys = {a.address: a.key for a in self.accounts}
        self._by_name = {a.name: a for a in self.accounts}
        self.gas_price = 0  # balances then move only by what the contracts do
        self.gas_limit = GAS_LIMIT
        self.last_receipt: TxReceipt | None = None
        self.contracts: dict[bytes, Contract] = {}
        self._reports: dict[str, ReportType] = {}
        self._prank: bytes | None = None

    def close(self) -> None:
        """Let go of what the env holds (over RPC, its connection to the node)."""
        self.access.close()

    def _in_process(self, what: str) -> InProcess:
        if not isinstance(self.access, InProcess):
            raise NotOnThisNode(
                f"{what} is the in-memory chain's; this env is on {self.access.where}"
            )
        return self.access

    @property
    def chain(self) -> Chain:
        """The in-memory chain itself (for what the env does not offer)."""
        return self._in_process("env.chain").chain

    @property
    def backend(self) -> MemoryBackend:
        return self._in_process("env.backend").backend

    # -- accounts and balances
    def account(self, name: str) -> Account:
        """The named account ``name`` (one of ``env.accounts``)."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        raise KeyError(
            f"no account {name!r}: the accounts are {', '.join(a.name for a in self.accounts)}"
        )

    def balance(self, who: Addressable) -> int:
        return self.access.balance(address_of(who))

    def deal(self, who: Addressable, amount: int) -> None:
        """Set the balance of ``who`` to ``amount``."""
        if amount < 0:
            raise ValueError("a balance cannot be negative")
        self.access.deal(address_of(who), amount)

    # -- time and blocks
    @property
    def timestamp(self) -> int:
        """The time a transaction sent now runs at (and views)."""
        return self.access.timestamp()

    @property
    def height(self) -> int:
        """The height of the block a transaction sent now goes into."""
        return self.access.height()

    def warp(self, timestamp: int) -> None:
        """Send the next transactions (and run views) at ``timestamp``, in a
        new block: the one in progress keeps its time."""
        self.access.warp(timestamp)

    def time_travel(self, seconds: int = 0, blocks: int = 0) -> None:
        """Move the clock ``seconds`` on, then ``mine(blocks)``."""
        if seconds:
            self.access.advance(seconds)
        self.mine(blocks)

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` blocks at ``env.timestamp`` (the one in progress, if
        it is at that time, is the first): ``env.height`` grows by ``blocks``."""
        if blocks:
            self.access.mine(blocks)

    # -- snapshots
    def snapshot(self) -> int:
        """An id to ``revert`` to: the chain, its logs and the clock as they are now."""
        return self.access.snapshot()

    def revert(self, snapshot_id: int) -> None:
        """Back to the state of ``snapshot`` (the snapshot stays usable)."""
        self.access.revert(snapshot_id)

    @contextmanager
    def anchor(self) -> Iterator[None]:
        """Everything done inside is undone on leaving (also on an exception)."""
        snapshot_id = self.snapshot()
        try:
            yield
        finally:
            self.access.revert(snapshot_id, keep=False)

    # -- senders
    @contextmanager
    def prank(self, who: Addressable) -> Iterator[None]:
        """Send as ``who`` (any address, no key needed) unless a call names its sender."""
        if not self.access.impersonates:
            raise NotOnThisNode(
                f"env.prank cannot work on {self.access.where}: it sends without the sender's"
                " signature, which only the in-memory chain can skip (send from env.accounts)"
            )
        previous, self._prank = self._prank, address_of(who)
        try:
            yield
        finally:
            self._prank = previous

    def _sender(self, sender: Addressable | None) -> bytes:
        if sender is not None:
            return address_of(sender)
        return self._prank if self._prank is not None else self.accounts[0].address

    # -- expected failures
    @contextmanager
    def reverts(self, expected: str | None = None, **fields: object) -> Iterator[None]:
        """Expect the block to fail: with reason ``expected``, or with the typed
        error named ``expected`` and these field values; None: any failure."""
        want = _wanted(expected, fields)
        try:
            yield
        except Reverted as exc:
            problem = _mismatch(exc, expected, fields)
            if problem:
                raise AssertionError(f"expected a revert {want}, but {problem}") from None
            return
        raise AssertionError(f"expected a revert {want}, but it succeeded")

    # -- contracts
    def deploy(
        self,
        source: str | Path,
        *args: object,
        sender: Addressable | None = None,
        value: int = 0,
        contract: str | None = None,
        gas: int | None = None,
    ) -> Contract:
        """Compile (once per source) and deploy, passing ``args`` to ``init``."""
        c = compiled(source, contract)
        init = next((f for f in c.abi["functions"] if f["kind"] == "init"), None)
        if init is None and args:
            raise ArgumentError(f"{c.name} has no init function to take arguments")
        flat = to_vm_values(f"{c.name} init", init["inputs"], args) if init else []
        try:
            init_data = encode_values(list(c.init_params), flat)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ArgumentError(f"{c.name} init: {exc}") from None
        raw, intrinsic = self.send_tx(None, deploy_data(c.code, init_data), value, sender, gas)
        if not raw.success:
            self.record_receipt(raw, "init", intrinsic)
            raise Reverted(describe_failure(raw, c.abi), f"{c.name} init", raw)
        self._reports.update(c.reports)
        deployed = Contract(self, raw.contract_address, c)
        self.record_receipt(raw, "init", intrinsic)  # after: init's events decode through the ABI
        return deployed

    def record_receipt(self, receipt: Receipt, function: str, intrinsic: int) -> TxReceipt:
        """Keep ``receipt`` as ``env.last_receipt``, its events decoded."""
        self.last_receipt = TxReceipt(receipt, function, intrinsic, self)
        return self.last_receipt

    def send_tx(
        self,
        to: bytes | None,
        data: bytes,
        value: int = 0,
        sender: Addressable | None = None,
        gas: int | None = None,
    ) -> tuple[Receipt, int]:
        """Send one transaction: its receipt and its intrinsic gas (the part
        of ``gas_used`` that is not execution). ``sender`` without a key here
        is impersonated (on the in-memory chain only).

        Raises InvalidTransaction (nothing changed) when the chain refuses it,
        for instance when the sender cannot pay ``value``."""
        address = self._sender(sender)
        key = self._keys.get(address)
        if key is None and not self.access.impersonates:
            raise NotOnThisNode(
                f"cannot send as 0x{address.hex()}: this env has no key for it, and"
                f" {self.access.where} checks signatures (only the in-memory chain can"
                " impersonate an address)"
            )
        gas = self.gas_limit if gas is None else gas
        sent = self.access.send(Outgoing(address, key, to, value, gas, self.gas_price, data))
        return sent.receipt, sent.intrinsic_gas

    def view(
        self, to: bytes, name: str, flat: list, sender: Addressable | None, value: int
    ) -> CallResult:
        """Run ``name`` on the state as it is, at ``env.timestamp``; nothing is kept."""
        return self.access.call(to, name, flat, self._sender(sender), value)

    def module_at(self, address: bytes):
        """The module deployed at ``address`` (None: no contract)."""
        return self.access.module_at(address)

    def events_of(self, address: bytes, event: str | None = None) -> list[Event]:
        """Every event ``address`` emitted so far (only ``event``, if given), in order."""
        return [
            self.event_of(g.address, g.event, g.values) for g in self.access.logs(address, event)
        ]

    def decode_logs(self, logs: Sequence[Log]) -> list[Event]:
        return [self.event_of(log.address, log.event, log.values) for log in logs]

    def event_of(self, address: bytes, name: str, values: Sequence[object]) -> Event:
        """An event with named fields: through the ABI of a contract this env
        deployed, else through the emitting module's event table."""
        known = self.contracts.get(address)
        if known is not None:
            return known.event(name, values)
        module = self.access.module_at(address)
        ev = next((e for e in module.events if e.name == name), None) if module else None
        names = [f.name for f in ev.fields] if ev else [f"arg{i}" for i in range(len(values))]
        return Event.of(name, dict(zip(names, values, strict=True)), address)

    # -- oracles
    def oracle_keys(self, n: int, label: str = "oracle") -> OracleKeys:
        """``n`` oracle keys; ``bytes(keys)`` is the signer set a contract takes."""
        return OracleKeys.make(n, label)

    def sign_report(
        self,
        report: ReportType | str,
        fields: Mapping[str, object] | Sequence[object],
        signers: oracles.Signers,
        timestamp: int | None = None,
    ) -> bytes:
        """A report of type ``report`` (a name declared by a contract deployed
        here, or a contract's ``c.reports[name]``) holding ``fields``, signed
        by ``signers`` at ``timestamp`` (default: now)."""
        if isinstance(report, str):
            if report not in self._reports:
                known = ", ".join(self._reports) or "none (deploy the contract first)"
                raise ArgumentError(
                    f"no report type {report!r}; the deployed contracts declare: {known}"
                )
            report = self._reports[report]
        when = self.timestamp if timestamp is None else timestamp
        return oracles.sign(report, fields, signers, when)


def _wanted(expected: str | None, fields: Mapping[str, object]) -> str:
    if expected is None:
        return "(any)"
    if fields:
        return f"{expected}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"
    return repr(expected)


def _mismatch(exc: Reverted, expected: str | None, fields: Mapping[str, object]) -> str | None:
    """Why ``exc`` is not the expected failure (None when it is)."""
    if expected is None:
        return None
    if exc.error_name is not None and exc.error_name == expected:
        wrong = {k: v for k, v in fields.items() if exc.error_fields.get(k, _ABSENT) != v}
        if not wrong:
            return None
        return f"{exc.function} {exc.failure}"
    if exc.reason == expected and not fields:
        return None
    return f"{exc.function} {exc.failure_text}"


_ABSENT = object()
