"""The temperature T of the ambiguous targets: linear from ``t_max`` to ``t_min`` over training.

Early on, ambiguous anchors are mostly positive (representation learning); late, mostly negative
(duplicate removal). T is constant within an epoch (paper, official code); iteration-based configs
use the same line over iterations.
"""

from __future__ import annotations

__all__ = ["linear_temperature", "iteration_temperature"]


def _linear(step: int, total: int, t_max: float, t_min: float, unit: str) -> float:
    if total < 1:
        raise ValueError(f"the number of {unit}s must be >= 1, got {total}")
    if not 0 <= step < total:
        raise ValueError(f"{unit} {step} is outside [0, {total - 1}] (0-based {unit}s)")
    if total == 1:
        return float(t_max)  # a single step is the first one: the schedule has not decayed yet
    return float(t_max) + (float(t_min) - float(t_max)) * step / (total - 1)


def linear_temperature(epoch: int, max_epochs: int, t_max: float = 0.6,
                       t_min: float = 0.2) -> float:
    """T of a 0-based ``epoch``: ``t_max`` at epoch 0, ``t_min`` at epoch ``max_epochs - 1``.

    Example: 12 epochs give 0.6, 0.5636, ..., 0.2364, 0.2.
    """
    return _linear(epoch, max_epochs, t_max, t_min, "epoch")


def iteration_temperature(iteration: int, max_iters: int, t_max: float = 0.6,
                          t_min: float = 0.2) -> float:
    """T of a 0-based ``iteration``: ``t_max`` at 0, ``t_min`` at ``max_iters - 1``."""
    return _linear(iteration, max_iters, t_max, t_min, "iteration")
