"""Pages of the sigref site computed at build time: the CLI reference and the tables of numerics.md and chunking.md.

The CLI page is ``sigref --help`` and every subcommand's help, taken from :func:`sigref.cli.build_parser`
(plugin commands included); the tables are evaluated by sigref itself when the site is built, so they cannot
drift from the code. :mod:`sigref_apidoc` writes them next to the API pages.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# --------------------------------------------------------------------------------------------- the CLI page


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((name, sub))
    return out


def cli_markdown() -> str:
    """Markdown of ``sigref --help`` and of every (nested) subcommand's ``--help``."""
    from sigref.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "96"
    try:
        parser = build_parser()
        parts = ["## `sigref`", "", "```text", parser.format_help().rstrip(), "```", ""]

        def walk(prefix: str, p: argparse.ArgumentParser, level: int) -> None:
            for name, sub in _subcommands(p):
                command = f"{prefix} {name}"
                parts.extend(["#" * level + f" `{command}`", "", "```text", sub.format_help().rstrip(), "```", ""])
                walk(command, sub, min(level + 1, 4))

        walk("sigref", parser, 3)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    text = "\n".join(parts)
    return text.replace(str(Path.cwd()), ".")


# --------------------------------------------------------------------------------------------- computed tables


def _g(x: float) -> str:
    """A float as the table shows it: inf/nan spelled out, 7 significant digits otherwise."""
    import math

    if math.isnan(x):
        return "**nan**"
    if math.isinf(x):
        return "**inf**" if x > 0 else "**-inf**"
    return "0" if x == 0 else f"{x:.7g}"


def numerics_markdown() -> str:
    """The table of docs/numerics.md, computed by sigref when the site is built: the logistic functions at
    extreme float32 arguments, sigref's against the textbook formulas."""
    import numpy as np

    from sigref import numerics

    x = np.array([-1e9, -1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4, 1e9], dtype=np.float32)
    with np.errstate(all="ignore"):
        naive_sp = np.log(1.0 + np.exp(x))
        naive_ls = np.log(1.0 / (1.0 + np.exp(-x)))
        naive_dsp = np.exp(x) / (1.0 + np.exp(x))
    cols = [
        (r"textbook $\log(1 + e^x)$", naive_sp),
        ("{func}`~sigref.numerics.softplus`", numerics.softplus(x)),
        (r"textbook $\log(1/(1 + e^{-x}))$", naive_ls),
        ("{func}`~sigref.numerics.log_sigmoid`", numerics.log_sigmoid(x)),
        ("textbook $e^x/(1 + e^x)$", naive_dsp),
        ("{func}`~sigref.numerics.sigmoid`", numerics.sigmoid(x)),
    ]
    head = "| $x$ (float32) | " + " | ".join(c for c, _ in cols) + " |"
    rows = [head, "|" + "---:|" * (len(cols) + 1)]
    for i, xi in enumerate(x):
        rows.append(f"| {_g(float(xi))} | " + " | ".join(_g(float(v[i])) for _, v in cols) + " |")
    return "\n".join(rows) + "\n"


def chunking_markdown(n: int = 4096, d: int = 64) -> str:
    """The memory table of docs/chunking.md: peak memory (tracemalloc, which NumPy reports to) of one value and
    gradient of the float32 per-anchor loss on NumPy for several ``chunk_size``, measured when the site is built."""
    import tracemalloc

    import numpy as np

    from sigref import fused, losses
    from sigref.sampling import uniform_sphere

    U = uniform_sphere(0, (n, d)).astype(np.float32)
    V = uniform_sphere(1, (n, d)).astype(np.float32)
    t, b = np.float32(10.0), np.float32(10.0)
    losses.sigmoid_loss_and_grad(U[:64], V[:64], t, b)  # load (and compile) the elementwise pass outside the measurement
    pass_fn = fused.pass_for(U)
    pass_name = f"{pass_fn.__module__}.{pass_fn.__name__}"
    rows = ["| `chunk_size` | rows per block | pairs per block | peak memory (MiB) | bytes per pair of the block |",
            "|---|---:|---:|---:|---:|"]
    for chunk in (None, "auto", 256, 128):
        rows_per_block = n if chunk is None else (2**22 // n if chunk == "auto" else chunk)
        tracemalloc.start()
        losses.sigmoid_loss_and_grad(U, V, t, b, chunk_size=chunk)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        pairs = rows_per_block * n
        rows.append(f"| `{chunk!r}` | {rows_per_block} | {pairs:,} | {peak / 2**20:.1f} | {peak / pairs:.1f} |")
    note = (f"\nN = M = {n}, d = {d}, float32, value and all gradients, elementwise pass `{pass_name}`; "
            f"the inputs themselves ({2 * n * d * 4 / 2**20:.0f} MiB) are not counted.\n")
    return "\n".join(rows) + "\n" + note
