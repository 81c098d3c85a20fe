"""Stateless schedules of the MSCL recipe, driven by an explicit step (no hidden globals)."""

from __future__ import annotations

import math

__all__ = ["cosine_decay", "cosine_gamma", "ema_momentum", "filter_threshold_at"]


def _check_step(step: int, total: int, total_name: str) -> None:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
        raise ValueError(f"{total_name} must be an integer > 0, got {total!r}")


def cosine_decay(step: int, start: float, total_steps: int) -> float:
    """Half-cosine decay start (1 + cos(pi step / T)) / 2 for step < T, then 0 (SGDR, arXiv
    1608.03983, without restarts): MSCL's gamma schedule, and the trainer's cosine learning rate."""
    _check_step(step, total_steps, "total_steps")
    if not start >= 0:
        raise ValueError(f"start must be >= 0, got {start!r}")
    if step >= total_steps:
        return 0.0
    return start * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))


def cosine_gamma(step: int, gamma0: float, total_steps: int) -> float:
    """MSCL's decay of the confidence penalty: :func:`cosine_decay` from gamma0 over T steps."""
    if not gamma0 >= 0:
        raise ValueError(f"gamma0 must be >= 0, got {gamma0!r}")
    return cosine_decay(step, gamma0, total_steps)


def filter_threshold_at(step: int, threshold: float | None, warmup_steps: int) -> float | None:
    """The filtering threshold in force at ``step``: None (no filtering) while step <= warmup,
    as the reference switches filtering on once ``global_step > filtering_warmup_steps``."""
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}")
    if threshold is None or step <= warmup_steps:
        return None
    return threshold


def ema_momentum(step: int, total_steps: int, base: float) -> float:
    """BYOL/ReLIC cosine ramp of the EMA momentum: 1 - (1 - base) (cos(pi step / T) + 1) / 2."""
    _check_step(step, total_steps, "total_steps")
    if not 0.0 <= base <= 1.0:
        raise ValueError(f"base momentum must be in [0, 1], got {base!r}")
    frac = min(step, total_steps) / total_steps
    return 1.0 - (1.0 - base) * (math.cos(math.pi * frac) + 1.0) / 2.0
