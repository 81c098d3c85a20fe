"""Self-supervised ResNet training with sigmoid contrastive losses (the MSCL poster's path).

Modules: :mod:`.data` (local data sets), :mod:`.augment` (batched multi-crop on the device),
:mod:`.model` (ResNet + projector + EMA target + t, b), :mod:`.objective` (multi-view pairing
through sigref's losses), :mod:`.train` (the trainer), :mod:`.probe` (linear probes),
:mod:`.cli` (``sigref ssl train|probe``).
"""
