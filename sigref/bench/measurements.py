"""sigref's own rows, registered when this module is imported: the generic array-API measurements
(``floor``, ``naive``, ``sigref``, ``sigref_gamma``, ``sigref_filter`` and their ``_kernel``
forms) and the NumPy solver rows (``ccem``, ``bangachev_e1``), with the helpers plugins reuse for
their own sigref rows (:func:`variant_kwargs`, :func:`elementwise_pass`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sigref.bench.naive import floor_products, naive_loss_and_grad
from sigref.bench.registry import Measurement, register

# --------------------------------------------------------------------------------------------
# Generic (array-API) measurements.


def _floor_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    U, V = inputs["U"], inputs["V"]

    def run() -> None:
        floor_products(U, V)

    return run


def _naive_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    U, V, t, b = (inputs[k] for k in ("U", "V", "t", "b"))
    return lambda: naive_loss_and_grad(U, V, t, b)


VARIANTS: dict[str, dict[str, Any]] = {
    "sigref": {},
    "sigref_gamma": {"gamma": "gamma"},
    "sigref_filter": {"gamma": "gamma", "filter_threshold": "filter_threshold"},
}


def variant_kwargs(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of sigref's loss for a row (``chunk_size`` plus the MSCL options)."""
    kwargs = {key: options[opt] for key, opt in VARIANTS.get(name.replace("_kernel", ""), {}).items()}
    if options.get("chunk_size") is not None:
        kwargs["chunk_size"] = options["chunk_size"]
    return kwargs


def _sigref_setup(name: str) -> Callable[..., Callable[[], Any]]:
    def setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
        from sigref.losses import sigmoid_loss_and_grad

        U, V, t, b = (inputs[k] for k in ("U", "V", "t", "b"))
        kwargs = variant_kwargs(name, options)

        def run() -> dict[str, Any]:
            res = sigmoid_loss_and_grad(U, V, t, b, **kwargs)
            return {"loss": res.value, **{k: res.grad[k] for k in ("U", "t", "b") if k in res.grad}}

        run.elementwise = elementwise_pass(U)
        return run

    return setup


def elementwise_pass(x: Any) -> str:
    """Which elementwise pass sigref's kernel runs on blocks like ``x`` (a plugin's fused pass or the reference)."""
    from sigref.fused import pass_for

    fn = pass_for(x)
    return f"{fn.__module__}.{fn.__qualname__}"


register(Measurement("floor", "U V^T, S V, S^T U (the three products; lower bound)", _floor_setup,
                     kind="floor", n2_memory=1.0, order=0))
register(Measurement("naive", "naive dense baseline (this module, array API, analytic backward)",
                     _naive_setup, n2_memory=9.0, order=10, timed_alone=True))
for _name, _order, _desc in (
    ("sigref", 20, "sigref.losses.sigmoid_loss_and_grad"),
    ("sigref_gamma", 21, "sigref, MSCL gamma > 0"),
    ("sigref_filter", 22, "sigref, MSCL gamma + filter_threshold"),
):
    register(Measurement(_name, _desc, _sigref_setup(_name), n2_memory=8.0, chunked=True, order=_order))
    register(Measurement(f"{_name}_kernel", f"{_desc} (array-API kernel, no autograd; any backend)",
                         _sigref_setup(_name), default=False, n2_memory=8.0, chunked=True, order=_order + 10))


# --------------------------------------------------------------------------------------------
# Solver rows (NumPy only, no N/d grid).


def _ccem_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.ccem import delta_star

    points = int(options.get("ccem_points", 1_000_000))
    rng = np.random.default_rng(options.get("seed", 0))
    t_host = rng.uniform(0.5, 100.0, size=points)
    N = backend.asarray(rng.integers(3, 100_000, size=points).astype(np.float64))
    t = backend.asarray(t_host)
    b = backend.asarray(rng.uniform(0.0, 2.0, size=points) * t_host)
    return lambda: {"loss": backend.xp.mean(delta_star(N, t, b).loss)}


def _bangachev_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.experiments.bangachev2025 import run_e1

    steps = int(options.get("e1_steps", 10_000))

    def run() -> None:
        run_e1(backend, steps=steps, progress=False)

    return run


register(Measurement("ccem", "sigref.ccem.delta_star on 1e6 random (N, t, b) points", _ccem_setup, kind="solver",
                     libraries=frozenset({"numpy"}), nd_memory=0.0, order=90))
register(Measurement("bangachev_e1", "Bangachev E1: four 10k-step runs, N=100, d=10", _bangachev_setup,
                     kind="solver", libraries=frozenset({"numpy"}), nd_memory=0.0, order=91))

from sigref.bench import analysis as _analysis  # noqa: E402, F401  (the kind="analysis" rows register on import)
