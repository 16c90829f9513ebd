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


class StateError(DeedVMError):
    """Misuse of the state store (for example a block built on a stale head)."""


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
