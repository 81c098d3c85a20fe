"""The shard_map ring / all-gather loss on 4 and 8 host CPU devices, against jax.grad of the dense
loss of the concatenated batch (float64, 1e-10). A subprocess per device count: XLA reads
--xla_force_host_platform_device_count when it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("world", [4, 8])
def test_sharded_loss_and_gradients_equal_the_single_device_loss(world):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "tests.jax._ring_script", str(world)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["devices"] == 8
    assert len(report["errors"]) == 8
    bad = [e for e in report["errors"] if not e["relative_error"] <= 1e-10]
    assert not bad, bad


def test_local_loss_rejects_bad_options():
    import jax
    import jax.numpy as jnp
    import numpy as np

    from sigref_jax.distributed import local_sigmoid_loss, sharded_sigmoid_loss

    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("batch",))
    U = jnp.ones((4, 2)) / np.sqrt(2.0)
    with pytest.raises(ValueError, match="mode"):
        local_sigmoid_loss(U, U, 1.0, 0.0, axis_name="batch", mode="tree")
    with pytest.raises(ValueError, match="paired"):
        sharded_sigmoid_loss(U, U[:3], 1.0, 0.0, mesh=mesh)
    one = sharded_sigmoid_loss(U, U, 2.0, 1.0, mesh=mesh)  # one device: the plain loss
    from tests.jax.helpers import dense_loss

    np.testing.assert_allclose(float(one), float(dense_loss(U, U, 2.0, 1.0)), rtol=1e-12)
