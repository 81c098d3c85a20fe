"""``sigref bench``: forward+backward time and peak memory of the sigmoid loss against its floor and peers.

For every backend, dtype and shape ``(N, d)`` of the grid, each *measurement* computes the loss

    L = (1/N) sum_ij softplus(-y_ij z_ij),   z_ij = t <u_i, v_j> - b,   y_ij = 2 [i = j] - 1

(SigLIP, arXiv 2303.15343, per-anchor reduction) together with its gradients in ``U``, ``V``, ``t``
and ``b``. Its peak memory above the inputs is taken in a fresh process of its own; its time (median
of the repeats after warm-up) side by side with the other rows of the same configuration: one process
calls them round-robin on shared inputs (:func:`~sigref.bench.worker.measure_timing_group`), so
ratios between rows are not at the mercy of a shared machine's drift (the naive row is timed alone
after them: its N^2 temporaries slowed its neighbours' calls). The rows:

``floor``
    the three matrix products a gradient of the loss cannot avoid, ``S = U V^T``, ``S V`` and
    ``S^T U`` (shapes N x N, N x d, N x d): a lower bound on time, and N^2 entries of memory.
``naive``
    the textbook dense implementation written in :mod:`sigref.bench.naive` on the array API
    (:func:`naive_loss_and_grad`): materialised N x N logits, labels and weights, analytic backward.
``sigref``, ``sigref_gamma``, ``sigref_filter``
    sigref's loss (``sigref.losses.sigmoid_loss_and_grad``; on torch the autograd bridge
    ``sigref_torch.sigmoid_loss`` + ``backward()``), plain and with the MSCL options
    ``gamma`` (confidence weight ``(1 - p)^gamma``) and ``filter_threshold`` (hard-negative filtering,
    Basara's MSCL).
``open_clip``
    ``open_clip.loss.SigLipLoss`` with torch autograd (registered by the torch plugin).

plus the solver rows ``ccem`` (``sigref.ccem.delta_star``) and ``bangachev_e1`` (Bangachev's E1),
NumPy only.

Plugins add measurements and memory probes: a module ``<plugin>.bench`` next to a backend plugin
(found through the ``sigref.backends`` entry points), or an entry point in the group
``sigref.bench``, calls :func:`register` / :func:`register_memory_probe` when imported. No array
library other than NumPy is imported by this package; the generic measurements follow the namespace
of their inputs.

Memory: CPU peaks are the growth of the resident set's high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``) during one untimed call, made while glibc ``malloc`` returns large blocks
to the system (``mallopt(M_MMAP_THRESHOLD)``), so only memory that call touched counts; NumPy rows
also carry the ``tracemalloc`` peak. Plugins supply device probes (torch CUDA:
``max_memory_allocated``). The timed calls come afterwards, with freed memory retained for reuse as
in sigref's own processes (:mod:`sigref.hostmem`), so page faults of fresh temporaries do not
count against any row.

The package: :mod:`~sigref.bench.registry` (constants, :class:`Measurement`, the registry and plugin
discovery), :mod:`~sigref.bench.naive` (the naive baseline and the floor),
:mod:`~sigref.bench.measurements` (sigref's own rows, registered on import),
:mod:`~sigref.bench.memory` (the probes), :mod:`~sigref.bench.worker` (what runs in a worker process,
``python -m sigref.bench --worker``), :mod:`~sigref.bench.host` (the machine and its load),
:mod:`~sigref.bench.runner` (planning, running, merging), :mod:`~sigref.bench.report` (markdown) and
:mod:`~sigref.bench.cli` (``sigref bench``).
"""

from __future__ import annotations

from sigref.bench.cli import add_parser
from sigref.bench.measurements import elementwise_pass, variant_kwargs
from sigref.bench.naive import floor_products, naive_loss_and_grad
from sigref.bench.registry import (
    BACKEND_KEYS,
    DEFAULT_DTYPES,
    QUICK_DS,
    QUICK_NS,
    SCHEMA,
    Measurement,
    Unavailable,
    find_measurement,
    load_plugins,
    measurement_names,
    register,
    register_info,
    register_memory_probe,
)
from sigref.bench.report import format_markdown
from sigref.bench.runner import BenchOptions, merge_reports, plan, quick_options, run_bench

__all__ = [
    "BACKEND_KEYS",
    "BenchOptions",
    "elementwise_pass",
    "Measurement",
    "Unavailable",
    "find_measurement",
    "merge_reports",
    "floor_products",
    "format_markdown",
    "load_plugins",
    "naive_loss_and_grad",
    "quick_options",
    "register",
    "register_info",
    "register_memory_probe",
    "run_bench",
    # also used by the plugins (variant_kwargs), the tests and the sigref command (add_parser)
    "DEFAULT_DTYPES",
    "QUICK_DS",
    "QUICK_NS",
    "SCHEMA",
    "add_parser",
    "measurement_names",
    "plan",
    "variant_kwargs",
]
