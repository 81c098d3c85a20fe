"""The ``sigref bench`` command: its parser (:func:`add_parser`, which the ``sigref`` command wires in), the
options it makes (:func:`options_from_args`), :func:`cmd_bench`, and :func:`main`, the same
command on its own for ``python -m sigref.bench`` (without the rest of the ``sigref`` CLI).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sigref.bench.registry import (
    BACKEND_KEYS,
    DEFAULT_BACKENDS,
    DEFAULT_CHUNK,
    DEFAULT_DS,
    DEFAULT_DTYPES,
    DEFAULT_NS,
    FILTER_THRESHOLD,
    GAMMA,
)
from sigref.bench.report import format_markdown
from sigref.bench.runner import BenchOptions, _atomic_write, merge_reports, quick_options, run_bench
from sigref.provenance import describe_command, portable_argv, write_manifest


def _chunk_arg(text: str) -> int | str:
    if text == "auto":
        return text
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"--chunk-size must be 'auto' or an integer >= 0, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sigref bench`` to the CLI."""
    p = subparsers.add_parser(
        "bench", help="time and memory of the loss + gradients vs the matmul floor, a naive baseline and open_clip",
        description="Forward+backward time (median after warm-up; the rows of one configuration round-robin in one "
        "process) and peak memory above the inputs (each row in its own process); prints a markdown table and "
        "writes bench.json and bench.md.",
    )
    p.add_argument("--quick", action="store_true", help="CI smoke: N=96, d=16, 2 runs, one process per backend")
    p.add_argument("--backend", nargs="+", choices=list(BACKEND_KEYS), default=None,
                   help=f"backends (default: the available ones of {', '.join(DEFAULT_BACKENDS)})")
    p.add_argument("--n", nargs="+", type=int, default=None, help=f"batch sizes N (default {DEFAULT_NS})")
    p.add_argument("--d", nargs="+", type=int, default=None, help=f"dimensions d (default {DEFAULT_DS})")
    p.add_argument("--dtype", nargs="+", choices=list(DEFAULT_DTYPES), default=None)
    p.add_argument("--impl", nargs="+", default=None,
                   help="rows (default: floor naive sigref sigref_gamma sigref_filter open_clip ccem bangachev_e1; "
                   "also sigref_kernel, sigref_gamma_kernel, sigref_filter_kernel)")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 5; quick 2)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed runs first (default 1; 0 also skips the warm-up call before timing, for calls of minutes)")
    p.add_argument("--budget", type=float, default=None,
                   help="stop repeating once a measurement's timed runs took this many seconds (default 30)")
    p.add_argument("--chunk-size", type=_chunk_arg, default=DEFAULT_CHUNK,
                   help="sigref's chunk_size: anchors per row block, 'auto' (default: about 2^22 pairs per block) or 0 (unchunked)")
    p.add_argument("--gamma", type=float, default=GAMMA, help="MSCL gamma of the sigref_gamma/_filter rows")
    p.add_argument("--filter-threshold", type=float, default=FILTER_THRESHOLD)
    p.add_argument("--isolate", choices=["measurement", "backend", "none"], default=None,
                   help="a fresh process per row's memory and per configuration's timing (default), "
                   "one per backend (quick default), or none")
    p.add_argument("--no-solvers", action="store_true", help="skip the ccem and bangachev_e1 rows")
    p.add_argument("--max-memory", type=float, default=None,
                   help="skip CPU rows whose estimated peak exceeds this many GiB (default 70%% of MemAvailable)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per measurement before it is killed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="directory for bench.json and bench.md (default reference_results/bench; quick: out/bench-quick)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--merge", nargs="+", metavar="BENCH_JSON", default=None,
                   help="instead of measuring, combine the reports of several runs on one host into OUT "
                   "(later files win for the same row)")
    p.set_defaults(func=cmd_bench)
    return p


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    chosen = {
        "backends": args.backend, "ns": args.n, "ds": args.d, "dtypes": args.dtype, "impls": args.impl,
        "repeats": args.repeats, "warmup": args.warmup, "budget_s": args.budget, "isolate": args.isolate,
    }
    overrides = {k: v for k, v in chosen.items() if v is not None}
    overrides.update(
        chunk_size=args.chunk_size or None, gamma=args.gamma, filter_threshold=args.filter_threshold, seed=args.seed,
        solvers=not args.no_solvers, timeout_s=args.timeout, progress=not args.no_progress,
        max_memory_bytes=None if args.max_memory is None else int(args.max_memory * 2**30),
    )
    for name in ("repeats", "warmup"):
        if name in overrides and overrides[name] < (1 if name == "repeats" else 0):
            raise ValueError(f"--{name} must be >= {1 if name == 'repeats' else 0}, got {overrides[name]}")
    for name in ("ns", "ds"):
        if name in overrides and any(int(v) < 1 for v in overrides[name]):
            raise ValueError(f"--{name[0]} values must be positive integers, got {overrides[name]}")
    return quick_options(**overrides) if args.quick else BenchOptions(**overrides)


def cmd_bench(args: argparse.Namespace) -> int:
    out = args.out or ("out/bench-quick" if args.quick else "reference_results/bench")
    if args.merge:
        report = merge_reports([json.loads(Path(f).read_text()) for f in args.merge])
        Path(out).mkdir(parents=True, exist_ok=True)
        _atomic_write(Path(out) / "bench.json", json.dumps(report, indent=1) + "\n")
        _atomic_write(Path(out) / "bench.md", format_markdown(report))
        write_manifest(out, describe_command(["bench", "--merge", *args.merge, "--out", out]))
        print(f"merged {len(args.merge)} reports into {Path(out) / 'bench.json'} and {Path(out) / 'bench.md'}")
        return 0
    options = options_from_args(args)
    script = Path(sys.argv[0]) if sys.argv else Path()
    prog = script.name
    argv = (["sigref", *sys.argv[1:]] if prog == "sigref"
            else ["python", "-m", "sigref.bench", *sys.argv[1:]] if (script.parent.name, prog) == ("bench", "__main__.py")
            else None)
    argv = None if argv is None else portable_argv(argv)
    report = run_bench(options, out=out, argv=argv)
    write_manifest(out, shlex.join(argv) if argv else describe_command(getattr(args, "argv", ["bench"])))
    print(format_markdown(report))
    print(f"wrote {Path(out) / 'bench.json'} and {Path(out) / 'bench.md'}")
    errors = [r for r in report["results"] if r.get("status") == "error"]
    return 1 if errors else 0


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m sigref.bench [options]``: ``sigref bench`` on its own, with the ``sigref`` command's error handling."""
    from sigref.backend import BackendError

    parser = argparse.ArgumentParser(prog="sigref")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    args.argv = ["bench", *(sys.argv[1:] if argv is None else argv)]
    try:
        return int(args.func(args) or 0)
    except (BackendError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"sigref {args.command}: error: {exc}", file=sys.stderr)
        return 2
