"""The VM's hashing backends."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_keccak_backends_agree(data):
    """The C binding the VM uses where installed is pycryptodome's Keccak-256."""
    from Crypto.Hash import keccak

    from deed.vm import crypto

    assert crypto.keccak256(data) == keccak.new(data=data, digest_bits=256).digest()
