"""Errors of the command line (kept light: every command imports this)."""


class UsageError(Exception):
    """A problem with what the user asked: reported without a traceback, exit 2."""
