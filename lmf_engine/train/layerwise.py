"""Layer-wise GaLore/APOLLO (``galore_layerwise``, ``apollo_layerwise``): every trainable parameter has its own
optimizer, stepped by a hook as soon as backward has accumulated the parameter's gradient, which is then freed.

The trainer sees a :class:`LayerwiseOptimizer` whose ``step`` and ``zero_grad`` do nothing (the hooks did the work);
its one placeholder group carries the learning rate the trainer's scheduler moves and logs. Each parameter's optimizer
gets a scheduler of the same kind, stepped right after it (:meth:`LayerwiseOptimizer.attach_schedulers`).
"""

from collections.abc import Callable
from typing import Any

import torch


class LayerwiseOptimizer(torch.optim.Optimizer):
    """Holds one optimizer per parameter and steps each from its parameter's post-accumulate-grad hook."""

    def __init__(self, lr: float, optimizers: dict[torch.nn.Parameter, torch.optim.Optimizer]) -> None:
        # A random placeholder, drawn as LLaMA-Factory draws it, so the random stream after it stays the same.
        super().__init__([torch.randn(1, 1)], {"lr": lr})
        self.optimizers = optimizers
        self.schedulers: dict[torch.nn.Parameter, Any] = {}
        self._hooks = [param.register_post_accumulate_grad_hook(self._step_param) for param in optimizers]

    def _step_param(self, param: torch.nn.Parameter) -> None:
        if param.grad is None:
            return
        self.optimizers[param].step()
        self.optimizers[param].zero_grad()
        scheduler = self.schedulers.get(param)
        if scheduler is not None:
            scheduler.step()

    def attach_schedulers(self, make_scheduler: Callable[[torch.optim.Optimizer], Any]) -> None:
        """Give every parameter's optimizer the scheduler ``make_scheduler`` builds for it."""
        self.schedulers = {param: make_scheduler(optimizer) for param, optimizer in self.optimizers.items()}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing: each hook frees its parameter's gradient."""

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Nothing: each hook has stepped its parameter during backward."""
        return None
