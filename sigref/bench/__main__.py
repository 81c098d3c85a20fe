"""``python -m sigref.bench``: with ``--worker`` alone, a worker process (work items as JSON on stdin,
one result line each on stdout; :func:`sigref.bench.worker.worker_main`), else the ``sigref bench``
command on its own (:func:`sigref.bench.cli.main`). Both run on the imported package, so plugins
register into the one registry of :mod:`sigref.bench.registry`.
"""

from __future__ import annotations

import sys

from sigref.bench.cli import main
from sigref.bench.worker import worker_main

if __name__ == "__main__":
    sys.exit(worker_main() if sys.argv[1:] == ["--worker"] else main())
