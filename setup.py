"""Build hook: the wheel carries the golden files of reference_results/golden/ (the source of truth in
the repository) as package data ``sigref/golden/data/``, so ``sigref golden check`` runs from any install."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

GOLDEN = Path(__file__).parent / "reference_results" / "golden"


class BuildPyWithGoldens(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "sigref" / "golden" / "data"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(GOLDEN.iterdir()):
            if path.suffix in (".npz", ".json"):
                shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithGoldens})
