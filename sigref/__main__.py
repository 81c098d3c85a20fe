"""The ``sigref`` command (also ``python -m sigref``): tune the host, then run :mod:`sigref.cli`.

Before NumPy loads OpenBLAS, idle BLAS threads are told to sleep almost at once
(``OPENBLAS_THREAD_TIMEOUT=4``, unless set): by default they spin for about 0.1 s after every
matrix product, taking a core from the elementwise pass that follows (2x on the loss kernel on
two cores). Freed memory is kept for reuse (:mod:`sigref.hostmem`). Neither changes a result.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    from sigref.cli import main as cli_main
    from sigref.hostmem import retain_freed_memory

    retain_freed_memory()
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
