"""The instruction set and the gas schedule: the single source of truth.

Every opcode is listed once in :data:`OPCODES` with its immediates, its stack
effect (kinds popped and pushed) and its base gas. Costs that depend on data
(storage, hashing, memory, events, calls) are in :data:`GAS`. ``spec/vm.md``
embeds tables rendered from this module; a test checks they agree.

Stack effects use the kinds of :mod:`deed.vm.types` (``I`` integer, ``B`` bytes),
plus ``A`` (either kind; where several ``A`` appear they must agree) and ``*``
(decided by an immediate: a constant, local, function, event, error or import).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OpInfo:
    code: int
    name: str
    immediates: tuple[str, ...]  # "u8", "u16", "u32" or "t" (integer type byte)
    pops: str  # kinds, deepest first; "*" = depends on an immediate
    pushes: str
    gas: int
    dynamic: bool  # charges more gas than its base, depending on data
    doc: str
    size: int  # bytes of the instruction: the opcode and its immediates
    deploy: int  # gas a deployment pays per occurrence: translating it to the node's engine

    def __reduce__(self):
        """Pickle as a reference to the table entry (a node's artifacts hold many)."""
        return (_by_code, (self.code,))


IMMEDIATE_SIZES = {"u8": 1, "t": 1, "u16": 2, "u32": 4}

# Flow classes used by the verifier and the block splitter.
JUMPS = {"JMP", "JMPIF", "JMPIFNOT"}
TERMINATORS = {"JMP", "RET", "REVERT", "RAISE"}

_T = ("t",)


#: Deployment gas per instruction, by what translating it costs a node: the
#: lines of Python it becomes and their compilation, measured by
#: ``benchmarks/adversarial`` (the "deploy" attacks). Instructions kept on the
#: symbolic stack cost little; checked arithmetic, host calls and control flow
#: become statements that Python's compiler takes microseconds each to compile.
_DEPLOY_SYMBOLIC = 60
_DEPLOY_LINE = 1_100
DEPLOY_GAS: dict[str, int] = {
    **dict.fromkeys(
        [
            "CONST",
            "POP",
            "DUP",
            "SWAP",
            "LOAD",
            "CALLER",
            "CALLVALUE",
            "SELF",
            "HEIGHT",
            "TIMESTAMP",
            "ORIGIN",
            "CHAINID",
        ],
        _DEPLOY_SYMBOLIC,
    ),
    **dict.fromkeys(
        [
            "LT",
            "GT",
            "LE",
            "GE",
            "EQ",
            "NE",
            "NOT",
            "AND",
            "OR",
            "STORE",
            "LEN",
            "MIN",
            "MAX",
            "SELFBALANCE",
            "RET",
        ],
        _DEPLOY_LINE,
    ),
    # a result and its range check: the check compiles like two lines
    **dict.fromkeys(
        ["ADD", "SUB", "MUL", "NEG", "CAST", "BAND", "BOR", "BXOR", "BNOT", "EXP", "SHL", "SHR"],
        3 * _DEPLOY_LINE,
    ),
    **dict.fromkeys(["DIV", "MOD"], 4 * _DEPLOY_LINE),
    **dict.fromkeys(["BYTEAT", "B2I", "REQUIRE", "REVERT", "RAISE"], 2 * _DEPLOY_LINE),
    # a jump makes a block: a leaf of the dispatch tree, and the exit code
    **dict.fromkeys(["JMP"], 3 * _DEPLOY_LINE),
    **dict.fromkeys(["JMPIF", "JMPIFNOT", "CALL"], 4 * _DEPLOY_LINE),
}
_DEPLOY_HOST = 2 * _DEPLOY_LINE  # a host call and the segment's gas check


def _op(code, name, imm, pops, pushes, gas, doc, dynamic=False) -> OpInfo:
    size = 1 + sum(IMMEDIATE_SIZES[i] for i in imm)
    deploy = DEPLOY_GAS.get(name, _DEPLOY_HOST)
    return OpInfo(code, name, tuple(imm), pops, pushes, gas, dynamic, doc, size, deploy)


OPCODES: tuple[OpInfo, ...] = (
    # stack and locals
    _op(0x01, "CONST", ["u16"], "", "*", 2, "push constant k"),
    _op(0x02, "POP", [], "A", "", 1, "drop the top value"),
    _op(0x03, "DUP", ["u8"], "*", "*", 2, "push a copy of the value n below the top (0 = top)"),
    _op(0x04, "SWAP", ["u8"], "*", "*", 2, "swap the top with the value n below it (n >= 1)"),
    _op(0x05, "LOAD", ["u8"], "", "*", 2, "push local n (parameters are the first locals)"),
    _op(0x06, "STORE", ["u8"], "*", "", 2, "pop into local n"),
    # checked integer arithmetic: the result must fit type t, else revert
    _op(0x10, "ADD", _T, "II", "I", 3, "a + b"),
    _op(0x11, "SUB", _T, "II", "I", 3, "a - b"),
    _op(0x12, "MUL", _T, "II", "I", 5, "a * b"),
    _op(0x13, "DIV", _T, "II", "I", 8, "a / b rounded toward zero; b = 0 reverts"),
    _op(0x14, "MOD", _T, "II", "I", 8, "remainder with the sign of a; b = 0 reverts"),
    _op(0x15, "EXP", _T, "II", "I", 50, "a ** b; b < 0 reverts"),
    _op(0x16, "NEG", _T, "I", "I", 3, "-a"),
    _op(0x17, "CAST", _T, "I", "I", 3, "checked conversion: revert unless a fits t"),
    _op(0x18, "LT", [], "II", "I", 3, "a < b"),
    _op(0x19, "GT", [], "II", "I", 3, "a > b"),
    _op(0x1A, "LE", [], "II", "I", 3, "a <= b"),
    _op(0x1B, "GE", [], "II", "I", 3, "a >= b"),
    _op(0x1C, "EQ", [], "AA", "I", 3, "a == b (same kind)"),
    _op(0x1D, "NE", [], "AA", "I", 3, "a != b (same kind)"),
    _op(0x1E, "NOT", [], "I", "I", 3, "1 if a == 0 else 0"),
    _op(0x1F, "AND", [], "II", "I", 3, "1 if a and b are non-zero else 0"),
    _op(0x20, "OR", [], "II", "I", 3, "1 if a or b is non-zero else 0"),
    _op(0x21, "BAND", _T, "II", "I", 3, "bitwise and (two's complement)"),
    _op(0x22, "BOR", _T, "II", "I", 3, "bitwise or"),
    _op(0x23, "BXOR", _T, "II", "I", 3, "bitwise xor"),
    _op(0x24, "BNOT", _T, "I", "I", 3, "bitwise not within type t"),
    _op(0x25, "SHL", _T, "II", "I", 3, "a << b; reverts if the result does not fit t"),
    _op(0x26, "SHR", _T, "II", "I", 3, "a >> b (arithmetic); b < 0 reverts"),
    _op(0x27, "MIN", [], "II", "I", 3, "smaller of a and b"),
    _op(0x28, "MAX", [], "II", "I", 3, "larger of a and b"),
    # byte strings
    _op(0x30, "LEN", [], "B", "I", 2, "length of a byte string"),
    _op(0x31, "CONCAT", [], "BB", "B", 20, "a followed by b; + memory", dynamic=True),
    _op(
        0x32,
        "SLICE",
        [],
        "BII",
        "B",
        20,
        "bytes [start, start+len); out of range reverts; + memory",
        dynamic=True,
    ),
    _op(0x33, "BYTEAT", [], "BI", "I", 8, "byte at index; out of range reverts"),
    _op(
        0x34,
        "I2B",
        ["u8"],
        "I",
        "B",
        18,
        "n-byte big-endian two's complement; reverts if a does not fit; + memory",
        dynamic=True,
    ),
    _op(
        0x35,
        "B2I",
        _T,
        "B",
        "I",
        10,
        "big-endian (signed for i types) value of at most 32 bytes, checked against t",
    ),
    _op(0x36, "SHA256", [], "B", "B", 60, "SHA-256 digest; + hashing per word", dynamic=True),
    _op(
        0x37, "KECCAK256", [], "B", "B", 450, "Keccak-256 digest; + hashing per word", dynamic=True
    ),
    _op(
        0x38,
        "ED25519",
        [],
        "BBB",
        "I",
        0,
        "verify(pubkey, message, signature) -> bool; + signature gas",
        dynamic=True,
    ),
    _op(
        0x39,
        "MKEY",
        [],
        "BA",
        "B",
        0,
        "storage key of map entry: sha256(base || encoded key); + hashing",
        dynamic=True,
    ),
    # control flow
    _op(0x40, "JMP", ["u32"], "", "", 2, "jump to offset"),
    _op(0x41, "JMPIF", ["u32"], "I", "", 3, "jump if a != 0"),
    _op(0x42, "JMPIFNOT", ["u32"], "I", "", 3, "jump if a == 0"),
    _op(0x43, "CALL", ["u16"], "*", "*", 15, "call internal function f", dynamic=True),
    _op(0x44, "RET", [], "*", "", 2, "return; the stack holds exactly the return values"),
    _op(0x45, "REVERT", [], "B", "", 2, "revert with a reason string"),
    _op(
        0x46,
        "RAISE",
        ["u16"],
        "*",
        "",
        2,
        "revert with typed error e and its fields; + the fields kept in the receipt",
        dynamic=True,
    ),
    _op(0x47, "REQUIRE", ["u16"], "I", "", 3, "revert with constant string k if a == 0"),
    # storage
    _op(
        0x50,
        "SLOAD",
        [],
        "B",
        "I",
        0,
        "integer at storage key (0 if absent); + storage read",
        dynamic=True,
    ),
    _op(
        0x51,
        "SLOADB",
        ["u16"],
        "B",
        "B",
        0,
        "bytes at storage key (constant k if absent); + storage read",
        dynamic=True,
    ),
    _op(
        0x52,
        "SSTORE",
        [],
        "BI",
        "",
        0,
        "store an integer (0 deletes); + storage write",
        dynamic=True,
    ),
    _op(
        0x53,
        "SSTOREB",
        ["u16"],
        "BB",
        "",
        0,
        "store bytes (constant k deletes); + storage write",
        dynamic=True,
    ),
    # environment
    _op(0x60, "CALLER", [], "", "B", 2, "address of the caller"),
    _op(0x61, "CALLVALUE", [], "", "I", 2, "native value sent with this call"),
    _op(0x62, "SELF", [], "", "B", 2, "address of this contract"),
    _op(0x63, "BALANCE", [], "B", "I", 0, "balance of an address; + account read", dynamic=True),
    _op(0x64, "SELFBALANCE", [], "", "I", 30, "balance of this contract"),
    _op(0x65, "HEIGHT", [], "", "I", 2, "block height"),
    _op(0x66, "TIMESTAMP", [], "", "I", 2, "block timestamp (seconds)"),
    _op(0x67, "ORIGIN", [], "", "B", 2, "address that signed the transaction"),
    _op(
        0x68,
        "CHAINID",
        [],
        "",
        "I",
        2,
        "the chain's id (transactions name it; signed messages should)",
    ),
    # effects
    _op(
        0x70, "EMIT", ["u16"], "*", "", 0, "emit event e with its fields; + event gas", dynamic=True
    ),
    _op(
        0x71,
        "SEND",
        [],
        "BI",
        "",
        0,
        "transfer native value from this contract; + transfer gas",
        dynamic=True,
    ),
    _op(
        0x72,
        "XCALL",
        ["u16", "u8"],
        "*",
        "*",
        0,
        "call import i of another contract (flag 1: try); + call gas",
        dynamic=True,
    ),
    # registries shared by all contracts
    _op(
        0x80,
        "DOCREG",
        [],
        "B",
        "",
        2,
        "register a 32-byte document hash h in the name of the transaction's signer: under the key SHA-256(tag ‖ origin ‖ h), held by this contract; reverts if that key is registered already or in a call from another contract; + key hash, new slot",
        dynamic=True,
    ),
    _op(
        0x81,
        "DOCHOLDER",
        [],
        "B",
        "B",
        2,
        "the contract holding a registry key (zero address if none); + storage read",
        dynamic=True,
    ),
    _op(
        0x82,
        "ORACLE",
        [],
        "BBII",
        "B",
        5,
        "check a signed report (report, signer keys, quorum, max age) and push its data; + signatures, hashing, new slot",
        dynamic=True,
    ),
)

BY_NAME: dict[str, OpInfo] = {op.name: op for op in OPCODES}


def encode_instruction(op: OpInfo, args: list[int] | tuple[int, ...]) -> bytes:
    """One instruction: its opcode byte and big-endian immediates.
    Raises OverflowError when an operand does not fit its immediate."""
    out = bytearray([op.code])
    for imm, value in zip(op.immediates, args, strict=True):
        out += int(value).to_bytes(IMMEDIATE_SIZES[imm], "big")
    return bytes(out)


BY_CODE: dict[int, OpInfo] = {op.code: op for op in OPCODES}


def _by_code(code: int) -> OpInfo:
    return BY_CODE[code]


#: Version of the gas schedule below and of the cost formulas in
#: :mod:`deed.vm.costs`. A chain records it at genesis and refuses to run under
#: another version (the same transactions would use other gas). Schedule 3:
#: DOCREG registers under a key bound to the transaction's signer, and pays
#: for hashing it (:func:`deed.vm.costs.document_registration`).
SCHEDULE_VERSION = 3


@dataclass(frozen=True)
class GasSchedule:
    """Costs that depend on data or on the state. Base costs are in OPCODES;
    the formulas that combine these are in :mod:`deed.vm.costs`."""

    jump_target: int = 8  # entering an instruction that a jump lands on (its block is dispatched)
    cold_access: int = 2_000  # first access to a state entry in a transaction (read from disk)
    storage_read: int = 100  # SLOAD, SLOADB
    storage_read_per_word: int = 3  # SLOADB: per 32-byte word of the value read
    storage_write: int = 500  # SSTORE to a slot that exists (or deleting one)
    storage_new_slot: int = 5_000  # SSTORE that creates a slot
    storage_per_word: int = 100  # SSTOREB: per 32-byte word of the value written
    account_read: int = 100  # BALANCE
    hash_base: int = 80  # MKEY
    hash_per_word: int = 6  # SHA256, MKEY, per 32-byte word hashed
    keccak_per_word: int = 20  # KECCAK256, per 32-byte word hashed
    signature_check: int = 6_000  # ED25519
    memory_per_word: int = 3  # CONCAT, SLICE, I2B: per 32-byte word created
    copy_per_word: int = 3  # bytes values checked and copied at a call boundary
    event_base: int = 375  # EMIT
    event_per_byte: int = 8  # EMIT: encoded field bytes (kept in the receipt)
    return_per_byte: int = 8  # encoded return data of a transaction (kept in the receipt)
    call_internal: int = 0  # CALL beyond its base
    call_external: int = 700  # XCALL
    call_value: int = 2_000  # XCALL with value > 0
    code_load_base: int = 2_000  # first use of a module's code in a transaction
    code_load_per_byte: int = 14  # ... per byte of the module
    send: int = 2_500  # SEND
    oracle_signature: int = 6_000  # ORACLE: per signature checked
    tx_base: int = 12_000  # intrinsic gas of every transaction: its signature check dominates
    tx_data_byte: int = 8  # intrinsic gas per byte of transaction data
    deploy_base: int = 10_000  # intrinsic gas of a deployment
    deploy_code_byte: int = 110  # per byte of a deployment: decoding, verifying, storing
    deploy_function: int = 3_000  # per function of a deployed module: translating its frame
    deploy_local: int = 300  # per local of a deployed function


GAS = GasSchedule()


@dataclass(frozen=True)
class Limits:
    """Every bound the VM enforces, in one place (rendered into spec/vm.md)."""

    max_module_size: int = 262_144  # bytes of an encoded module
    max_functions: int = 1_024
    max_code_size: int = 65_536  # bytes of one function's code
    max_blocks: int = 1_024  # basic blocks in one function
    max_constants: int = 4_096
    max_constant_bytes: int = 4_096  # one bytes constant
    max_locals: int = 255  # parameters included
    max_stack: int = 255  # per frame
    max_params: int = 16
    max_returns: int = 8
    max_exports: int = 256
    max_events: int = 256
    max_errors: int = 256
    max_imports: int = 256
    max_fields: int = 16  # per event or error
    max_name: int = 64  # bytes of a name
    max_frames: int = 64  # internal and external call frames in one transaction
    max_call_depth: int = 16  # contracts on the call stack
    max_bytes_value: int = 65_536  # length of one byte string value
    max_tx_memory: int = 4_194_304  # bytes of values one transaction can create
    max_tx_data: int = 131_072  # bytes of transaction data (a deployment included)
    max_block_gas: int = 50_000_000
    max_oracle_signers: int = 16  # keys in an ORACLE signer set
    max_report_data: int = 1_024  # bytes of data in an oracle report


LIMITS = Limits()
