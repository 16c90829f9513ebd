"""“Did you mean” suggestions for misspelt names, members and types."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` when one is close enough to be a typo."""
    options = [c for c in dict.fromkeys(candidates) if c != name]
    folded = {c.lower(): c for c in options}
    if name.lower() in folded:  # only the case differs: Uint, msg.Sender
        return folded[name.lower()]
    letters = sorted(name.lower())
    swapped = [c for c in options if sorted(c.lower()) == letters]  # Unit for uint
    if swapped:
        return swapped[0]
    match = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    return match[0] if match else None


def did_you_mean(name: str, candidates: Iterable[str], shown: str = "{}") -> str | None:
    """A hint ``did you mean X?`` (X formatted by ``shown``), or None."""
    found = closest(name, candidates)
    return f"did you mean {shown.format(found)}?" if found is not None else None


def library_hint(library: str, name: str, qualified: Iterable[str]) -> str | None:
    """``did you mean math.mul_div?`` among a library's members, given the
    contract's table of qualified names (``math.mul_div``)."""
    prefix = f"{library}."
    members = [q[len(prefix) :] for q in qualified if q.startswith(prefix)]
    return did_you_mean(name, members, f"{prefix}{{}}")
