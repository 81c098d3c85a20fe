r"""Conformance: check anyone's sigmoid-loss implementation against sigref's goldens.

``sigref conform MODULE:CALLABLE --convention paper|siglip|open_clip|mscl`` (or :func:`conform`, or
:func:`assert_conforms` in a test) feeds the golden conformance cases
(:mod:`sigref.golden.cases.conform`: :math:`N` from 2 to 2400, uneven chunk boundaries, :math:`t` up
to :math:`10^4` and :math:`|b|` up to :math:`10^4`, leading batch axes) to the callable, converted
to its framework, and compares its value and, through the framework's autograd, its gradients in
the embeddings, the scale and the bias with the goldens mapped into its convention, in float64 and
float32. ``world_size > 1`` runs it in that many processes on its rank's rows and compares the
DDP-averaged gradients with the single-process goldens of the global batch
(:mod:`sigref.conform.distributed`).

.. rubric:: Conventions

The callable takes ``(embeddings, embeddings, scale, bias)``; the papers' logits are
:math:`z_{ij} = t \langle u_i, v_j \rangle - b` (:mod:`sigref.conform.conventions`):

* ``paper``: ``loss(U, V, t, b)``, the papers' :math:`t` and :math:`b` (:func:`sigref.losses.sigmoid_loss`);
* ``siglip``: ``loss(zimg, ztxt, t_prime, bias)`` with :math:`t = e^{t'}` and the bias added,
  :math:`b = -` ``bias`` (big_vision);
* ``open_clip``: ``loss(image_features, text_features, logit_scale, logit_bias)`` with the scale
  already exponentiated, :math:`t =` ``logit_scale``, and :math:`b = -` ``logit_bias``;
* ``mscl``: ``loss(x, x_target, tau, beta, gamma=...)`` with :math:`t = e^{\tau}`,
  :math:`b = -\beta`, checked on MSCL's modulated loss at :math:`\gamma = 1` and :math:`0.5`.

Every convention here takes the per-anchor loss (the sum over pairs divided by :math:`N`); a
:class:`Convention` can declare another reduction.

The loss is the sigmoid loss of SigLIP (Zhai et al. arXiv:2303.15343) with MSCL's modulation for
the ``mscl`` convention; the failures this is meant to catch are those of open_clip issues 618 (a
ring that converged poorly), 742 (inconsistent per-rank negatives) and 1214 (chunked logits kept
for autograd).

Examples
--------
>>> from sigref.conform import CONVENTIONS
>>> {name: (c.log_scale, c.bias_sign) for name, c in CONVENTIONS.items()}
{'paper': (False, 1), 'siglip': (True, -1), 'open_clip': (False, -1), 'mscl': (True, -1)}
"""

from sigref.conform.conventions import CONVENTIONS, REDUCTIONS, Convention, describe_conventions, get_convention
from sigref.conform.report import Report, Row, summary_table
from sigref.conform.runner import DTYPES, assert_conforms, conform
from sigref.conform.target import Framework, Outcome, declare, resolve

__all__ = ["CONVENTIONS", "DTYPES", "REDUCTIONS", "Convention", "Framework", "Outcome", "Report", "Row", "assert_conforms", "conform",
           "declare", "describe_conventions", "get_convention", "resolve", "summary_table"]
