r"""Stateless schedules of the MSCL recipe, driven by an explicit step (no hidden globals).

:func:`~sigref.losses.cosine_gamma` decays MSCL's confidence penalty :math:`\gamma` to 0,
:func:`~sigref.losses.filter_threshold_at` switches hard-negative filtering on after a warm-up,
and :func:`~sigref.losses.ema_momentum` ramps the momentum of the EMA target network to 1; each
is a pure function of the step.
"""

from __future__ import annotations

import math

__all__ = ["cosine_decay", "cosine_gamma", "ema_momentum", "filter_threshold_at"]


def _check_step(step: int, total: int, total_name: str) -> None:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
        raise ValueError(f"{total_name} must be an integer > 0, got {total!r}")


def cosine_decay(step: int, start: float, total_steps: int) -> float:
    r"""Return the half-cosine decay of ``start`` at ``step``, 0 from ``total_steps`` on.

    .. math::

        f(s) = \begin{cases} \text{start} \cdot \frac12 \big(1 + \cos(\pi s / T)\big), & s < T, \\
            0, & s \ge T, \end{cases}

    the cosine annealing of SGDR [1]_ without restarts: MSCL's :math:`\gamma` schedule and the
    trainer's cosine learning rate.

    Parameters
    ----------
    step : int
        The current step :math:`s \ge 0`.
    start : float
        The value at step 0, >= 0.
    total_steps : int
        The length :math:`T > 0` of the decay.

    Returns
    -------
    float
        The decayed value, in [0, start].

    Raises
    ------
    ValueError
        If ``step`` is not an integer >= 0, ``total_steps`` not an integer > 0, or ``start``
        not >= 0.

    See Also
    --------
    sigref.losses.cosine_gamma : The same decay applied to MSCL's :math:`\gamma`.

    References
    ----------
    .. [1] I. Loshchilov, F. Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
       arXiv:1608.03983, https://arxiv.org/abs/1608.03983

    Examples
    --------
    >>> from sigref.losses import cosine_decay
    >>> [round(cosine_decay(s, 1.0, 4), 6) for s in range(6)]
    [1.0, 0.853553, 0.5, 0.146447, 0.0, 0.0]
    """
    _check_step(step, total_steps, "total_steps")
    if not start >= 0:
        raise ValueError(f"start must be >= 0, got {start!r}")
    if step >= total_steps:
        return 0.0
    return start * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))


def cosine_gamma(step: int, gamma0: float, total_steps: int) -> float:
    r"""Return MSCL's confidence penalty :math:`\gamma` at ``step`` under its cosine schedule.

    .. math::

        \gamma(s) = \gamma_0 \cdot \tfrac12 \big(1 + \cos(\pi s / T)\big) \quad (s < T),
        \qquad \gamma(s) = 0 \quad (s \ge T),

    :func:`sigref.losses.cosine_decay` from :math:`\gamma_0`, as the MSCL trainer's
    ``cosine_scaling_gamma`` [1]_ (T = ``gamma_scaling_steps``, 20 000 by default there).

    Parameters
    ----------
    step : int
        The current step :math:`s \ge 0`.
    gamma0 : float
        The initial penalty :math:`\gamma_0 \ge 0`.
    total_steps : int
        The length :math:`T > 0` of the decay.

    Returns
    -------
    float
        :math:`\gamma(s)`, in :math:`[0, \gamma_0]`.

    Raises
    ------
    ValueError
        If ``gamma0`` is not >= 0, ``step`` not an integer >= 0, or ``total_steps`` not an
        integer > 0.

    See Also
    --------
    sigref.losses.mscl_loss_and_grad : The loss that takes :math:`\gamma`.

    References
    ----------
    .. [1] F. Basara, "Modulated Sigmoid Contrastive Loss for Vision" (MSCL), reference code at
       https://github.com/filipbasara0/sigmoid-contrastive-loss

    Examples
    --------
    >>> from sigref.losses import cosine_gamma
    >>> [round(cosine_gamma(s, 2.0, 20000), 6) for s in (0, 10000, 20000, 30000)]
    [2.0, 1.0, 0.0, 0.0]
    """
    if not gamma0 >= 0:
        raise ValueError(f"gamma0 must be >= 0, got {gamma0!r}")
    return cosine_decay(step, gamma0, total_steps)


