"""A golden case (what it pins, its deterministic inputs, how sigref computes it) and the registry of cases.

The registry is the list ``CASES`` of every module of :mod:`sigref.golden.cases` named in
:data:`CASE_MODULES`; case names are unique across modules and name the golden files.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from sigref.backend import Backend
from sigref.types import Array

__all__ = ["CASE_MODULES", "TOLERANCE_CLASSES", "Case", "all_cases", "compute_host", "rtol_for", "select"]

#: The tolerance classes: class name -> C in rtol = C * sqrt(eps(dtype)), i.e. 1.5e-8 * C in
#: float64 and 3.5e-4 * C in float32. ``exact``: closed forms and elementwise values;
#: ``reduction``: sums over N^2 terms; ``gradient``: analytic gradients; ``solver``: iterative
#: solvers, LPs, roots; ``trajectory``: short fixed-step training runs.
TOLERANCE_CLASSES = {
    "exact": 1.0,  # closed forms and elementwise values
    "reduction": 4.0,  # sums over N^2 terms
    "gradient": 8.0,  # analytic gradients (sums of products of reductions)
    "solver": 100.0,  # iterative solvers, LPs, roots
    "trajectory": 1000.0,  # short fixed-step training runs
}

#: The modules of :mod:`sigref.golden.cases` whose ``CASES`` make up the registry, in order.
CASE_MODULES = ("losses", "lee2024", "bangachev2025", "conform")


def rtol_for(tolerance_class: str, dtype_name: str) -> float:
    r"""The relative tolerance :math:`C \sqrt{\varepsilon}` of a tolerance class in a dtype.

    :math:`C` is the class's constant in :data:`TOLERANCE_CLASSES` and :math:`\varepsilon` the
    machine epsilon of the dtype (:math:`2^{-23}` for float32, :math:`2^{-52}` otherwise).

    Parameters
    ----------
    tolerance_class : str
        A key of :data:`TOLERANCE_CLASSES`.
    dtype_name : str
        ``"float32"``; any other name means float64.

    Returns
    -------
    float
        The tolerance ``rtol``.

    Raises
    ------
    KeyError
        When ``tolerance_class`` is not a tolerance class.

    Examples
    --------
    >>> from sigref.golden import rtol_for
    >>> f"{rtol_for('exact', 'float64'):.3e}", f"{rtol_for('gradient', 'float32'):.3e}"
    ('1.490e-08', '2.762e-03')
    """
    eps = float(np.finfo(np.float32 if dtype_name == "float32" else np.float64).eps)
    return TOLERANCE_CLASSES[tolerance_class] * eps**0.5


@dataclass(frozen=True)
class Case:
    """One golden case: what it pins, its deterministic inputs and how sigref computes its outputs.

    Regeneration (:func:`sigref.golden.regen`) calls ``inputs()``, moves the arrays to NumPy
    float64, calls ``compute`` and stores inputs and outputs in ``<name>.npz``; a check
    (:func:`sigref.golden.check`) moves the *stored* inputs to the backend under test, calls
    ``compute`` and compares each output within its tolerance class.

    Parameters
    ----------
    name : str
        Unique case name; the file is ``<name>.npz``.
    what : str
        What the case pins, one line (recorded in ``MANIFEST.json``).
    inputs : callable
        ``inputs() -> dict of str to numpy.ndarray``: the host inputs, the same on every call.
    compute : callable
        ``compute(backend, arrays) -> dict of str to Array``: the outputs, computed with sigref on
        ``backend`` (a :class:`sigref.backend.Backend`) from the inputs moved there.
    tolerance : str or dict or callable, default "exact"
        The tolerance class (a key of :data:`TOLERANCE_CLASSES`) of every output, a dict output
        name -> class, or a function of the output name returning its class.
    float32_reason : str or None, default None
        When set, the case is checked in float64 only, for this stated reason.
    backends_reason : dict of str to str, optional
        Backend name -> the reason the case is skipped on that backend.

    See Also
    --------
    sigref.golden.cases : The registered cases.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.backend import get_backend
    >>> from sigref.golden import Case
    >>> from sigref.golden.case import compute_host
    >>> case = Case("demo_softplus", "softplus of three logits", lambda: {"q": np.array([-1.0, 0.0, 2.0])},
    ...             lambda backend, a: {"f": backend.xp.logaddexp(backend.xp.zeros_like(a["q"]), a["q"])})
    >>> out = compute_host(case, get_backend("numpy", dtype="float32"), case.inputs())
    >>> [round(float(v), 6) for v in out["f"]], case.tolerance_class("f")
    ([0.313262, 0.693147, 2.126928], 'exact')
    """

    name: str
    what: str
    inputs: Callable[[], dict[str, np.ndarray]]
    compute: Callable[[Backend, dict[str, Array]], dict[str, Array]]
    tolerance: str | dict[str, str] | Callable[[str], str] = "exact"
    float32_reason: str | None = None
    backends_reason: dict[str, str] = field(default_factory=dict)

    def tolerance_class(self, output: str) -> str:
        """The tolerance class of the output called ``output``.

        Resolves the ``tolerance`` field: the one class for every output, the dict's entry, or the
        function's answer.

        Parameters
        ----------
        output : str
            An output name.

        Returns
        -------
        str
            A key of :data:`TOLERANCE_CLASSES`.

        Raises
        ------
        KeyError
            When ``tolerance`` is a dict without that output.

        Examples
        --------
        >>> import numpy as np
        >>> from sigref.golden import Case
        >>> case = Case("demo", "two outputs", dict, lambda backend, a: {}, {"value": "reduction", "grad": "gradient"})
        >>> case.tolerance_class("grad")
        'gradient'
        """
        if isinstance(self.tolerance, str):
            return self.tolerance
        if callable(self.tolerance):
            return self.tolerance(output)
        return self.tolerance[output]


def all_cases() -> list[Case]:
    """Every registered golden case, module by module in the order of :data:`CASE_MODULES`.

    Imports the modules of :mod:`sigref.golden.cases` (not the array libraries of other backends).

    Returns
    -------
    list of Case
        The cases.

    Raises
    ------
    RuntimeError
        When two cases share a name.

    Examples
    --------
    >>> from sigref.golden import all_cases
    >>> names = [case.name for case in all_cases()]
    >>> "losses_sigmoid" in names, len(names) == len(set(names))
    (True, True)
    """
    cases: list[Case] = []
    for mod in CASE_MODULES:
        cases.extend(importlib.import_module(f"sigref.golden.cases.{mod}").CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate golden case names: {sorted(dup)}")
    return cases


def select(names: Iterable[str] | None) -> list[Case]:
    """The cases called ``names``, in that order; every case when ``names`` is None or empty.

    This is how ``sigref golden check --case`` and ``regen --case`` choose cases.

    Parameters
    ----------
    names : iterable of str or None
        Case names.

    Returns
    -------
    list of Case
        The selected cases.

    Raises
    ------
    ValueError
        When a name is not a case; the message lists the unknown and the known names.

    Examples
    --------
    >>> from sigref.golden.case import select
    >>> [case.what for case in select(["lee2024_thresholds"])]
    ['T_etf(N) = (N-1)/N log(N-3) and T_anti(N) = 1/2 log((N-2)/2)']
    """
    cases = all_cases()
    if not names:
        return cases
    by_name = {c.name: c for c in cases}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown golden case(s) {unknown}; known: {sorted(by_name)}")
    return [by_name[n] for n in names]


def compute_host(case: Case, backend: Backend, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The case's outputs computed on ``backend`` from host ``inputs``, copied back as float64.

    Floating inputs are moved to the backend in its dtype (:meth:`sigref.backend.Backend.asarray`),
    integer and bool inputs keep their kind; the outputs come back through
    :meth:`sigref.backend.Backend.to_numpy`.

    Parameters
    ----------
    case : Case
        The case.
    backend : Backend
        Where to compute.
    inputs : dict of str to numpy.ndarray
        Host inputs (``case.inputs()``, or those stored in the golden file).

    Returns
    -------
    dict of str to numpy.ndarray
        The outputs, as float64 host arrays.

    Examples
    --------
    >>> from sigref.backend import get_backend
    >>> from sigref.golden.case import compute_host, select
    >>> case = select(["lee2024_thresholds"])[0]
    >>> out = compute_host(case, get_backend("numpy", dtype="float32"), case.inputs())
    >>> sorted(out), out["T_etf"].dtype.name
    (['T_anti', 'T_etf'], 'float64')
    """
    arrays = {k: backend.asarray(v) for k, v in inputs.items()}
    return {k: backend.to_numpy(v).astype(np.float64) for k, v in case.compute(backend, arrays).items()}
