"""The audit corpus (tests/audit_corpus/): every file compiles, every
vulnerable file names the detectors that would count as finding it, and the
analyzer's detection and false-flag rates over the corpus hold their floor
and ceiling (tests/audit_corpus/score.py prints the details)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from deed.analyzer.detectors import DETECTORS

CORPUS = Path(__file__).parent / "audit_corpus"

# The analyzer's goal (issue 11): at least 80% of vulnerable variants found,
# at most 5% of fixed and safe files flagged.
MIN_DETECTION = 0.80
MAX_FALSE_FLAGS = 0.05


def _load_score():
    spec = importlib.util.spec_from_file_location("audit_corpus_score", CORPUS / "score.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


score = _load_score()
FILES = score.corpus_files(CORPUS)
KNOWN_IDS = {d.id for d in DETECTORS}


def _id(entry) -> str:
    return str(entry[2].relative_to(CORPUS))


@pytest.mark.parametrize("entry", FILES, ids=[_id(e) for e in FILES])
def test_compiles(entry):
    _, _, path = entry
    outs = score.compile_contracts(path)  # raises CompileError on any contract
    assert outs and all(out.bytecode for out in outs)


@pytest.mark.parametrize(
    "entry", [e for e in FILES if e[1] == "vuln"], ids=[_id(e) for e in FILES if e[1] == "vuln"]
)
def test_vulnerable_files_name_known_detectors(entry):
    _, _, path = entry
    ids = score.expected_ids(path)
    assert ids, f"{path.name}: the first line must be '# expect: id1, id2'"
    unknown = [i for i in ids if i not in KNOWN_IDS]
    assert not unknown, f"{path.name}: unknown detector ids {unknown}"


def test_layout():
    """Every vulnerable file has its fixed twin and every fixed or safe file its
    vulnerable one; names are snake_case."""
    classes = {cls for cls, _, _ in FILES}
    assert len(classes) >= 17
    names = {(cls, p.name.split(".")[0], kind) for cls, kind, p in FILES}
    for cls, name, kind in names:
        twin = "fixed" if kind == "vuln" else "vuln"
        assert (cls, name, twin) in names, f"{cls}/{name}.{kind}.deed has no .{twin} twin"
        assert name.replace("_", "").isalnum() and name == name.lower(), name


def test_scoring_rules(tmp_path):
    """Found: an expected detector fires anywhere in the file; flagged: any finding."""
    cls = tmp_path / "unprotected-funds"
    cls.mkdir()
    drain = """contract T:
    event Paid(to: address, amount: uint)
    owner: address
    init():
        self.owner = msg.sender
    pub pay(to: address, amount: uint):
        send(to, amount)
        emit Paid(to, amount)
