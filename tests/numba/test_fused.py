"""The Numba elementwise pass (sigref_numba) against sigref's array-API reference.

NumPy blocks reach the compiled pass through the ``sigref.fused`` entry point; the reference is
the same kernel with the pass unregistered, so values and every gradient are compared end to end.
"""

from __future__ import annotations

import os
import subprocess
import sys

import array_api_compat
import numpy as np
import pytest

from sigref import fused as contract
from sigref import losses

fused = pytest.importorskip("sigref_numba.fused", reason="sigref-numba (pip install -e backends/numba) is not installed")

EXTREMES = [-1e9, -1e3, -80.0, -30.0, -5.0, -0.3, -1e-30, 0.0, 1e-30, 0.2, 4.0, 19.0, 25.0, 60.0, 1e3, 1e9]
OPTIONS = [dict(gamma=0.0), dict(gamma=1.0), dict(gamma=0.4), dict(gamma=2.5, detach_weight=True),
           dict(gamma=1.0, threshold=0.05), dict(gamma=2.0, threshold=0.3), dict(gamma=0.0, threshold=0.3)]


def _opt(gamma=0.0, detach_weight=False, threshold=None):
    return contract.PairOptions.mscl(gamma, filter_threshold=threshold, detach_weight=detach_weight)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("want_grad", [True, False])
def test_pass_matches_the_reference_on_extreme_logits(dtype, opts, want_grad):
    q = np.array(EXTREMES, dtype=dtype)
    opt = _opt(**opts)
    xp = array_api_compat.array_namespace(q)
    f, fp, keep = fused.pair_terms(xp, q, opt, want_grad)
    f_ref, fp_ref, keep_ref = contract.reference_pass(xp, q, opt, want_grad)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    assert f.dtype == dtype and np.all(np.isfinite(f))
    np.testing.assert_allclose(f, f_ref, rtol=rtol, atol=1e-30)
    assert (fp is None) == (not want_grad)
    if want_grad:
        assert fp.dtype == dtype
        np.testing.assert_allclose(fp, fp_ref, rtol=rtol, atol=1e-30)
    assert (keep is None) == (keep_ref is None) and (keep is None or np.array_equal(keep, keep_ref))


# (dtype, the truth's dtype, logit range): float64 against x87 extended precision (64-bit significand)
ULP_CASES = [(np.float32, np.float64, 110.0), (np.float64, np.longdouble, 800.0)]


@pytest.mark.parametrize(("dtype", "truth", "span"), ULP_CASES, ids=["float32", "float64"])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 0.5, 2.5])
def test_pass_is_within_a_few_ulps_of_the_truth(dtype, truth, span, gamma):
    """The kernels' own exp/log (written out so that LLVM vectorises them) against libm in a wider
    dtype on the same inputs: within 5 ulp plus the conditioning of sigma^gamma = exp(gamma log sigma),
    gamma |log sigma| ulp, which libm shares. Measured: softplus / sigma 2.1 / 1.5 ulp (float32),
    1.8 / 1.5 ulp (float64); at gamma = 2.5 and q = -106, 129 ulp in float64 (bound 270)."""
    if np.finfo(truth).eps > np.finfo(dtype).eps / 2**10:
        pytest.skip(f"{np.dtype(truth).name} on this platform is not wider than {np.dtype(dtype).name}")
    x = np.concatenate([np.linspace(-span, span, 200_001), -np.logspace(-30, 9, 300), np.logspace(-30, 9, 300)]).astype(dtype)
    f, fp, _ = fused.pair_terms(np, x, _opt(gamma), True)
    x = x.astype(truth)
    e = np.exp(-np.abs(x))
    softplus, sigma, sigma_neg = np.maximum(x, 0) + np.log1p(e), np.where(x > 0, 1, e) / (1 + e), np.where(x > 0, e, 1) / (1 + e)
    w = sigma**gamma
    allowed = 5.0 + gamma * np.abs(np.minimum(x, 0) - np.log1p(e)).astype(np.float64)  # gamma |log sigma|
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).smallest_subnormal
    for got, want in ((f, w * softplus), (fp, w * (gamma * sigma_neg * softplus + sigma))):
        assert got.dtype == dtype
        ulps = (np.abs(got - want) / np.maximum(eps * np.abs(want), tiny)).astype(np.float64)
        assert np.all(ulps <= allowed), f"{ulps.max():.3g} ulp at q = {x[np.argmax(ulps - allowed)]}"


