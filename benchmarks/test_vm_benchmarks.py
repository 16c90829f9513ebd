"""VM benchmarks on the hand-assembled twins of ../shared/anchors/contracts.

Run: .venv/bin/python -m pytest benchmarks --benchmark-only
Each benchmark stores its rate in extra_info; the reference figures (Vyper on
py-evm and pyrevm) come from ../shared/anchors/run.sh on the same machine.
``benchmarks/anchors_side_by_side.py`` runs the transfers and lifecycles here
and the anchors in one invocation and prints them side by side.

- token: deploy, mint 1,000,000 to each of 1,000 accounts (untimed), then
  5,000 transfers (sender i % 1000, another receiver, amount 1..97) through the
  full transaction path (validation, nonce, intrinsic gas, fee, journal,
  receipt) in one block; balances are checked against a Python model.
- escrow lifecycle: deploy + deposit + confirm_delivery; insurance lifecycle:
  join + report_delay + claim on a funded pool; 100 each per round.
- compute: loop_sum(100000), fib(100000), keccak_chain(10000) as read-only calls.
"""

from __future__ import annotations

import random

import pytest

from deed.contracts import assembly
from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.opcodes import LIMITS
from deed.vm.state import MemoryBackend
from deed.vm.types import ADDRESS, U64

N_ACCOUNTS = 1_000
N_TRANSFERS = 5_000
ETHER = 10**18


def module_bytes(name: str) -> bytes:
    return assemble(assembly(name)).encode()


KEYS = [KeyPair.from_text(f"bench {i}") for i in range(N_ACCOUNTS)]
OWNER = KeyPair.from_text("bench owner")


def token_setup(signed: bool):
    chain = Chain(MemoryBackend(), check_signatures=signed)
    chain.genesis({k.address: 10**24 for k in KEYS + [OWNER]})
    block = chain.begin_block(100)
    r = block.apply(
        Transaction(
            1, 0, OWNER.public_key, None, 0, 10**7, 1, deploy_data(module_bytes("token"))
        ).signed(OWNER)
    )
    tok = r.contract_address
    for i, k in enumerate(KEYS):
        data = chain.encode_call(tok, "mint", [k.address, 1_000_000])
        block = _room(chain, block, 10**6)
        assert block.apply(
            Transaction(1, i + 1, OWNER.public_key, tok, 0, 10**6, 1, data).signed(OWNER)
        ).success
    block.commit()
    rng = random.Random(7)
    nonces = [0] * N_ACCOUNTS
    expected = {i: 1_000_000 for i in range(N_ACCOUNTS)}
    txs = []
    sel = chain.export(tok, "transfer")
    for i in range(N_TRANSFERS):
        s = i % N_ACCOUNTS
        t = (s + 1 + rng.randrange(N_ACCOUNTS - 1)) % N_ACCOUNTS
        amount = 1 + rng.randrange(97)
        expected[s] -= amount
        expected[t] += amount
        data = sel.selector + encode_values(sel.params, [KEYS[t].address, amount])
        tx = Transaction(1, nonces[s], KEYS[s].public_key, tok, 0, 100_000, 1, data)
        txs.append(tx.signed(KEYS[s]) if signed else tx)
        nonces[s] += 1
    return (chain, tok, txs, expected), {}


def _room(chain, block, gas_limit: int):
    """The block, or a new one when the block gas limit leaves no room for gas_limit."""
    if block.gas_used + gas_limit <= LIMITS.max_block_gas:
        return block
    block.commit()
    return chain.begin_block(chain.head.timestamp + 1)


def run_transfers(chain, tok, txs, expected):
    """Under gas schedule 2 the 5,000 transfers fill about four blocks."""
    block = chain.begin_block(200)
    for tx in txs:
        if block.gas_used + tx.gas_limit > LIMITS.max_block_gas:
            block = _room(chain, block, tx.gas_limit)
        block.apply(tx)
    block.commit()
    for i in range(0, N_ACCOUNTS, 50):
        assert chain.call(tok, "balance_of", [KEYS[i].address]).return_values == (expected[i],)


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_token_transfers_full_transaction_path(benchmark, signed):
    benchmark.group = "token transfers (5,000 per round)"
    benchmark.pedantic(
        run_transfers, setup=lambda: token_setup(signed), rounds=5 if not signed else 3
    )
    benchmark.extra_info["tx_per_s_median"] = round(N_TRANSFERS / benchmark.stats.stats.median)


def run_transfers_checked_ahead(chain, tok, txs, expected, checker):
    """As run_transfers, through ``apply_all``: a worker process verifies the
    signatures ahead of execution (deed.vm.sigcheck). A block is filled as
    run_transfers fills it, in batches: each batch is as many transactions
    as the block's room holds at their gas limits (then the room left by the
    gas they did not use takes the next batch), so the blocks come out as
    full as run_transfers's and the two commit as often."""
    i = 0
    block = chain.begin_block(chain.head.timestamp + 1)
    while i < len(txs):
        n, gas = 0, block.gas_used
        while i + n < len(txs) and gas + txs[i + n].gas_limit <= LIMITS.max_block_gas:
            gas += txs[i + n].gas_limit
            n += 1
        if n == 0:
            block.commit()
            block = chain.begin_block(chain.head.timestamp + 1)
            continue
        assert not any(isinstance(r, Exception) for r in block.apply_all(txs[i : i + n], checker))
        i += n
    block.commit()
    for k in range(0, N_ACCOUNTS, 50):
        assert chain.call(tok, "balance_of", [KEYS[k].address]).return_values == (expected[k],)


