"""The ``sigref`` command: info, golden regen|check, conform, reproduce, bench, analyze, plugin commands.

Plugins add subcommands through the entry-point group ``sigref.cli``: each entry point names a
function ``register(subparsers)`` that adds its parser and sets ``func`` on it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import platform
import sys
from pathlib import Path

from sigref import backend as _backend
from sigref.provenance import describe_command, write_manifest

CLI_ENTRY_POINT_GROUP = "sigref.cli"


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default=None, help="numpy, array_api_strict, torch, cupy, ... (default: SIGREF_BACKEND or numpy)")
    p.add_argument("--device", default=None, help="device name (default: SIGREF_DEVICE or the backend's first)")
    p.add_argument("--dtype", default=None, choices=_backend.FLOAT_DTYPES, help="default: SIGREF_DTYPE or float64")


def _resolve(args: argparse.Namespace) -> _backend.Backend:
    return _backend.get_backend(args.backend, device=args.device, dtype=args.dtype)


def _chunk_rows(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--chunk-size must be 'auto' or an integer >= 1, got {text!r}")
    return value


def cmd_info(args: argparse.Namespace) -> int:
    import numpy

    import sigref

    print(f"sigref {sigref.__version__}  python {platform.python_version()}  numpy {numpy.__version__}")
    for name, reason in _backend.available_backends().items():
        if reason is not None:
            print(f"  {name:18s} unavailable: {reason}")
            continue
        spec = _backend.backend_spec(name)
        try:
            version = importlib.metadata.version(spec.module.split(".")[0].replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        print(f"  {name:18s} {version:12s} devices: {', '.join(spec.devices())}  autograd: {spec.has_autograd}")
    return 0


def cmd_golden(args: argparse.Namespace) -> int:
    from sigref import golden

    directory = Path(args.dir) if args.dir else None
    if args.action == "regen":
        if (args.backend or "numpy") != "numpy" or (args.dtype or "float64") != "float64":
            print("sigref golden regen: goldens are generated on numpy float64 only", file=sys.stderr)
            return 2
        if args.json:
            print("sigref golden regen: --json is a report of golden check", file=sys.stderr)
            return 2
        try:
            results = golden.regen(directory, args.case, force=args.force)
        except golden.RegenRefused as exc:
            print(exc, file=sys.stderr)
            return 1
        for result in results:
            print(result.describe())
        return 0
    backend = _resolve(args)
    rows = golden.check(backend, directory, args.case)
    print(golden.format_table(rows, backend), file=sys.stderr if args.json == "-" else sys.stdout)  # stdout: the JSON alone
    if args.json:
        report = golden.report_json(rows, backend, directory)
        if args.json == "-":
            print(report)
        else:
            Path(args.json).write_text(report + "\n")
    return 0 if all(r.ok for r in rows) else 1


def cmd_reproduce(args: argparse.Namespace) -> int:
    from sigref.experiments import EXPERIMENTS

    names = list(EXPERIMENTS) if args.paper == "all" else [args.paper]
    backend = _resolve(args)
    for name in names:
        module = importlib.import_module(EXPERIMENTS[name])
        outdir = Path(args.out) / name
        outdir.mkdir(parents=True, exist_ok=True)
        summary = module.reproduce(outdir, quick=args.quick, backend=backend, progress=not args.no_progress)
        write_manifest(outdir, describe_command(args.argv), backend=backend.name, dtype=backend.dtype_name)
        print(f"{name}: summary in {summary}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from sigref.constellations.analyze import analyze_pairs, format_report, load_pair, to_json

    U, V = load_pair(args.U, args.V, keys=tuple(args.keys) if args.keys else None, normalize=args.normalize)
    backend = _backend.get_backend(args.backend, device=args.device)
    result = analyze_pairs(U, V, t=args.t, b=args.b, b_rel=args.b_rel, q=args.q, backend=backend, dtype=args.dtype,
                           chunk_size=args.chunk_size, time_budget_s=args.time_budget, seed=args.seed,
                           keep_samples=args.plot is not None, progress=not args.no_progress)
    if args.plot:
        from sigref.constellations.plots import plot_analysis

        plot_analysis(result, args.plot)
    print(to_json(result.report) if args.json else format_report(result.report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from sigref.experiments import EXPERIMENTS

    parser = argparse.ArgumentParser(prog="sigref", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="backends (available or why not), versions, devices")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("golden", help="regenerate or check the golden reference results")
    p.add_argument("action", choices=["regen", "check"])
    p.add_argument("--case", action="append", help="only this case (repeatable)")
    p.add_argument("--dir", default=None, help="golden directory (default: the source tree's reference_results/golden, else the installed copy)")
    p.add_argument("--force", action="store_true", help="regen: overwrite goldens even where the recomputation disagrees with the committed values")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="check: also write a JSON report for CI to PATH ('-': stdout, the table then goes to stderr)")
    _backend_args(p)
    p.set_defaults(func=cmd_golden)

    p = sub.add_parser("reproduce", help="reproduce a paper's experiments (figures, CSV, summary)")
    p.add_argument("paper", choices=[*EXPERIMENTS, "all"])
    p.add_argument("--out", default="out", help="output directory (a folder per paper is made in it)")
    p.add_argument("--quick", action="store_true", help="smaller grids and fewer steps (CI smoke)")
    p.add_argument("--no-progress", action="store_true")
    _backend_args(p)
    p.set_defaults(func=cmd_reproduce)

    from sigref import bench

    bench.add_parser(sub)

    from sigref.conform import cli as conform_cli

    conform_cli.add_parser(sub)

    p = sub.add_parser("analyze", help="margin, relative bias, xi, loss, separability of paired embeddings (arXiv 2509.18552)")
    p.add_argument("U", help="U.npy (memory-mapped), .npz or .safetensors: (N, d) embeddings of modality 1 (unit rows); "
                   "or one .npz/.safetensors file holding both U and V (see --keys)")
    p.add_argument("V", nargs="?", default=None, help="V's file: (N, d) embeddings of modality 2, row i paired with row i of U")
    p.add_argument("--keys", nargs=2, metavar=("U_NAME", "V_NAME"), default=None,
                   help="array names inside .npz/.safetensors files (default: U and V in a file holding both)")
    p.add_argument("--t", type=float, default=None, help="inverse temperature for the loss (logits t<u,v> - b)")
    p.add_argument("--b", type=float, default=None, help="bias b (paper convention; SigLIP's bias is -b)")
    p.add_argument("--b-rel", type=float, default=None, help="relative bias b_rel = b/t (instead of --b)")
    p.add_argument("--q", type=float, default=5.0, help="robust forms: P_q of the positives, P_(100-q) of the negatives (default 5)")
    p.add_argument("--normalize", action="store_true", help="scale rows to unit norm instead of rejecting them")
    p.add_argument("--backend", default=None, help="numpy, array_api_strict, torch, cupy, ... (default: SIGREF_BACKEND or numpy)")
    p.add_argument("--device", default=None, help="device name (default: SIGREF_DEVICE or the backend's first)")
    p.add_argument("--dtype", default=None, choices=_backend.FLOAT_DTYPES, help="compute dtype (default: the files' dtype)")
    p.add_argument("--chunk-size", type=_chunk_rows, default="auto", help="anchors (rows of U V^T) per block, or 'auto' (default)")
    p.add_argument("--time-budget", type=float, default=120.0, help="seconds for the two separability checks (default 120)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled percentile bracket (results are exact regardless)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", default=None, metavar="FILE", help="save the similarity histograms and the Thm 3.4 region to FILE")
    p.add_argument("--no-progress", action="store_true", help="no progress bar over the blocks")
    p.set_defaults(func=cmd_analyze)

    for ep in importlib.metadata.entry_points(group=CLI_ENTRY_POINT_GROUP):
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except (_backend.BackendError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"sigref {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
