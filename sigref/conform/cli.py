"""The ``sigref conform`` command: its parser (:func:`add_parser`, wired in by ``sigref.cli``) and :func:`cmd_conform`.

The command's exit status is 0 when every case that ran agrees, 1 when one differs or fails, and
2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sigref.conform.conventions import CONVENTIONS, REDUCTIONS, describe_conventions

__all__ = ["add_parser", "cmd_conform"]

#: The text after the options in ``sigref conform --help``: the conventions and examples.
EPILOG = """conventions (sigref's goldens: logits t <u_i, v_j> - b, per-anchor loss sum / N):
""" + "\n".join(f"  {c.name:9s} {c.signature()}: {c.mapping()}" for c in CONVENTIONS.values()) + """

examples:
  sigref conform sigref_torch:siglip_loss --convention open_clip
  sigref conform open_clip.loss:SigLipLoss --convention open_clip
  sigref conform --world-size 2 open_clip.loss:SigLipLoss --convention open_clip --init dist_impl=shift
  sigref conform mypkg.losses:my_loss --convention paper --framework jax --dtype float32 --json report.json

exit status: 0 when every case that ran agrees, 1 when one differs or fails, 2 on a usage error."""


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY a Python identifier, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a bare string: dist_impl=shift


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``conform`` subcommand to an argparse subparsers object.

    The options mirror the keywords of :func:`sigref.conform.conform`; ``--init`` and ``--kwarg``
    take ``KEY=VALUE`` with a JSON value (a bare string otherwise). The parser's ``func`` default
    is :func:`cmd_conform`.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``conform`` parser.

    Examples
    --------
    >>> import argparse
    >>> from sigref.conform.cli import add_parser
    >>> parser = argparse.ArgumentParser(prog="sigref")
    >>> _ = add_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["conform", "mypkg:loss", "--convention", "open_clip", "--kwarg", "chunk=64"])
    >>> args.target, args.convention, args.kwarg, args.dtype
    ('mypkg:loss', 'open_clip', [('chunk', 64)], None)
    """
    p = subparsers.add_parser("conform", help="check any sigmoid-loss implementation against the goldens (values, gradients, ranks)",
                              description="Check a sigmoid-loss implementation against sigref's goldens: value and gradients in float64 "
                                          "and float32, extreme logits, uneven chunks, N from 2 to 2400, across ranks.", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="?", help="MODULE:CALLABLE (imported from the current directory; a class is instantiated once)")
    p.add_argument("--convention", choices=list(CONVENTIONS), help="the callable's argument convention (default: its declaration)")
    p.add_argument("--conventions", action="store_true", help="print every convention's mapping onto the papers' (t, b) and exit")
    p.add_argument("--framework", default=None, help="array library the callable takes: torch, jax, numpy, cupy, ... (default: its declaration)")
    p.add_argument("--device", default=None, help="the framework's device (default: its first, e.g. cpu)")
    p.add_argument("--dtype", action="append", choices=["float64", "float32"], help="repeatable (default: both)")
    p.add_argument("--case", action="append", help="only this golden conformance case (repeatable)")
    p.add_argument("--reduction", choices=REDUCTIONS, default=None, help="override the convention's reduction")
    p.add_argument("--batch-axes", action="store_true", default=None, help="the callable accepts leading batch axes (..., N, d)")
    p.add_argument("--tangent", action="store_true", help="compare embedding gradients on the unit sphere's tangent space (callables that normalise)")
    p.add_argument("--world-size", type=int, default=1, help="run in W processes, each on its rank's rows (torch: gloo on the CPU)")
    p.add_argument("--init", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="constructor keyword of a class target (JSON value)")
    p.add_argument("--kwarg", action="append", type=_key_value, default=[], metavar="KEY=VALUE", help="keyword of every call (JSON value)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a distributed exchange may wait for a peer")
    p.add_argument("--dir", default=None, help="golden directory (default: the source tree's, else the installed copy)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the report as JSON to PATH ('-': stdout, the table then goes to stderr)")
    p.set_defaults(func=cmd_conform)
    return p


def cmd_conform(args: argparse.Namespace) -> int:
    """Run ``sigref conform`` with parsed arguments and return its exit status.

    Prints the conventions (``--conventions``), or runs :func:`sigref.conform.conform` and prints
    its table (to stderr when ``--json -`` sends the JSON report to stdout; ``--json PATH`` writes
    it to a file).

    Parameters
    ----------
    args : argparse.Namespace
        The arguments parsed by the parser of :func:`add_parser`.

    Returns
    -------
    int
        0 when the implementation conforms (or for ``--conventions``), 1 when it does not, 2 when
        no target was named.

    Raises
    ------
    ValueError
        As :func:`sigref.conform.conform` for invalid options (the ``sigref`` command reports it as a
        usage error, exit status 2).

    Examples
    --------
    >>> import argparse
    >>> from sigref.conform.cli import add_parser, cmd_conform
    >>> parser = argparse.ArgumentParser(prog="sigref")
    >>> _ = add_parser(parser.add_subparsers())
    >>> cmd_conform(parser.parse_args(["conform"]))  # no target: the error goes to stderr
    2
    """
    from sigref.conform import conform

    if args.conventions:
        print(describe_conventions())
        return 0
    if not args.target:
        print("sigref conform: error: name the implementation as MODULE:CALLABLE (or --conventions)", file=sys.stderr)
        return 2
    report = conform(args.target, args.convention, framework=args.framework, device=args.device, dtypes=args.dtype or ("float64", "float32"),
                     cases=args.case, reduction=args.reduction, batch_axes=args.batch_axes, tangent=args.tangent,
                     world_size=args.world_size, init=dict(args.init), kwargs=dict(args.kwarg),
                     directory=Path(args.dir) if args.dir else None, timeout_s=args.timeout)
    print(report.table(), file=sys.stderr if args.json == "-" else sys.stdout)  # stdout: the JSON alone
    if args.json == "-":
        print(report.to_json())
    elif args.json:
        Path(args.json).write_text(report.to_json() + "\n")
    return 0 if report.ok else 1
