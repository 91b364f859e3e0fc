"""Whether an optional package is installed, without importing it."""

import importlib.util


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (found on the path; not imported)."""
    return importlib.util.find_spec(module) is not None
