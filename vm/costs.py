"""The cost model: every data-dependent gas formula, in one place.

The VM charges these (its frames, host and chain), and the analyzer's
worst-case gas bounds call the same functions with the largest sizes a type
allows, so a formula cannot differ between what runs and what is predicted.
The constants are in :data:`deed.vm.opcodes.GAS`; ``spec/vm.md`` states each
formula and the measurements behind the constants (``benchmarks/adversarial``).

Every cost here grows with the bytes it touches: hashing, copying, storing,
keeping data in a receipt and loading code are all linear in their size, as
the node's work is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .opcodes import GAS
from .state import REGISTRY_KEY_TAG

if TYPE_CHECKING:
    from .verifier import VerifiedModule

# The functions below are on hot paths of the VM: each is one call with no
# calls inside (words are ``(n + 31) // 32`` written out).


def words(n: int) -> int:
    """32-byte words needed for n bytes."""
    return (n + 31) // 32


def memory(n: int) -> int:
    """A new byte value of n bytes (CONCAT, SLICE, I2B, hash results, report data)."""
    return GAS.memory_per_word * ((n + 31) // 32)


_DIGEST_MEMORY = GAS.memory_per_word  # a 32-byte digest is one word


def hashing(n: int, keccak: bool = False) -> int:
    """SHA256 and KECCAK256 beyond their base cost: the input, then the 32-byte digest."""
    per_word = GAS.keccak_per_word if keccak else GAS.hash_per_word
    return per_word * ((n + 31) // 32) + _DIGEST_MEMORY


def map_key(n: int) -> int:
    """MKEY over n bytes (the base and the encoded key)."""
    return GAS.hash_base + GAS.hash_per_word * ((n + 31) // 32) + _DIGEST_MEMORY


def signature(message_len: int) -> int:
    """ED25519: one check, and hashing the message."""
    return GAS.signature_check + GAS.hash_per_word * ((message_len + 31) // 32)


def cold_access() -> int:
    """The first access to a state entry in a transaction (account, storage slot,
    document, report flag); later accesses in the same transaction are warm."""
    return GAS.cold_access


def storage_read(n: int) -> int:
    """SLOAD (n = 0) or SLOADB of a value of n bytes, warm."""
    return GAS.storage_read + GAS.storage_read_per_word * ((n + 31) // 32)


def storage_write(creates: bool, n: int) -> int:
    """SSTORE (n = 0) or SSTOREB of n bytes, warm; a new slot costs more than a rewrite."""
    base = GAS.storage_new_slot if creates else GAS.storage_write
    return base + GAS.storage_per_word * ((n + 31) // 32)


def event(data_len: int) -> int:
    """EMIT with n bytes of encoded fields (kept in the receipt)."""
    return GAS.event_base + GAS.event_per_byte * data_len


def return_data(n: int) -> int:
    """Encoded return values a transaction leaves in its receipt."""
    return GAS.return_per_byte * n


def boundary(n: int) -> int:
    """Bytes values of n bytes in all, checked (UTF-8, bounds) and copied at a call boundary."""
    return GAS.copy_per_word * ((n + 31) // 32)


def external_call(with_value: bool) -> int:
    """XCALL before the callee's own gas."""
    return GAS.call_external + (GAS.call_value if with_value else 0)


def code_load(module_size: int) -> int:
    """First use of a module's code in a transaction: charged whether or not the
    node has it cached (gas cannot depend on a node's cache), priced for a miss."""
    return GAS.code_load_base + GAS.code_load_per_byte * module_size


#: Bytes hashed for a registry key: the tag, the signer's address, the document hash.
REGISTRY_KEY_INPUT = len(REGISTRY_KEY_TAG) + 20 + 32


def document_registration() -> int:
    """DOCREG: hashing its registry key (:func:`deed.vm.state.registry_key`, priced as
    MKEY hashes a map key, with no digest memory: the key never becomes a value),
    then creating the entry."""
    return (
        GAS.hash_base + GAS.hash_per_word * ((REGISTRY_KEY_INPUT + 31) // 32) + GAS.storage_new_slot
    )


def oracle_check(report_len: int) -> int:
    """ORACLE before its signatures: hashing the report and reading its used-flag."""
    return GAS.hash_per_word * words(report_len) + GAS.storage_read


def oracle_signatures(count: int) -> int:
    return GAS.oracle_signature * count


def oracle_use(data_len: int) -> int:
    """ORACLE after the signatures check out: marking the report used, and its data."""
    return GAS.storage_new_slot + memory(data_len)


def translation(vm: VerifiedModule) -> int:
    """Deployment gas for translating a verified module to a node's engine:
    per instruction (its ``deploy`` weight in the opcode table), per function
    and per local. Paid after verification, before the node translates."""
    gas = 0
    for f, vf in zip(vm.module.functions, vm.functions, strict=True):
        gas += GAS.deploy_function + GAS.deploy_local * (len(f.params) + len(f.locals))
        gas += sum(ins.op.deploy for ins in vf.instrs)
    return gas


def intrinsic(data_len: int, deployment: bool) -> int:
    """Gas of a transaction before it runs: its data, and for a deployment the
    verification and translation of the module (linear in its size)."""
    gas = GAS.tx_base + GAS.tx_data_byte * data_len
    if deployment:
        gas += GAS.deploy_base + GAS.deploy_code_byte * data_len
    return gas
