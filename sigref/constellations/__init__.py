r"""Constellations: the geometry of sigmoid-loss minimisers (Bangachev, Bresler, Noman & Polyanskiy 2025, arXiv:2509.18552).

"Global Minimizers of Sigmoid Contrastive Loss" shows that the zero-loss configurations of the
sigmoid loss are the :math:`(m, b_{rel})`-constellations: paired unit vectors
:math:`U_i, V_i \in S^{d-1}` with :math:`s_{ij} = \langle U_i, V_j \rangle` and

.. math::

    s_{ii} \ge b_{rel} + m \quad \text{for all } i, \qquad
    s_{ij} \le b_{rel} - m \quad \text{for all } i \ne j.

A configuration's margin and optimal relative bias are
:math:`m^* = (\min_i s_{ii} - \max_{i \ne j} s_{ij}) / 2` and
:math:`b^*_{rel} = (\min_i s_{ii} + \max_{i \ne j} s_{ij}) / 2`; it is a constellation iff
:math:`m^* \ge 0`.

Modules: :mod:`metrics` (margin :math:`m^*`, relative bias :math:`b^*_{rel}`, :math:`\xi`,
retrieval), :mod:`region` (Thm 3.4), :mod:`codes` (spherical codes), :mod:`constructions`
(Constructions 1-3, Thm 3.3, Obs. 1-2), :mod:`bounds` (Thms 3.3, 3.5, finite-d bounds),
:mod:`gap` (Thm 3.6, separability), :mod:`analyze` (report on a user's own paired embeddings).

At the scale of real evaluation sets (N in the hundreds of thousands): :mod:`tiles`
(:math:`U V^\top` one tile at a time), :mod:`streaming` (every statistic of the report in passes
over the tiles), :mod:`percentiles` (exact percentiles of the :math:`N(N-1)` negatives without
:math:`N^2` memory), :mod:`separability` (the Thm 3.6 checks with certificates), :mod:`io`
(``.npy``, ``.npz``, ``.safetensors`` pairs) and :mod:`plots` (the ``--plot`` figure).

Examples
--------
The regular simplex of 4 points paired with itself is a constellation with
:math:`m^* = 2/3`, :math:`b^*_{rel} = 1/3`; Thm 3.3 turns the cube code into a
:math:`(0.1, 0)`-constellation in one more dimension:

>>> import sigref.constellations as C
>>> X = C.regular_simplex(4).X
>>> [round(float(v), 6) for v in C.margin_and_bias(X, X)]
[0.666667, 0.333333]
>>> c = C.from_code(C.hypercube(3).X, m=0.1, b_rel=0.0, exact=True)
>>> c.U.shape, round(c.m_star, 6)
((8, 5), 0.1)
>>> round(C.exponent_lower(0.1, 0.0), 5), round(C.exponent_upper(0.1, 0.0), 5)
(0.25956, 0.5058)
"""

from sigref.constellations.bounds import (
    alpha,
    exponent_gap,
    exponent_lower,
    exponent_upper,
    log_cap,
    log_n_lower,
    log_n_upper,
)
from sigref.constellations.codes import (
    Code,
    binary_code,
    cross_polytope,
    extended_hamming_generator,
    greedy_code,
    hypercube,
    max_inner_product,
    random_code,
    reed_muller_generator,
    regular_simplex,
)
from sigref.constellations.constructions import (
    Constellation,
    adapter,
    construction1,
    construction2,
    construction3,
    from_code,
    observation1_inverse,
    observation1_map,
    observation2_map,
)
from sigref.constellations.gap import (
    LinearSeparation,
    Separator,
    linear_separation,
    min_norm_point,
    min_norm_separator,
    sign_pattern_holds,
    wendel_hemisphere_probability,
)
from sigref.constellations.metrics import (
    admissible_bias_interval,
    batch_retrieval_fraction,
    certified_constellation,
    effective_relative_bias,
    is_constellation,
    margin,
    margin_and_bias,
    optimal_relative_bias,
    pair_statistics,
    retrieval_accuracy,
    retrieval_is_robust,
    similarities,
    xi,
)
from sigref.constellations.percentiles import negative_percentile
from sigref.constellations.region import (
    bias_interval,
    in_feasible_region,
    in_modality_gap_region,
    max_pairs,
    n_cap,
    plot_region,
    simplex_point,
)
from sigref.constellations.separability import GapDirection, SeparationCheck, gap_direction, homogeneous_separation
from sigref.constellations.streaming import PairSummary, pair_summary

__all__ = [
    "Code", "Constellation", "GapDirection", "LinearSeparation", "PairSummary", "SeparationCheck", "Separator",
    "adapter", "admissible_bias_interval", "alpha", "batch_retrieval_fraction", "bias_interval", "binary_code",
    "certified_constellation", "construction1", "construction2", "construction3", "cross_polytope",
    "effective_relative_bias", "exponent_gap", "exponent_lower", "exponent_upper", "extended_hamming_generator",
    "from_code", "gap_direction", "greedy_code", "homogeneous_separation", "hypercube", "in_feasible_region",
    "in_modality_gap_region", "is_constellation", "linear_separation", "log_cap", "log_n_lower", "log_n_upper",
    "margin", "margin_and_bias", "max_inner_product", "max_pairs", "min_norm_point", "min_norm_separator", "n_cap",
    "negative_percentile", "observation1_inverse", "observation1_map", "observation2_map", "optimal_relative_bias",
    "pair_statistics", "pair_summary", "plot_region", "random_code", "reed_muller_generator", "regular_simplex",
    "retrieval_accuracy", "retrieval_is_robust", "sign_pattern_holds", "similarities", "simplex_point",
    "wendel_hemisphere_probability", "xi",
]
