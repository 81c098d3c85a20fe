"""The JAX plugin of sigref: backend, ``lax.scan`` block loop, ``custom_vjp`` bridge, ``shard_map`` ring loss.

The distribution ``sigref-jax`` consists of:

- :mod:`sigref_jax.backend`: the ``jax`` backend of the registry (entry-point group
  ``sigref.backends``); importing it turns on ``jax_enable_x64``;
- :mod:`sigref_jax.loops`: the block fold of sigref's chunked kernel, ``lax.scan`` under tracing
  (group ``sigref.loops``);
- :mod:`sigref_jax.bridge`: sigref's losses as ``jax.custom_vjp`` functions whose backward is
  sigref's analytic gradient (:func:`~sigref_jax.bridge.sigmoid_loss`,
  :func:`~sigref_jax.bridge.relative_bias_loss`, :func:`~sigref_jax.bridge.siglip_loss`,
  :func:`~sigref_jax.bridge.mscl_loss`), re-exported here and loaded on first use;
- :mod:`sigref_jax.distributed`: the loss of a batch sharded over devices with ``jax.shard_map``;
- :mod:`sigref_jax.bench`: the JAX rows of ``sigref bench``.

Importing the package registers sigref's result records :class:`~sigref.losses.LossResult` and
:class:`~sigref.ccem.CCEMOptimum` as JAX pytrees, so that ``jax.jit(sigref.losses.sigmoid_loss_and_grad)``
and ``jax.jit(sigref.ccem.delta_star)`` can return them (the chunked kernel imports the plugin on its
first JAX call, ``get_backend("jax")`` too; otherwise ``import sigref_jax`` first).

Examples
--------
>>> import jax
>>> import sigref_jax
>>> from sigref.losses import LossResult
>>> jax.tree_util.tree_leaves(LossResult(value=1.0, grad={"t": 2.0, "b": 3.0}, diagnostics=None))
[1.0, 3.0, 2.0]
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
