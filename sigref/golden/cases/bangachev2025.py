"""Golden cases for this paper's module (filled in with the module)."""

from sigref.golden import Case

CASES: list[Case] = []
