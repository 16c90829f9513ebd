"""Errors of the command line (kept light: every command imports this).

The exit-code rule (README, "Command line"): 2 when the command cannot be
carried out as typed (a malformed or out-of-range value, a name that resolves
to nothing, a file that cannot be opened, a chain file that is not a Deed
chain); 1 when it was carried out and the answer is no (compile errors,
modules that do not verify, transactions that are rejected or revert).
"""


class UsageError(Exception):
    """A problem with what the user asked: reported without a traceback, exit 2."""


class ChainFileError(UsageError):
    """The chain file named on the command line is missing, not SQLite, or damaged."""


class Failure(Exception):
    """The command ran and failed (exit 1): printed as ``error: ...`` on stderr."""
