"""Per-device memory of the sharded sigmoid loss, from XLA's compiled memory analysis.

``python -m sigref_jax.device_memory --devices 8 --n 1024 4096 16384 --d 64 --out DIR`` compiles the
value and gradients of :func:`sigref_jax.distributed.sharded_sigmoid_loss` (``mode="ring"`` and
``"all_gather"``) on ``W`` host devices and the dense single-device loss (full N x N logits,
``jax.value_and_grad``), and records XLA's temporary buffer size per device
(``compiled.memory_analysis().temp_size_in_bytes``: what the program allocates beyond its arguments
and outputs). Expected, with n = N / W rows per device and no ``chunk_size``: the ring holds one
remote text block and the n x n logits of one block pair, O(n^2 + n d); the all-gather all N text
rows and the n x N logits of its rows, O(n N); the dense loss O(N^2). The host devices are XLA's
``--xla_force_host_platform_device_count``, read when JAX creates its CPU client, so run it as its own
process.
Writes ``device_memory.json`` and ``device_memory.md`` with a ``manifest.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _chunk(text: str) -> int | None:
    if text == "none":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--chunk-size: expected 'none' or an integer >= 1, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sigref_jax.device_memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=8, help="host devices W (default 8)")
    p.add_argument("--n", type=int, nargs="+", default=[1024, 4096, 16384], help="global batch sizes N (multiples of W)")
    p.add_argument("--d", type=int, default=64, help="embedding dimension (default 64)")
    p.add_argument("--chunk-size", type=_chunk, nargs="+", default=[None],
                   help="rows per block inside each device, one or more; 'none': the whole block (default)")
    p.add_argument("--out", default=None, help="directory for device_memory.{json,md} and manifest.json (default: print only)")
    return p


def measure(devices: int, sizes: list[int], d: int, chunk_size: int | None = None) -> list[dict[str, Any]]:
    """One row per (N, loss): XLA's temporary bytes per device of value + gradients, compiled for float32 inputs.

    Parameters
    ----------
    devices : int
        The mesh size W (at most the number of JAX devices).
    sizes : list of int
        Global batch sizes N, each a multiple of ``devices``.
    d : int
        Embedding dimension.
    chunk_size : int or None
        Rows per block inside each device.

    Returns
    -------
    list of dict
        Keys ``N``, ``d``, ``W``, ``loss`` (``ring``, ``all_gather``, ``dense``), ``chunk_size``, ``temp_bytes``,
        ``per_device_rows``.
    """
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np

    from sigref_jax.distributed import sharded_sigmoid_loss

    if len(jax.devices()) < devices:
        raise ValueError(f"devices: {devices} asked for, JAX has {len(jax.devices())} (run as its own process, XLA_FLAGS set first)")
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:devices]), ("batch",))

    def dense(U: Any, V: Any, t: Any, b: Any) -> Any:
        z = t * U @ V.T - b
        y = 2.0 * jnp.eye(U.shape[0], dtype=U.dtype) - 1.0
        return -jnp.sum(jax.nn.log_sigmoid(y * z)) / U.shape[0]

    rows = []
    for n in sizes:
        if n % devices:
            raise ValueError(f"n: every N must be a multiple of devices = {devices}, got {n}")
        spec = jax.ShapeDtypeStruct((n, d), jnp.float32)
        scalar = jax.ShapeDtypeStruct((), jnp.float32)
        losses = {mode: functools.partial(sharded_sigmoid_loss, mesh=mesh, mode=mode, chunk_size=chunk_size) for mode in ("ring", "all_gather")}
        losses["dense"] = dense
        for name, fn in losses.items():
            compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1, 2, 3))).lower(spec, spec, scalar, scalar).compile()
            world = 1 if name == "dense" else devices
            rows.append({"N": n, "d": d, "W": world, "loss": name, "chunk_size": None if name == "dense" else chunk_size,
                         "per_device_rows": n // world,
                         "temp_bytes": int(compiled.memory_analysis().temp_size_in_bytes)})
    return rows


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    """The rows as a Markdown table (MiB per device, and the ratio to the dense loss)."""
    dense = {r["N"]: r["temp_bytes"] for r in rows if r["loss"] == "dense"}
    lines = ["# Per-device memory of the sharded sigmoid loss (XLA temp buffers, value + gradients, float32)", "",
             f"- command: `{command}`", "",
             "| N | d | loss | chunk_size | devices | rows per device | temp MiB per device | × dense |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = r["temp_bytes"] / dense[r["N"]] if dense.get(r["N"]) else float("nan")
        chunk = "–" if r["chunk_size"] is None else r["chunk_size"]
        lines.append(f"| {r['N']} | {r['d']} | {r['loss']} | {chunk} | {r['W']} | {r['per_device_rows']} "
                     f"| {r['temp_bytes'] / 2**20:.2f} | {ratio:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    args = _parser().parse_args(argv)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={args.devices}").strip()
    rows = []
    for chunk_size in args.chunk_size:
        rows += [r for r in measure(args.devices, args.n, args.d, chunk_size) if not (r["loss"] == "dense" and rows)]
    from sigref.provenance import describe_command

    command = describe_command(["-m", "sigref_jax.device_memory", *(argv if argv is not None else sys.argv[1:])], program="python")
    text = markdown(rows, command)
    print(text)
    if args.out:
        import json
        from pathlib import Path

        from sigref.provenance import write_manifest

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "device_memory.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
        (out / "device_memory.md").write_text(text)
        write_manifest(out, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
