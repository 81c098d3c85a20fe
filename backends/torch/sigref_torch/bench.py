"""Torch measurements for ``sigref bench`` (discovered by :mod:`sigref.bench` when this plugin is installed).

Importing the module registers, for the ``torch`` backend (CPU and CUDA):

``sigref``, ``sigref_gamma``, ``sigref_filter``
    the autograd bridge :func:`sigref_torch.bridge.sigmoid_loss` ``(U, V, t, b, ...)`` followed by
    ``backward()``, with ``U``, ``V``, ``t`` and ``b`` requiring grad: plain, with the MSCL
    modulation ``gamma > 0``, and with ``gamma`` and hard-negative filtering;
``open_clip``
    ``open_clip.loss.SigLipLoss`` (mlfoundations/open_clip) with torch autograd, fed the same unit
    features, ``logit_scale = t`` (already exponentiated, as open_clip expects) and
    ``logit_bias = -b`` (open_clip adds the bias; the papers subtract it); unavailable, with the
    reason, where ``open-clip-torch`` is not installed;

the CUDA memory probe :class:`CudaProbe` (``torch.cuda.max_memory_allocated`` above the
allocation at the start), and host facts for the report header (threads, CUDA, whether the
compiled CPU pass of :mod:`sigref_torch.fused` is on, the GPU's name).

Examples
--------
>>> import sigref_torch.bench
>>> from sigref import bench
>>> bench.find_measurement("sigref_gamma", "torch").name
'sigref_gamma'
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from typing import Any

import torch

from sigref import bench as _bench

__all__ = ["CudaProbe"]

_TORCH = frozenset({"torch"})


def _leaves(inputs: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    return tuple(inputs[k].detach().clone().requires_grad_(True) for k in ("U", "V", "t", "b"))


def _bridge_setup(name: str) -> Callable[..., Callable[[], Any]]:
    def setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
        from sigref_torch import sigmoid_loss

        U, V, t, b = params = _leaves(inputs)
        kwargs = _bench.variant_kwargs(name, options)

        def run() -> dict[str, Any]:
            for p in params:
                p.grad = None
            loss = sigmoid_loss(U, V, t, b, **kwargs)
            loss.backward()
            return {"loss": loss.detach(), "U": U.grad, "t": t.grad, "b": b.grad}

        run.elementwise = _bench.elementwise_pass(U)
        return run

    return setup


def _open_clip_reason(key: str) -> str | None:
    if importlib.util.find_spec("open_clip") is None:
        return "open-clip-torch is not installed (pip install open-clip-torch)"
    return None


def _open_clip_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    reason = _open_clip_reason("torch")
    if reason:
        raise _bench.Unavailable(reason)
    from open_clip.loss import SigLipLoss

    kwargs = {}
    if options.get("chunk_size") and "chunk_size" in inspect.signature(SigLipLoss).parameters:
        kwargs["chunk_size"] = options["chunk_size"]
    loss_fn = SigLipLoss(**kwargs)
    U, V = (inputs[k].detach().clone().requires_grad_(True) for k in ("U", "V"))
    scale = inputs["t"].detach().clone().requires_grad_(True)
    bias = (-inputs["b"]).detach().clone().requires_grad_(True)
    params = (U, V, scale, bias)

    def run() -> dict[str, Any]:
        for p in params:
            p.grad = None
        loss = loss_fn(U, V, scale, bias)
        loss.backward()
        return {"loss": loss.detach(), "U": U.grad, "t": scale.grad, "b": -bias.grad}

    return run


for _name, _order, _desc in (
    ("sigref", 20, "sigref_torch.sigmoid_loss (autograd bridge) + backward()"),
    ("sigref_gamma", 21, "sigref_torch.sigmoid_loss, MSCL gamma > 0, + backward()"),
    ("sigref_filter", 22, "sigref_torch.sigmoid_loss, MSCL gamma + filter_threshold, + backward()"),
):
    _bench.register(_bench.Measurement(_name, _desc, _bridge_setup(_name), libraries=_TORCH,
                                       n2_memory=0.0, order=_order))
_bench.register(_bench.Measurement(
    "open_clip", "open_clip.loss.SigLipLoss + torch autograd", _open_clip_setup, libraries=_TORCH,
    available=_open_clip_reason, n2_memory=7.0, order=30))


class CudaProbe:
    """Peak of torch's CUDA allocations during a call, above what was allocated before it.

    The memory probe that ``sigref bench`` uses on CUDA devices (CPU tensors get none):
    :meth:`reset` before the call, :meth:`peak` after it.

    Parameters
    ----------
    device : torch.device
        The CUDA device to watch.

    Attributes
    ----------
    method : str
        How the peak is measured, for the report: ``"torch.cuda.max_memory_allocated"``.
    device : torch.device
        The device given.

    Examples
    --------
    >>> from sigref_torch.bench import CudaProbe
    >>> CudaProbe.method
    'torch.cuda.max_memory_allocated'

    On a CUDA machine (not run here: the probe calls ``torch.cuda``, which needs a GPU):

    >>> import torch
    >>> probe = CudaProbe(torch.device("cuda:0"))  # doctest: +SKIP
    >>> probe.reset()  # doctest: +SKIP
    >>> x = torch.empty(2**20, device="cuda:0")  # doctest: +SKIP
    >>> probe.peak()  # doctest: +SKIP
    4194304
    """

    method = "torch.cuda.max_memory_allocated"

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._base = 0

    def reset(self) -> None:
        """Wait for the device, then start a new peak at the bytes allocated now.

        Raises
        ------
        RuntimeError
            From ``torch.cuda`` where CUDA is not available.
        """
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        self._base = torch.cuda.memory_allocated(self.device)

    def peak(self) -> int:
        """Wait for the device; the peak bytes allocated since :meth:`reset`, above the level then.

        Returns
        -------
        int
            Bytes, non-negative.

        Raises
        ------
        RuntimeError
            From ``torch.cuda`` where CUDA is not available.
        """
        torch.cuda.synchronize(self.device)
        return max(0, torch.cuda.max_memory_allocated(self.device) - self._base)


def _probe(backend: Any) -> CudaProbe | None:
    device = torch.device(backend.device)
    return CudaProbe(device) if device.type == "cuda" else None


def _info() -> dict[str, Any]:
    from sigref_torch import fused

    info: dict[str, Any] = {"threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
                            "compiled_pass": f"CPU blocks of >= {fused.COMPILE_MIN_PAIRS} pairs" if fused.compile_enabled() else "off"}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


_bench.register_memory_probe("torch", _probe)
_bench.register_info("torch", _info)
