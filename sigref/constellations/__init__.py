"""Constellations: the geometry of sigmoid-loss minimisers (Bangachev, Bresler, Noman & Polyanskiy 2025,
"Global Minimizers of Sigmoid Contrastive Loss", arXiv 2509.18552).

Modules: :mod:`metrics` (margin m*, relative bias b*_rel, xi, retrieval), :mod:`region` (Thm 3.4),
:mod:`codes` (spherical codes), :mod:`constructions` (Constructions 1-3, Thm 3.3, Obs. 1-2),
:mod:`bounds` (Thms 3.3, 3.5, finite-d bounds), :mod:`gap` (Thm 3.6, separability),
:mod:`analyze` (report on a user's own paired embeddings).

At the scale of real evaluation sets (N in the hundreds of thousands): :mod:`tiles` (U V^T one tile at a time),
:mod:`streaming` (every statistic of the report in passes over the tiles), :mod:`percentiles` (exact percentiles of
the N(N-1) negatives without N^2 memory), :mod:`separability` (the Thm 3.6 checks with certificates),
:mod:`io` (.npy, .npz, .safetensors pairs) and :mod:`plots` (the ``--plot`` figure).
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
    "gap_direction", "homogeneous_separation", "negative_percentile", "pair_summary", "adapter", "admissible_bias_interval", "alpha",
    "batch_retrieval_fraction", "bias_interval", "binary_code", "certified_constellation", "construction1",
    "construction2", "construction3", "cross_polytope", "effective_relative_bias", "exponent_gap", "exponent_lower",
    "exponent_upper", "extended_hamming_generator", "from_code", "greedy_code", "hypercube", "in_feasible_region",
    "in_modality_gap_region", "is_constellation", "linear_separation", "log_cap", "log_n_lower", "log_n_upper",
    "margin", "margin_and_bias", "max_inner_product", "max_pairs", "min_norm_point", "min_norm_separator", "n_cap",
    "observation1_inverse", "observation1_map", "observation2_map", "optimal_relative_bias", "pair_statistics",
    "plot_region", "random_code", "reed_muller_generator", "regular_simplex", "retrieval_accuracy",
    "retrieval_is_robust", "sign_pattern_holds", "similarities", "simplex_point", "wendel_hemisphere_probability", "xi",
]
