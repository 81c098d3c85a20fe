"""Conformance: check anyone's sigmoid-loss implementation against sigref's goldens.

``sigref conform MODULE:CALLABLE --convention paper|siglip|open_clip|mscl`` (or :func:`conform`, or
:func:`assert_conforms` in a test) feeds the golden conformance cases (:mod:`sigref.golden.cases.conform`:
N from 2 to 2400, uneven chunk boundaries, t up to 1e4 and |b| up to 1e4, leading batch axes) to the
callable, converted to its framework, and compares its value and, through the framework's autograd,
its gradients in the embeddings, the scale and the bias with the goldens mapped into its convention
(:mod:`sigref.conform.conventions`), in float64 and float32. ``world_size > 1`` runs it in that many
processes on its rank's rows and compares the DDP-averaged gradients with the single-process goldens
of the global batch (:mod:`sigref.conform.distributed`).

The loss is the sigmoid loss of SigLIP (Zhai et al. arXiv 2303.15343) with MSCL's modulation for the
``mscl`` convention; the failures this is meant to catch are those of open_clip issues 618 (a ring
that converged poorly), 742 (inconsistent per-rank negatives) and 1214 (chunked logits kept for autograd).
"""

from sigref.conform.conventions import CONVENTIONS, REDUCTIONS, Convention, describe_conventions, get_convention
from sigref.conform.report import Report, Row, summary_table
from sigref.conform.runner import DTYPES, assert_conforms, conform
from sigref.conform.target import Framework, Outcome, declare, resolve

__all__ = ["CONVENTIONS", "DTYPES", "REDUCTIONS", "Convention", "Framework", "Outcome", "Report", "Row", "assert_conforms", "conform",
           "declare", "describe_conventions", "get_convention", "resolve", "summary_table"]
