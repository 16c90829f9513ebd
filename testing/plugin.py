"""The pytest plugin (entry point ``deed``): the ``env`` fixture and ``--rpc``.

Loaded by every pytest run where Deed is installed, so it imports nothing
of the VM or the compiler until a test asks for ``env``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deed")
    group.addoption(
        "--rpc",
        metavar="URL",
        default=None,
        help="run the env fixture on the deed node at URL instead of an in-memory chain"
        " (default: $DEED_TEST_RPC)",
    )


def rpc_url(config: pytest.Config) -> str | None:
    """The node the tests run on: ``--rpc``, else ``DEED_TEST_RPC``, else none
    (in memory). Not ``DEED_RPC``: it points the command line at a node, and
    a shell exporting it would move a whole test suite there unasked."""
    return config.getoption("rpc", None) or os.environ.get("DEED_TEST_RPC") or None


@pytest.fixture
def env(request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh in-memory chain with funded named accounts (:class:`deed.testing.Env`);
    with ``--rpc URL``, fresh funded accounts on that node."""
    from deed.testing.env import Env

    url = rpc_url(request.config)
    made = Env.over_rpc(url) if url else Env()
    try:
        yield made
    finally:
        made.close()
