"""The report as markdown (:func:`format_markdown`): the header (host, load, settings), the
headline table, every row, the solver rows and what was not measured, with why.
"""

from __future__ import annotations

from typing import Any

from sigref.bench.registry import B_INIT, BACKEND_KEYS, T_INIT


def _ms(x: float | None) -> str:
    if x is None:
        return "–"
    ms = x * 1e3
    return f"{ms:.3g}" if ms < 1000 else f"{ms:,.0f}"


def _ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _mib(x: int | None) -> str:
    return "–" if x is None else f"{x / 2**20:.1f}"


def _load_text(load: dict[str, Any]) -> str:
    avg = load.get("loadavg")
    return f"{load.get('time', '?')}, load average {' '.join(map(str, avg)) if avg else '?'}"


def format_markdown(report: dict[str, Any]) -> str:
    """The report as markdown: header (host, load), headline table, full tables, solvers, skips."""
    host, results = report["host"], report["results"]
    opts = report["options"]
    lines = [
        "# sigref bench" + (" (quick)" if report.get("quick") else "")
        + ("" if report.get("complete", True) else f" (partial: {report.get('pending')} measurements pending)"),
        "",
        f"- host: {host.get('processor')}, {host.get('cpu_count')} CPUs, "
        f"{(host.get('mem_total_bytes') or 0) / 2**30:.0f} GiB; {host.get('platform')}; python {host.get('python')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in host.get("versions", {}).items())
        + f"; NumPy BLAS: {host.get('numpy_config')}",
    ]
    for name in sorted(set(host) - {"platform", "machine", "processor", "cpu_count", "python", "mem_total_bytes",
                                    "versions", "numpy_config"}):
        lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in host[name].items()))
    lines += [
        f"- load before: {_load_text(report['load']['before'])}",
        f"- load after: {_load_text(report['load']['after'])}; whole run {report.get('elapsed_s', 0):,.0f} s",
        f"- inputs: unit rows U, V = normalise(U + noise), t = {T_INIT:g}, b = {B_INIT:g} (z = t<u,v> - b); "
        f"MSCL gamma = {opts['gamma']:g}, filter_threshold = {opts['filter_threshold']:g}; "
        f"chunk_size = {opts['chunk_size']}",
        f"- timing: median of up to {opts['repeats']} runs after {opts['warmup']} warm-up, the rows of one "
        f"(backend, dtype, N, d) called round-robin in one process (stopping after {opts['budget_s']:g} s per row; "
        f"the naive row timed alone after them); "
        f"isolation: {opts['isolate']}; memory: peak above the inputs during one forward+backward",
    ]
    passes = sorted({(r["backend"], r["elementwise"]) for r in results if r.get("elementwise")})
    if passes:
        lines.append("- sigref's elementwise pass: " + "; ".join(f"{b} `{p}`" for b, p in passes))
    for command in report.get("merged_commands") or [report.get("command")]:
        if command:
            lines.append("- command: `" + " ".join(command) + "`")
    lines.append("")

    ok = [r for r in results if r.get("status") == "ok" and r.get("kind") not in ("solver", "analysis")]
    by = {(r["impl"], r["backend"], r["dtype"], r["N"], r["d"]): r for r in ok}
    configs = sorted({(r["backend"], r["dtype"], r["N"], r["d"]) for r in ok},
                     key=lambda c: (list(BACKEND_KEYS).index(c[0]) if c[0] in BACKEND_KEYS else 99, *c[1:]))

    def get(impl: str, cfg: tuple[Any, ...], field_: str) -> Any:
        r = by.get((impl, *cfg))
        return None if r is None else r.get(field_)

    lines += [
        "## Headline",
        "",
        "Times in ms; ×floor = time / floor (U V^T, S V, S^T U), ×open_clip = time / open_clip SigLipLoss + "
        "autograd on the same device kind, ×sigref = MSCL variant / plain sigref; memory in MiB above the inputs.",
        "",
        "| backend | dtype | N | d | floor ms | sigref ms | sigref ×floor | sigref ×open_clip | naive ×floor "
        "| γ ×sigref | filter ×sigref | sigref MiB | open_clip MiB | naive MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cfg in configs:
        lines.append(
            f"| {cfg[0]} | {cfg[1]} | {cfg[2]} | {cfg[3]} | {_ms(get('floor', cfg, 'time_s'))} "
            f"| {_ms(get('sigref', cfg, 'time_s'))} | {_ratio(get('sigref', cfg, 'ratio_floor'))} "
            f"| {_ratio(get('sigref', cfg, 'ratio_open_clip'))} | {_ratio(get('naive', cfg, 'ratio_floor'))} "
            f"| {_ratio(get('sigref_gamma', cfg, 'ratio_sigref'))} | {_ratio(get('sigref_filter', cfg, 'ratio_sigref'))} "
            f"| {_mib(get('sigref', cfg, 'peak_bytes'))} | {_mib(get('open_clip', cfg, 'peak_bytes'))} "
            f"| {_mib(get('naive', cfg, 'peak_bytes'))} |"
        )
    lines.append("")

    lines += ["## All rows", "",
              "| backend | dtype | N | d | impl | ms (median) | ms (min) | runs | ×floor | ×sigref | ×open_clip "
              "| peak MiB | mem ×open_clip | loss |",
              "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.get("kind") in ("solver", "analysis") or r.get("status") != "ok":
            continue
        loss = r.get("loss")
        lines.append(
            f"| {r['backend']} | {r['dtype']} | {r['N']} | {r['d']} | {r['impl']} | {_ms(r['time_s'])} "
            f"| {_ms(r['time_min_s'])} | {r['repeats']} | {_ratio(r.get('ratio_floor'))} "
            f"| {_ratio(r.get('ratio_sigref'))} | {_ratio(r.get('ratio_open_clip'))} | {_mib(r.get('peak_bytes'))} "
            f"| {_ratio(r.get('memory_ratio_open_clip'))} | {'–' if loss is None else f'{loss:.6g}'} |"
        )
    lines.append("")

    lines += _compile_section(results)
    lines += _analysis_section(results)

    solvers = [r for r in results if r.get("kind") == "solver"]
    if solvers:
        lines += ["## Solvers (NumPy float64)", "", "| row | what | status | ms (median) | runs | peak MiB |",
                  "|---|---|---|---:|---:|---:|"]
        for r in solvers:
            what = {"ccem": f"sigref.ccem.delta_star on {opts['ccem_points']:,} random (N, t, b) points",
                    "bangachev_e1": f"Bangachev E1: four {opts['e1_steps']:,}-step runs, N=100, d=10"}.get(r["impl"], "")
            if r.get("status") == "ok":
                lines.append(f"| {r['impl']} | {what} | ok | {_ms(r['time_s'])} | {r['repeats']} "
                             f"| {_mib(r.get('peak_bytes'))} |")
            else:
                lines.append(f"| {r['impl']} | {what} | {r['status']}: {r.get('reason')} | – | – | – |")
        lines.append("")

    other = [r for r in results if r.get("status") != "ok" and r.get("kind") != "solver"]
    if other or report.get("unavailable_backends"):
        lines += ["## Not measured", ""]
        for key, reason in report.get("unavailable_backends", {}).items():
            lines.append(f"- backend {key}: {reason}")
        reasons: dict[tuple[str, str, str], list[str]] = {}
        for r in other:
            reasons.setdefault((r["impl"], r["backend"], f"{r['status']}: {r.get('reason')}"), []).append(
                f"{r['dtype']} N={r['N']} d={r['d']}")
        for (impl, backend, why), where in reasons.items():
            lines.append(f"- {impl} on {backend} ({', '.join(where)}): {why}")
        lines.append("")
    return "\n".join(lines)


def _analysis_section(results: list[dict[str, Any]]) -> list[str]:
    """The ``kind="analysis"`` rows (sigref analyze, arXiv 2509.18552): time, time per 1e9 pairs, ratios, peak, m*."""
    rows = [r for r in results if r.get("kind") == "analysis" and r.get("status") == "ok"]
    if not rows:
        return []
    lines = ["## Analysis (sigref analyze)", "",
             "×products = time / the tile products U V^T alone (analysis_products); ×dense = time / the dense N x N "
             "analysis; s/1e9 pairs = seconds per 1e9 of the N^2 similarities; memory in MiB above the inputs "
             "(analysis_mmap: including the mapped pages of the files).", "",
             "| backend | dtype | N | d | row | ms (median) | runs | s / 1e9 pairs | ×products | ×dense | peak MiB | m* |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        m = r.get("m_star")
        lines.append(f"| {r['backend']} | {r['dtype']} | {r['N']} | {r['d']} | {r['impl']} | {_ms(r['time_s'])} | {r['repeats']} "
                     f"| {r['s_per_1e9_pairs']:.3g} | {_ratio(r.get('ratio_floor'))} | {_ratio(r.get('ratio_dense'))} "
                     f"| {_mib(r.get('peak_bytes'))} | {'–' if m is None else f'{m:.6g}'} |")
    return [*lines, ""]


def _compile_section(results: list[dict[str, Any]]) -> list[str]:
    """The ahead-of-time compile time of the rows that have one (``jax.jit``), excluded from their timings, and
    XLA's account of the compiled program's temporary + output buffers (its peak above the inputs)."""
    rows = [r for r in results if r.get("status") == "ok" and r.get("compile_s") is not None]
    if not rows:
        return []
    lines = ["## Compilation (excluded from the times above)", "", "| backend | dtype | N | d | impl | compile s | XLA temp + output MiB |",
             "|---|---|---:|---:|---|---:|---:|"]
    lines += [f"| {r['backend']} | {r['dtype']} | {r['N']} | {r['d']} | {r['impl']} | {r['compile_s']:.2f} | {_mib(r.get('xla_bytes'))} |"
              for r in rows]
    return [*lines, ""]
