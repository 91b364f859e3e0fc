"""The training child's collector settings: raised while it sets up, restored (with the heap frozen) at train start."""

import gc
from collections.abc import Iterator

import pytest

from lmf_engine.train import gc_phases


@pytest.fixture
def restore_gc() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)
    gc.unfreeze()


def test_setup_raises_thresholds_and_train_start_restores_them(restore_gc: tuple[int, int, int]) -> None:
    gc_phases.start_setup()
    assert gc.get_threshold() == gc_phases.SETUP_THRESHOLDS
    gc_phases.end_setup()
    assert gc.get_threshold() == gc_phases.DEFAULT_THRESHOLDS == restore_gc
    assert gc.get_freeze_count() > 0


def test_train_start_changes_nothing_without_setup(restore_gc: tuple[int, int, int]) -> None:
    gc.set_threshold(1234, 5, 6)
    gc_phases.end_setup()
    assert gc.get_threshold() == (1234, 5, 6)
    assert gc.get_freeze_count() == 0
