"""Muon (MomentUm Orthogonalized by Newton-Schulz), as LLaMA-Factory 0.9.5 trains with ``use_muon``.

2-D weights take SGD momentum (Nesterov) whose update is orthogonalised by five quintic Newton-Schulz iterations in
bfloat16 and scaled by ``0.2 * sqrt(max(rows, cols))`` (Moonlight's rule, so the update's RMS matches AdamW's); every
other parameter takes AdamW. Both apply decoupled weight decay ``lr * weight_decay``. The algorithm is Keller Jordan's
Muon with Moonshot AI's learning-rate adjustment, the same arithmetic as LLaMA-Factory's ``third_party/muon``.
"""

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

NEWTON_SCHULZ_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""The quintic's coefficients, chosen to maximise the slope at zero."""


def orthogonalize(matrix: torch.Tensor, steps: int) -> torch.Tensor:
    """Approximately ``U V^T`` of ``matrix = U S V^T`` (singular values land near 1), computed in bfloat16."""
    if matrix.ndim != 2:
        raise ValueError(f"Newton-Schulz orthogonalisation needs a matrix, got {matrix.ndim} dimensions")
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS
    tall = matrix.size(0) > matrix.size(1)
    x = matrix.bfloat16()
    if tall:
        x = x.T
    x = x / (x.norm() + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def muon_lr(lr: float, shape: torch.Size) -> float:
    """The learning rate of a ``shape`` weight: ``lr`` times ``0.2 * sqrt`` of its larger side."""
    return lr * (0.2 * math.sqrt(max(shape[0], shape[1])))


class Muon(torch.optim.Optimizer):
    """Muon for ``muon_params`` (2-D), AdamW for ``adamw_params``; one learning rate and weight decay for both.

    Each kind is its own parameter group (``use_muon`` True or False), so a scheduler moves both together.
    """

    def __init__(
        self,
        muon_params: Iterable[torch.nn.Parameter],
        adamw_params: Iterable[torch.nn.Parameter],
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        adamw_betas: tuple[float, float] = (0.9, 0.95),
        adamw_eps: float = 1e-8,
    ) -> None:
        muon, adamw = list(muon_params), list(adamw_params)
        for param in muon:
            if param.ndim != 2:
                raise ValueError(f"Muon updates 2-D weights only, got a parameter of shape {tuple(param.shape)}")
        groups = [{"params": params, "use_muon": use} for params, use in ((muon, True), (adamw, False)) if params]
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_steps": ns_steps,
            "adamw_betas": adamw_betas,
            "adamw_eps": adamw_eps,
        }
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            update = self._muon_update if group["use_muon"] else self._adamw_update
            for param in group["params"]:
                if param.grad is not None:
                    update(param, group)
        return loss

    def _muon_update(self, param: torch.nn.Parameter, group: dict[str, Any]) -> None:
        grad = param.grad
        state = self.state[param]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(grad)
        buffer = state["momentum_buffer"]
        buffer.mul_(group["momentum"]).add_(grad)
        direction = grad.add(buffer, alpha=group["momentum"]) if group["nesterov"] else buffer
        update = orthogonalize(direction, group["ns_steps"])
        param.mul_(1 - group["lr"] * group["weight_decay"])
        param.add_(update, alpha=-muon_lr(group["lr"], param.shape))

    def _adamw_update(self, param: torch.nn.Parameter, group: dict[str, Any]) -> None:
        grad = param.grad
        state = self.state[param]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(grad)
            state["exp_avg_sq"] = torch.zeros_like(grad)
        state["step"] += 1
        beta1, beta2 = group["adamw_betas"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.lerp_(grad.square(), 1 - beta2)
        normalised = exp_avg / (group["adamw_eps"] + exp_avg_sq.sqrt())
        bias_scale = (1 - beta1 ** state["step"]) / (1 - beta2 ** state["step"]) ** 0.5
        param.mul_(1 - group["lr"] * group["weight_decay"])
        param.add_(normalised, alpha=-group["lr"] / bias_scale)
