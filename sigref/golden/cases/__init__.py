"""Golden cases, one module per concept; each exposes ``CASES: list[Case]``.

The modules named in :data:`sigref.golden.CASE_MODULES` are collected, in that order, by
:func:`sigref.golden.all_cases`; every :class:`sigref.golden.Case` of them has a golden file
``<name>.npz``:

* :mod:`sigref.golden.cases.losses`: the loss family (``losses_*``);
* :mod:`sigref.golden.cases.lee2024`: CCEM and the experiments of arXiv:2402.12613 (``lee2024_*``);
* :mod:`sigref.golden.cases.bangachev2025`: constellations and the experiments of
  arXiv:2509.18552 (``bangachev2025_*``);
* :mod:`sigref.golden.cases.conform`: the conformance suite of :mod:`sigref.conform`
  (``conform_*``).

Examples
--------
>>> from sigref.golden.cases import conform
>>> [case.name for case in conform.CASES][:2]
['conform_n2', 'conform_init']
"""
