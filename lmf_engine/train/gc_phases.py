"""Garbage-collector settings of the training child process, by phase.

While the child imports torch, transformers and peft and loads the data and the model, its heap only grows, and
Python's default thresholds have it walk the whole heap again and again (full collections took about 1 s of a 9 s
run of the tiny model). During set-up the thresholds are raised, so cyclic garbage is still collected, only less
often; when training starts everything alive is frozen (:func:`gc.freeze`: later full collections skip it) and the
default thresholds come back; before the process exits the heap is frozen again, so the interpreter's final
collections do not walk it (about 0.7 s). Only ``python -m lmf_engine.train`` turns this on; a process that calls
the entry point in-process keeps its own settings.
"""

import gc

SETUP_THRESHOLDS = (100_000, 50, 100)
"""Collector thresholds (generation 0, 1, 2) while the child sets up."""

DEFAULT_THRESHOLDS = gc.get_threshold()
"""The interpreter's thresholds, as they were when this module was imported (before :func:`start_setup`)."""


def start_setup() -> None:
    """Raise the collector's thresholds until :func:`end_setup`."""
    gc.set_threshold(*SETUP_THRESHOLDS)


def end_setup() -> None:
    """Freeze the objects set-up left alive and restore the thresholds; nothing unless :func:`start_setup` ran."""
    if gc.get_threshold() != SETUP_THRESHOLDS:
        return
    gc.freeze()
    gc.set_threshold(*DEFAULT_THRESHOLDS)


def before_exit() -> None:
    """Freeze the heap, so that the interpreter's collections at exit skip it."""
    gc.freeze()