def test_token_transfers_signed_checked_ahead(benchmark):
    from deed.vm.sigcheck import ProcessChecker

    benchmark.group = "token transfers (5,000 per round)"
    with ProcessChecker() as checker:

        def setup():
            (chain, tok, txs, expected), _ = token_setup(True)
            return (chain, tok, txs, expected, checker), {}

        benchmark.pedantic(run_transfers_checked_ahead, setup=setup, rounds=3)
    benchmark.extra_info["tx_per_s_median"] = round(N_TRANSFERS / benchmark.stats.stats.median)


#: Lifecycles per block: a deployment pays for translating its code (gas
#: schedule 2), so 100 of them do not fit one block's gas.
ESCROWS_PER_BLOCK = 20


def escrow_round(chain, buyer, seller, arbiter, code, n):
    block = None
    nonce = chain.nonce(buyer.address)
    init = encode_values([ADDRESS, ADDRESS, U64], [seller.address, arbiter.address, 3600])
    for k in range(n):
        if k % ESCROWS_PER_BLOCK == 0:
            if block is not None:
                block.commit()
            block = chain.begin_block(max(300, chain.head.timestamp + 1))
        r = block.apply(
            Transaction(1, nonce, buyer.public_key, None, 0, 10**6, 1, deploy_data(code, init))
        )
        e = r.contract_address
        block.apply(
            Transaction(
                1, nonce + 1, buyer.public_key, e, ETHER, 10**6, 1, chain.encode_call(e, "deposit")
            )
        )
        done = block.apply(
            Transaction(
                1,
                nonce + 2,
                buyer.public_key,
                e,
                0,
                10**6,
                1,
                chain.encode_call(e, "confirm_delivery"),
            )
        )
        assert done.success
        nonce += 3
    block.commit()


def test_escrow_lifecycles(benchmark):
    benchmark.group = "lifecycles (100 per round)"
    buyer, seller, arbiter = (
        KeyPair.from_text(f"escrow {n}") for n in ("buyer", "seller", "arbiter")
    )
    chain = Chain(MemoryBackend(), check_signatures=False)
    chain.genesis({buyer.address: 10**30})
    chain.block_counter = 0
    code = module_bytes("escrow")
    benchmark.pedantic(escrow_round, args=(chain, buyer, seller, arbiter, code, 100), rounds=5)
    benchmark.extra_info["lifecycles_per_s_median"] = round(100 / benchmark.stats.stats.median)


def insurance_round(chain, pool, member, oracle, n):
    block = chain.begin_block(chain.head.timestamp + 1)
    nonce_m, nonce_o = chain.nonce(member.address), chain.nonce(oracle.address)
    join = chain.export(pool, "join")
    for _ in range(n):
        r = block.apply(
            Transaction(
                1, nonce_m, member.public_key, pool, 10**16, 10**6, 1, join.selector + b"F" * 32
            )
        )
        (pid,) = r.return_values
        block.apply(
            Transaction(
                1,
                nonce_o,
                oracle.public_key,
                pool,
                0,
                10**6,
                1,
                chain.encode_call(pool, "report_delay", [pid, 150]),
            )
        )
        paid = block.apply(
            Transaction(
                1,
                nonce_m + 1,
                member.public_key,
                pool,
                0,
                10**6,
                1,
                chain.encode_call(pool, "claim", [pid]),
            )
        )
        assert paid.success
        nonce_m += 2
        nonce_o += 1
    block.commit()
    assert chain.call(pool, "reserved").return_values == (0,)


def test_insurance_lifecycles(benchmark):
    benchmark.group = "lifecycles (100 per round)"
    member, oracle = KeyPair.from_text("member"), KeyPair.from_text("oracle")
    chain = Chain(MemoryBackend(), check_signatures=False)
    chain.genesis({member.address: 10**30, oracle.address: 10**30})
    block = chain.begin_block(1)
    init = encode_values([ADDRESS], [oracle.address])
    r = block.apply(
        Transaction(
            1,
            0,
            member.public_key,
            None,
            100 * ETHER,
            10**6,
            1,
            deploy_data(module_bytes("insurance"), init),
        )
    )
    block.commit()
    benchmark.pedantic(
        insurance_round, args=(chain, r.contract_address, member, oracle, 100), rounds=5
    )
    benchmark.extra_info["lifecycles_per_s_median"] = round(100 / benchmark.stats.stats.median)


@pytest.fixture(scope="module")
def compute_chain():
    chain = Chain(MemoryBackend(), check_signatures=False)
    chain.genesis({OWNER.address: 10**24})
    block = chain.begin_block(1)
    r = block.apply(
        Transaction(1, 0, OWNER.public_key, None, 0, 10**7, 1, deploy_data(module_bytes("compute")))
    )
    block.commit()
    return chain, r.contract_address


EXPECTED = {"loop_sum": 49804517413, "fib": None, "keccak_chain": None}


@pytest.mark.parametrize(
    "fn, n", [("loop_sum", 100_000), ("fib", 100_000), ("keccak_chain", 10_000)]
)
def test_compute_kernels(benchmark, compute_chain, fn, n):
    benchmark.group = "compute kernels"
    chain, addr = compute_chain
    result = benchmark.pedantic(
        chain.call, args=(addr, fn, [n]), kwargs={"gas_limit": 10**9}, rounds=5, warmup_rounds=1
    )
    assert result.success
    if EXPECTED[fn] is not None:
        assert result.return_values == (EXPECTED[fn],)
    benchmark.extra_info["gas_used"] = result.gas_used
