"""Keeping ``os.environ`` the object every module holds.

``datasets`` (5.x) rebinds ``os.environ`` to a deep copy after a ``map`` or load with ``num_proc``. Modules that
kept a reference to the original object (rich's ``Console`` reads its class attribute ``_environ``; so does any
``environ = os.environ`` alias) then no longer see variables set later, e.g. ``FORCE_COLOR`` or ``NO_COLOR`` in a
long-lived process such as the TUI.
"""

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def keeps_os_environ(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func``; if it rebound ``os.environ``, put the original object back with the rebound one's contents
    (``datasets`` sets ``TOKENIZERS_PARALLELISM`` on the original, then rebinds to a copy taken before)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        original = os.environ
        try:
            return func(*args, **kwargs)
        finally:
            rebound = os.environ
            if rebound is not original:
                for key in set(original) - set(rebound):
                    del original[key]
                original.update(rebound)
                os.environ = original  # noqa: B003 - undoing datasets' rebinding, not clearing

    return wrapper
