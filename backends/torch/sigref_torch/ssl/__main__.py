"""``python -m sigref_torch.ssl train|probe ...`` (e.g. ``torchrun --nproc-per-node 2 -m sigref_torch.ssl train``)."""

from sigref_torch.ssl.cli import main

raise SystemExit(main())
