"""The pytest plugin (entry point ``deed``): the ``env`` fixture.

Loaded by every pytest run where Deed is installed, so it imports nothing
of the VM or the compiler until a test asks for ``env``.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def env():
    """A fresh in-memory chain with funded named accounts (:class:`deed.testing.Env`)."""
    from deed.testing.env import Env

    return Env()
