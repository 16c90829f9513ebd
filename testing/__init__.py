"""Testing Deed contracts with pytest: fixtures, gas reports, gas snapshots and fuzzing.

The pytest plugins are registered through the ``pytest11`` entry points in
pyproject.toml, so installing deed is enough to get them.
"""
