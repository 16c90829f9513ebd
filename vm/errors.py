"""Errors the VM reports. Host-facing errors are plain exceptions with stable
codes; the execution signals (:class:`Revert`, :class:`OutOfGas`) never leave
the VM: the host turns them into failed receipts."""

from __future__ import annotations


class DeedVMError(Exception):
    """Base of every error the VM raises to its host."""


class DecodeError(DeedVMError):
    """Bytes that are not a canonical encoding (module, value, transaction)."""


class VerificationError(DeedVMError):
    """A module broke a load-time rule. Names the function, offset and rule."""

    def __init__(
        self, rule: str, message: str, function: int | None = None, offset: int | None = None
    ):
        self.rule = rule
        self.function = function
        self.offset = offset
        where = ""
        if function is not None:
            where = f"function {function}"
            if offset is not None:
                where += f" offset {offset}"
            where += ": "
        super().__init__(f"{where}{message} [{rule}]")


class AssemblyError(DeedVMError):
    """Text assembly that cannot be assembled; carries the line number."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(f"line {line}: {message}")


class InvalidTransaction(DeedVMError):
    """A transaction that cannot be included in a block: nothing changes, no fee."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(f"{message} [{code}]")


class ConfigurationError(DeedVMError, ValueError):
    """A setting of the VM's host is wrong (for example DEED_ENGINE names no engine)."""


class StateError(DeedVMError):
    """Misuse of the state store (for example a block built on a stale head)."""


class NodeError(DeedVMError):
    """This node failed while applying a transaction (a fault of the node, its
    storage or the VM itself, never of the transaction): everything the
    transaction did was undone, nonce and fee included, and the block being
    built is still usable. ``tx_hash`` names the transaction; ``cause`` is
    the underlying exception."""

    def __init__(self, tx_hash: bytes | None, cause: BaseException):
        self.tx_hash = tx_hash
        self.cause = cause
        what = f"transaction {tx_hash.hex()}" if tx_hash else "a read-only call"
        super().__init__(f"node error while applying {what}: {type(cause).__name__}: {cause}")


# --- execution signals: raised inside the VM, turned into receipts ----------


class ExecutionSignal(Exception):  # noqa: N818 - a signal, not an error of the host
    """Stops execution. ``gas`` is the gas left when it was raised."""

    gas: int = 0


class Revert(ExecutionSignal):
    """The contract (or a checked operation) reverted. ``data`` is the reason:
    a text message or a typed error (name, field values)."""

    def __init__(self, gas: int, message: str = "", error: tuple | None = None):
        super().__init__(message)
        self.gas = gas
        self.message = message
        self.error = error  # (error name, tuple of field values) for RAISE


class OutOfGas(ExecutionSignal):
    """Gas ran out: the transaction's effects are undone and it pays its gas limit."""

    def __init__(self) -> None:
        super().__init__("out of gas")
        self.gas = 0


def revert(gas: int, message: str = "", error: tuple | None = None) -> ExecutionSignal:
    """The signal for a revert with ``gas`` left.

    Engines that charge a run of instructions at once compute the gas left at
    a revert from the run's total; a negative figure means the per-instruction
    schedule would have run out of gas first, so that is the outcome."""
    if gas < 0:
        return OutOfGas()
    return Revert(gas, message, error)