"""
    (cls / "a.vuln.deed").write_text("# expect: unprotected-funds\n" + drain)
    (cls / "b.vuln.deed").write_text("# expect: [late-cover]\n" + drain)
    (cls / "a.fixed.deed").write_text(
        drain.replace(
            "        send(", '        require(msg.sender == self.owner, "no")\n        send('
        )
    )
    (cls / "b.safe.deed").write_text(drain)
    s = score.score(tmp_path)
    by_name = {f.path: f for f in s.files}
    assert by_name["unprotected-funds/a.vuln.deed"].found
    assert by_name["unprotected-funds/b.vuln.deed"].expect == ["late-cover"]
    assert not by_name["unprotected-funds/b.vuln.deed"].found
    assert not by_name["unprotected-funds/a.fixed.deed"].flagged
    assert by_name["unprotected-funds/b.safe.deed"].flagged
    assert (s.vuln_found, s.vuln_total, s.clean_flagged, s.clean_total) == (1, 2, 1, 2)
    assert [f.path for f in s.misses] == ["unprotected-funds/b.vuln.deed"]
    assert score.main(["--root", str(tmp_path), "--json"]) == 0


def test_rates():
    s = score.score(CORPUS)
    assert not s.errors, [(f.path, f.error) for f in s.errors]
    assert s.vuln_total >= 50 and s.clean_total >= 80
    report = score.render(s)
    assert s.detection >= MIN_DETECTION, report
    assert s.false_flags <= MAX_FALSE_FLAGS, report


HOLDOUT = Path(__file__).parent / "audit_holdout"


def test_holdout_rates():
    """The second corpus, written by someone who saw neither the first nor the
    analyzer's code. Its first, blind measurement found 93.3% of its
    vulnerable files and flagged 7.4% of its clean ones; the misses and false
    flags then fixed are general rules (README, spec/analyzer.md), and it is
    held to the same goal since."""
    s = score.score(HOLDOUT)
    assert not s.errors, [(f.path, f.error) for f in s.errors]
    assert s.vuln_total >= 40 and s.clean_total >= 60
    report = score.render(s)
    assert s.detection >= MIN_DETECTION, report
    assert s.false_flags <= MAX_FALSE_FLAGS, report


# Exploits: a few vulnerable files are attacked on a chain, and their fixed
# twins refuse the same attack, so that the corpus's labels are behaviour,
# not opinion.


def _module(rel: str):
    return score.compile_contracts(CORPUS / rel)[0].module


def _deploy(h, rel: str, types=(), values=(), value: int = 0, sender: str = "alice") -> bytes:
    from deed.vm.codec import encode_values

    r = h.deploy(
        _module(rel), sender=sender, init_args=encode_values(list(types), list(values)), value=value
    )
    assert r.success, r.revert_reason
    return r.contract_address


@pytest.mark.parametrize("kind", ["vuln", "fixed"])
def test_exploit_ignored_guard_releases_escrow(kind):
    """unprotected-funds/escrow_soft_guard: a stranger releases the buyer's escrow."""
    from support import Harness

    from deed.vm.types import ADDRESS

    h = Harness()
    c = _deploy(
        h, f"unprotected-funds/escrow_soft_guard.{kind}.deed", [ADDRESS], [h.addr("bob")], value=500
    )
    before = h.chain.balance(h.addr("bob"))
    r = h.send("dave", c, "release")
    if kind == "vuln":
        assert r.success and h.chain.balance(h.addr("bob")) == before + 500
    else:
        assert r.revert_reason == "buyer only"


@pytest.mark.parametrize("kind", ["vuln", "fixed"])
def test_exploit_self_nominated_reviewer(kind):
    """unprotected-role-change/self_nomination: anyone makes themselves reviewer and pays out."""
    from support import Harness

    from deed.vm.types import ADDRESS, U256

    h = Harness()
    c = _deploy(
        h,
        f"unprotected-role-change/self_nomination.{kind}.deed",
        [ADDRESS, U256],
        [h.addr("bob"), 4],
        value=400,
    )
    r = h.send("dave", c, "set_reviewer", [h.addr("dave")])
    if kind == "vuln":
        assert r.success
        assert h.send("dave", c, "approve_milestone").success
    else:
        assert r.revert_reason == "client only"


@pytest.mark.parametrize("kind", ["vuln", "fixed"])
def test_exploit_copied_reveal(kind):
    """front-running/shared_commit: a watcher copies carol's reveal and takes the prize."""
    from support import Harness

    from deed.vm.types import BYTES32, U64

    def keccak256(data: bytes) -> bytes:
        from Crypto.Hash import keccak

        return keccak.new(data=data, digest_bits=256).digest()

    h = Harness()
    answer, salt = b"42".ljust(32, b"\0"), b"salt".ljust(32, b"\0")
    c = _deploy(
        h,
        f"front-running/shared_commit.{kind}.deed",
        [BYTES32, U64],
        [keccak256(answer), h.timestamp + 100],
        value=900,
    )
    who = h.addr("carol") if kind == "fixed" else b""
    assert h.send("carol", c, "commit", [keccak256(answer + salt + who)]).success
    h.next_block(200)
    r = h.send("dave", c, "reveal", [answer, salt])  # dave copies carol's pending reveal
    if kind == "vuln":
        assert r.success and r.logs[-1].values[0] == h.addr("dave")
    else:
        assert r.revert_reason == "not committed"
        assert h.send("carol", c, "reveal", [answer, salt]).success


