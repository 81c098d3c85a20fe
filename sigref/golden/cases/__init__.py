"""Golden cases, one module per concept; each exposes ``CASES: list[Case]``."""
