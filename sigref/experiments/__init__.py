"""Paper reproductions, one module per paper, run by ``sigref reproduce NAME``.

Each module exposes ``reproduce(outdir: Path, *, quick: bool, backend: Backend, progress: bool)
-> Path`` that writes PNG figures, CSV files and a ``summary.md`` into ``outdir`` and returns the
summary's path.
"""

EXPERIMENTS = {
    "lee2024": "sigref.experiments.lee2024",
    "bangachev2025": "sigref.experiments.bangachev2025",
}