@pytest.mark.parametrize("kind", ["vuln", "fixed"])
def test_exploit_replayed_gift_card(kind):
    """signature/constant_nonce: one signed gift card is cashed twice."""
    from support import Harness

    from deed.vm import packing
    from deed.vm.types import ADDRESS, BYTES32, U256

    h = Harness()
    c = _deploy(h, f"signature/constant_nonce.{kind}.deed", value=1_000)
    shop = h.keys["alice"]
    card = b"card-7".ljust(32, b"\0")
    if kind == "vuln":
        payload = packing.encode([BYTES32, ADDRESS, U256], [card, h.addr("bob"), 100])
        sig = packing.sign_message(shop, 1, c, 0, payload)
    else:
        payload = packing.encode([ADDRESS, U256], [h.addr("bob"), 100])
        sig = packing.sign_message(shop, 1, c, int.from_bytes(card, "big"), payload)
    args = [card, 100, shop.public_key, sig]
    assert h.send("bob", c, "cash", args).success
    again = h.send("bob", c, "cash", args)
    if kind == "vuln":
        assert again.success
    else:
        assert again.revert_reason == "cashed already"


@pytest.mark.parametrize("kind", ["vuln", "fixed"])
def test_exploit_backdated_season(kind):
    """late-cover/season_start_min: cover is bought to start before the purchase."""
    from support import Harness

    from deed.vm.types import TAG_BYTES, ValueType

    h = Harness()
    h.next_block(90 * 86_400)
    c = _deploy(
        h, f"late-cover/season_start_min.{kind}.deed", [ValueType(TAG_BYTES, 64)], [b"\1" * 64]
    )
    past = h.timestamp - 30 * 86_400
    r = h.send("bob", c, "insure", [b"f".ljust(32, b"\0"), past, 1_000], value=100)
    assert r.success, r.revert_reason
    start = r.logs[-1].values[2]
    assert start == (past if kind == "vuln" else h.timestamp)


SPY = """
interface Shares:
    @view
    pub shares_of(holder: address) -> uint

contract Spy:
    event Saw(shares: uint)
    ledger: address
    pub seen: uint
    init(ledger_addr: address):
        self.ledger = ledger_addr
    @payable
    pub on_redeem(holder: address, shares: uint):
        self.seen = Shares(self.ledger).shares_of(holder)
        emit Saw(self.seen)
"""


@pytest.mark.parametrize("kind", ["vuln", "fixed"])
def test_exploit_hook_sees_unburnt_shares(kind):
    """write-after-call/vault_hook_ledger: while the vault pays through the hook,
    the share ledger (another contract) still shows the shares being redeemed."""
    from support import Harness

    from deed.compiler.driver import compile_source
    from deed.vm.codec import encode_values
    from deed.vm.types import ADDRESS

    h = Harness()
    outs = {
        o.contract_name: o
        for o in score.compile_contracts(CORPUS / f"write-after-call/vault_hook_ledger.{kind}.deed")
    }
    vault = h.deployed(outs["Vault"].module)
    ledger = h.deployed(outs["ShareLedger"].module, init_args=encode_values([ADDRESS], [vault]))
    spy = h.deployed(compile_source(SPY).module, init_args=encode_values([ADDRESS], [ledger]))
    assert h.send("alice", vault, "set_ledger", [ledger]).success
    assert h.send("bob", vault, "set_hook", [spy]).success
    assert h.send("bob", vault, "deposit", value=100).success
    r = h.send("bob", vault, "redeem", [40])
    assert r.success, r.revert_reason
    # the vulnerable vault calls the hook before burning: the hook sees all 100
    assert h.call(spy, "seen").return_values == ((100,) if kind == "vuln" else (60,))
