"""sigref's JAX plugin: backend, ``lax.scan`` block loop, ``custom_vjp`` bridge, ``shard_map`` ring loss.

Importing it registers sigref's result records :class:`~sigref.losses.LossResult` and
:class:`~sigref.ccem.CCEMOptimum` as JAX pytrees, so that ``jax.jit(sigref.losses.sigmoid_loss_and_grad)``
and ``jax.jit(sigref.ccem.delta_star)`` can return them (the chunked kernel imports the plugin on its
first JAX call, ``get_backend("jax")`` too; otherwise ``import sigref_jax`` first). The bridge
functions load on first use.
"""

import dataclasses
from typing import Any

import jax

from sigref.ccem import CCEMOptimum
from sigref.losses import LossResult

__all__ = ["mscl_loss", "relative_bias_loss", "siglip_loss", "sigmoid_loss"]

jax.tree_util.register_pytree_node(
    LossResult,
    lambda r: ((r.value, r.grad, r.diagnostics), None),
    lambda _, children: LossResult(*children),
)
jax.tree_util.register_dataclass(CCEMOptimum, data_fields=[f.name for f in dataclasses.fields(CCEMOptimum)], meta_fields=[])


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sigref_jax import bridge

        return getattr(bridge, name)
    raise AttributeError(f"module 'sigref_jax' has no attribute {name!r}")
