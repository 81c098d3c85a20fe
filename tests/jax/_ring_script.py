"""Run in a subprocess by test_distributed.py: XLA_FLAGS must be set before JAX starts."""

import functools
import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"

import jax
import jax.numpy as jnp
import numpy as np

import sigref_jax.backend  # noqa: F401  (jax_enable_x64)
from sigref_jax.distributed import sharded_sigmoid_loss
from tests.jax.helpers import dense_loss, unit_rows

world = int(sys.argv[1])
mesh = jax.sharding.Mesh(np.array(jax.devices()[:world]), ("batch",))
rng = np.random.default_rng(world)
U, V = (jnp.asarray(unit_rows(rng, 3 * world, 5)) for _ in range(2))
t, b = jnp.asarray(3.0), jnp.asarray(1.5)
cases = [
    ("ring", {}), ("all_gather", {}),
    ("ring", {"gamma": 1.0}), ("all_gather", {"gamma": 2.0, "reduction": "sum"}),
    ("ring", {"gamma": 1.0, "filter_threshold": 0.05, "reduction": "mean"}), ("all_gather", {"gamma": 1.0, "filter_threshold": 0.05}),
    ("ring", {"chunk_size": 2}), ("all_gather", {"chunk_size": 2}),
]
errors = []
for mode, options in cases:
    dense_options = {k: v for k, v in options.items() if k != "chunk_size"}
    ours = jax.jit(jax.value_and_grad(functools.partial(sharded_sigmoid_loss, mesh=mesh, mode=mode, **options), argnums=(0, 1, 2, 3)))
    truth = jax.value_and_grad(functools.partial(dense_loss, **dense_options), argnums=(0, 1, 2, 3))
    (v, g), (v_ref, g_ref) = ours(U, V, t, b), truth(U, V, t, b)
    worst = max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))) / max(1.0, float(np.max(np.abs(np.asarray(y))))))
                for x, y in zip((v, *g), (v_ref, *g_ref)))
    errors.append({"mode": mode, "options": options, "relative_error": worst})
print(json.dumps({"devices": len(jax.devices()), "errors": errors}))
