"""Starting the engines of the chat screen's targets (in a worker thread: this is where torch gets imported).

Two local targets on one base model become two views on one copy of its weights; otherwise an engine already
running for a target is kept, and every engine no longer wanted is released first, so that switching models never
holds two of them in memory.
"""

import gc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lmf_engine.chat.target import ChatTarget, open_target, target_config

if TYPE_CHECKING:
    from lmf_engine.chat import ChatEngine


def open_engines(
    targets: Sequence[ChatTarget],
    root: Path,
    current: Mapping[ChatTarget, "ChatEngine"],
    release: Callable[["ChatEngine"], None],
) -> list["ChatEngine"]:
    """Engines for ``targets`` (one, or two for A/B); ``current`` are the running ones, ``release`` frees one."""
    configs = [target_config(target, root) for target in targets]
    kept: dict[ChatTarget, ChatEngine] = {}
    shared = False
    if len(targets) == 2 and configs[0] is not None and configs[1] is not None:
        from lmf_engine.chat.pair import share_reason

        shared = share_reason(configs[0], configs[1]) is None
    if not shared:
        kept = {target: engine for target, engine in current.items() if target in targets}
    for target, engine in current.items():
        if target not in kept:
            release(engine)
    gc.collect()
    if shared:
        from lmf_engine.chat.pair import open_pair

        assert configs[0] is not None and configs[1] is not None
        return list(open_pair(configs[0], configs[1]))
    pairs = zip(targets, configs, strict=True)
    return [kept.get(target) or open_target(target, root, config) for target, config in pairs]