def filter_threshold_at(step: int, threshold: float | None, warmup_steps: int) -> float | None:
    r"""Return the hard-negative filtering threshold in force at ``step``.

    None (no filtering) while :math:`s \le` ``warmup_steps``, then ``threshold``: the MSCL
    reference [1]_ switches filtering on once ``global_step > filtering_warmup_steps``.

    Parameters
    ----------
    step : int
        The current step :math:`s`.
    threshold : float or None
        The filtering threshold in (0, 1) after the warm-up, or None (never filter).
    warmup_steps : int
        Steps without filtering, >= 0.

    Returns
    -------
    float or None
        The ``filter_threshold`` to pass to :func:`sigref.losses.mscl_loss_and_grad`.

    Raises
    ------
    ValueError
        If ``step`` or ``warmup_steps`` is not an integer >= 0, or ``threshold`` is not in (0, 1) or None.

    See Also
    --------
    sigref.losses.mscl_loss_and_grad : The loss that takes the threshold.

    References
    ----------
    .. [1] F. Basara, "Modulated Sigmoid Contrastive Loss for Vision" (MSCL), reference code at
       https://github.com/filipbasara0/sigmoid-contrastive-loss

    Examples
    --------
    >>> from sigref.losses import filter_threshold_at
    >>> [filter_threshold_at(s, 0.05, 5000) for s in (0, 5000, 5001)]
    [None, None, 0.05]
    """
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    if threshold is not None and not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0.0 < threshold < 1.0):
        raise ValueError(f"threshold must be a number in (0, 1) or None, got {threshold!r}")
    if threshold is None or step <= warmup_steps:
        return None
    return threshold


def ema_momentum(step: int, total_steps: int, base: float) -> float:
    r"""Return the momentum of the EMA target network at ``step`` (the BYOL/ReLIC cosine ramp).

    .. math::

        \beta(s) = 1 - (1 - \beta_{base}) \, \tfrac12 \big(\cos(\pi \min(s, T) / T) + 1\big),

    from :math:`\beta_{base}` at step 0 up to 1 at step T, and 1 afterwards (BYOL [1]_, as in the
    MSCL trainer).

    Parameters
    ----------
    step : int
        The current step :math:`s \ge 0`.
    total_steps : int
        The length :math:`T > 0` of the ramp.
    base : float
        The initial momentum :math:`\beta_{base}` in [0, 1].

    Returns
    -------
    float
        :math:`\beta(s)`, in :math:`[\beta_{base}, 1]`.

    Raises
    ------
    ValueError
        If ``step`` is not an integer >= 0, ``total_steps`` not an integer > 0, or ``base``
        not in [0, 1].

    See Also
    --------
    sigref.losses.cosine_decay : The cosine decay it mirrors.

    References
    ----------
    .. [1] J.-B. Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised
       Learning", arXiv:2006.07733, https://arxiv.org/abs/2006.07733

    Examples
    --------
    >>> from sigref.losses import ema_momentum
    >>> [round(ema_momentum(s, 100, 0.99), 6) for s in (0, 50, 100, 200)]
    [0.99, 0.995, 1.0, 1.0]
    """
    _check_step(step, total_steps, "total_steps")
    if not 0.0 <= base <= 1.0:
        raise ValueError(f"base momentum must be in [0, 1], got {base!r}")
    frac = min(step, total_steps) / total_steps
    return 1.0 - (1.0 - base) * (math.cos(math.pi * frac) + 1.0) / 2.0