@pytest.mark.parametrize("opts", OPTIONS)
def test_multi_threaded_pass_matches_the_reference(opts):
    q = np.random.default_rng(5).normal(-6.0, 8.0, fused.PARALLEL_MIN_PAIRS + 3)
    opt = _opt(**opts)
    f, fp, keep = fused.pair_terms(np, q, opt, True)
    f_ref, fp_ref, keep_ref = contract.reference_pass(array_api_compat.array_namespace(q), q, opt, True)
    np.testing.assert_allclose(f, f_ref, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(fp, fp_ref, rtol=1e-14, atol=1e-300)
    assert (keep is None) == (keep_ref is None) and (keep is None or np.array_equal(keep, keep_ref))


def test_concurrent_calls_from_threads_agree_with_the_reference():
    """One parallel loop at a time (numba's work queue); the other threads take the single-threaded kernel."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(9)
    blocks = [rng.normal(-5.0, 6.0, fused.PARALLEL_MIN_PAIRS * 2) for _ in range(6)]
    opt = _opt(gamma=1.0)
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda q: fused.pair_terms(np, q, opt, True), blocks))
    for q, (f, fp, _) in zip(blocks, got):
        f_ref, fp_ref, _ = contract.reference_pass(array_api_compat.array_namespace(q), q, opt, True)
        np.testing.assert_allclose(f, f_ref, rtol=1e-14)
        np.testing.assert_allclose(fp, fp_ref, rtol=1e-14)


def test_pass_keeps_shape_and_reads_strided_blocks():
    q = np.random.default_rng(3).normal(0.0, 6.0, (3, 8, 10))[:, ::2, 1:]  # non-contiguous view
    opt = _opt(gamma=1.0)
    f, fp, _ = fused.pair_terms(np, q, opt, True)
    f_ref, fp_ref, _ = contract.reference_pass(array_api_compat.array_namespace(q), q, opt, True)
    assert f.shape == q.shape and fp.shape == q.shape
    np.testing.assert_allclose(f, f_ref, rtol=1e-14)
    np.testing.assert_allclose(fp, fp_ref, rtol=1e-14)


def test_pass_rejects_integer_logits():
    with pytest.raises(TypeError, match="q: expected a float32 or float64 array, got dtype int64"):
        fused.pair_terms(np, np.arange(4), _opt(), True)


def test_numpy_blocks_use_the_compiled_pass():
    assert contract.pass_for(np.zeros(1)) is fused.pair_terms


def _loss_inputs(rng, batch, n, d):
    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    U = unit(rng.standard_normal((*batch, n, d)))
    V = unit(U + 0.6 * rng.standard_normal((*batch, n, d)))
    return U, V


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", losses.REDUCTIONS)
@pytest.mark.parametrize("variant", [dict(), dict(gamma=1.0), dict(gamma=2.0), dict(gamma=0.5, detach_weight=True),
                                     dict(gamma=1.0, filter_threshold=0.05), dict(negatives_only=True)])
@pytest.mark.parametrize("chunk_size", [None, 3, "auto"])
def test_loss_and_gradients_equal_the_reference(monkeypatch, dtype, reduction, variant, chunk_size):
    rng = np.random.default_rng(11)
    U, V = (x.astype(dtype) for x in _loss_inputs(rng, (2,), 7, 5))
    t = np.array([4.0, 10.0], dtype=dtype)
    b = np.array([2.0, 10.0], dtype=dtype)
    kwargs = dict(reduction=reduction, chunk_size=chunk_size, diagnostics=True, **variant)
    got = losses.sigmoid_loss_and_grad(U, V, t, b, **kwargs)
    monkeypatch.delitem(contract.REGISTRY, "numpy")
    assert contract.pass_for(U) is contract.reference_pass
    want = losses.sigmoid_loss_and_grad(U, V, t, b, **kwargs)
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.value, want.value, rtol=rtol)
    assert got.grad.keys() == want.grad.keys()
    for key in got.grad:
        scale = np.max(np.abs(want.grad[key]))
        np.testing.assert_allclose(got.grad[key], want.grad[key], rtol=rtol, atol=rtol * scale, err_msg=key)
    for key in want.diagnostics:
        np.testing.assert_allclose(got.diagnostics[key], want.diagnostics[key], rtol=rtol, err_msg=key)


def test_sigref_fused_0_keeps_numpy_on_the_reference():
    code = ("import numpy as np; from sigref import fused; "
            "print(fused.pass_for(np.zeros(1)) is fused.reference_pass, 'numpy' in fused.REGISTRY)")
    env = {**os.environ, "SIGREF_FUSED": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_a_broken_fused_plugin_is_a_clear_error(monkeypatch):
    class Broken:
        value = "broken_plugin.fused"

        def load(self):
            raise ImportError("no module named broken_plugin")

    monkeypatch.setattr(contract.importlib.metadata, "entry_points", lambda **kw: [Broken()] if kw.get("name") == "fakelib" else [])
    with pytest.raises(RuntimeError, match=r"fused fakelib pass of plugin 'broken_plugin.fused' failed to load.*SIGREF_FUSED=0"):
        contract.load("fakelib")
