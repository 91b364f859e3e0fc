"""'Did you mean' suggestions for misspelt names."""

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Return up to ``limit`` candidates close to ``name``, best first."""
    pool = list(candidates)
    close = difflib.get_close_matches(name, pool, n=limit, cutoff=0.75)
    if close:
        return close
    lowered = name.lower().replace("-", "_")
    return [c for c in pool if c == lowered][:limit] or difflib.get_close_matches(lowered, pool, n=limit, cutoff=0.6)
