"""The torch plugin: autograd bridge, module, open_clip parity, memory of the saved graph."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sigref_torch = pytest.importorskip("sigref_torch")
F = torch.nn.functional


def _unit(seed: int, shape: tuple[int, ...], dtype=torch.float64, grad: bool = True):
    g = torch.Generator().manual_seed(seed)
    x = F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)
    return x.requires_grad_(grad)


def _reference(U, V, t, b, gamma=0.0):
    z = t[..., None, None] * U @ V.transpose(-1, -2) - b[..., None, None]
    y = 2 * torch.eye(z.shape[-1], dtype=z.dtype) - 1
    w = torch.exp(gamma * F.logsigmoid(-y * z))
    return -(w * F.logsigmoid(y * z)).sum((-2, -1)) / z.shape[-1]


@pytest.mark.parametrize("chunk", [None, 3])
@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_bridge_matches_autograd_with_non_uniform_upstream_gradient(chunk, gamma):
    U, V = _unit(0, (3, 8, 4)), _unit(1, (8, 4))  # V broadcast over the batch of 3
    t = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)  # scalar t shared by the batch
    b = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    weights = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    (sigref_torch.sigmoid_loss(U, V, t, b, gamma=gamma, chunk_size=chunk) * weights).sum().backward()
    got = [x.grad.clone() for x in (U, V, t, b)]
    for x in (U, V, t, b):
        x.grad = None
    (_reference(U, V, t.expand(3), b, gamma) * weights).sum().backward()
    for g, x in zip(got, (U, V, t, b)):
        torch.testing.assert_close(g, x.grad, rtol=1e-10, atol=1e-13)


def test_bridge_gradcheck_relative_bias_and_kl():
    U, V = _unit(2, (5, 3)), _unit(3, (5, 3))
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    b_rel = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: sigref_torch.relative_bias_loss(*a, reduction="sum"), (U, V, t, b_rel))
    assert torch.autograd.gradcheck(sigref_torch.relic_kl, (U, V, t))
    assert torch.autograd.gradcheck(lambda u, v, tt: sigref_torch.mscl_loss(u, v, tt, 1.0, gamma=1.0, alpha=0.5), (U, V, t))


def test_open_clip_siglip_parity():
    """open_clip's SigLipLoss (its own code, torch autograd) vs sigref, value and gradients."""
    open_clip_loss = pytest.importorskip("open_clip.loss")
    img, txt = _unit(4, (16, 8)), _unit(5, (16, 8))
    scale = torch.tensor(9.0, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(-7.5, dtype=torch.float64, requires_grad=True)
    ref = open_clip_loss.SigLipLoss()(img, txt, scale, bias)
    ref.backward()
    want = [x.grad.clone() for x in (img, txt, scale, bias)]
    for x in (img, txt, scale, bias):
        x.grad = None
    for chunk in (None, 5):
        got = sigref_torch.siglip_loss(img, txt, scale, bias, chunk_size=chunk)
        got.backward()
        torch.testing.assert_close(got, ref, rtol=1e-6, atol=0)
        for w, x in zip(want, (img, txt, scale, bias)):
            torch.testing.assert_close(x.grad, w, rtol=1e-6, atol=1e-12)
            x.grad = None


def test_module_learns_log_t_and_bias_with_siglip_init():
    loss = sigref_torch.SigmoidLoss(normalize=True, chunk_size=4)
    assert float(loss.t.detach()) == pytest.approx(10.0) and float(loss.bias.detach()) == 10.0
    g = torch.Generator().manual_seed(13)
    x = torch.randn(10, 6, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(10, 6, generator=g, dtype=torch.float64)
    value = loss(x, y)
    value.backward()
    assert loss.log_t.grad is not None and loss.bias.grad is not None and x.grad is not None
    # d/d(log t) = t dL/dt: compare with the bridge evaluated at a perturbed log t
    h = 1e-3
    with torch.no_grad():
        up = sigref_torch.sigmoid_loss(F.normalize(x, dim=-1), F.normalize(y, dim=-1), math.exp(math.log(10) + h), 10.0)
        dn = sigref_torch.sigmoid_loss(F.normalize(x, dim=-1), F.normalize(y, dim=-1), math.exp(math.log(10) - h), 10.0)
    assert float(loss.log_t.grad) == pytest.approx(float((up - dn) / (2 * h)), rel=1e-4)  # float32 log t


def test_batch_aware_bias_and_temperature_cap():
    loss = sigref_torch.SigmoidLoss.batch_aware(256, t_init=10.0)
    assert float(loss.bias.detach()) == pytest.approx(math.log(255), rel=1e-6)
    capped = sigref_torch.SigmoidLoss(t_init=20.0, t_max=5.0)
    assert float(capped.t.detach()) == 5.0
    capped(_unit(6, (4, 3), torch.float32, False), _unit(7, (4, 3), torch.float32, False)).backward()
    assert float(capped.log_t.grad) == 0.0  # the clamp's dead gradient, as in the MSCL reference
    with pytest.raises(ValueError, match="t_init must be > 0"):
        sigref_torch.SigmoidLoss(t_init=0.0)


def test_half_precision_is_evaluated_in_float32():
    U = _unit(8, (6, 4), torch.float32, False).to(torch.bfloat16).requires_grad_()
    value = sigref_torch.sigmoid_loss(U, U.detach(), 10.0, 10.0)
    assert value.dtype == torch.float32
    value.backward()
    assert U.grad.dtype == torch.bfloat16 and torch.isfinite(U.grad.float()).all()


def test_chunked_graph_saves_only_order_n_d_memory():
    """Autograd keeps the analytic gradients (N x d), never an N x N block."""
    n, d = 512, 16
    U, V = _unit(9, (n, d), torch.float32), _unit(10, (n, d), torch.float32)
    t = torch.tensor(10.0, requires_grad=True)
    b = torch.tensor(10.0, requires_grad=True)
    saved = []

    def pack(x):
        saved.append(x.numel())
        return x

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        value = sigref_torch.sigmoid_loss(U, V, t, b, chunk_size=64)
    assert max(saved) <= n * d and sum(saved) <= 2 * n * d + 2
    value.backward()
    assert U.grad.shape == (n, d)


def test_no_gradients_computed_when_none_needed():
    U = _unit(11, (5, 3), grad=False)
    with torch.no_grad():
        value = sigref_torch.sigmoid_loss(U, U, 2.0, 1.0)
    assert value.grad_fn is None
    t, b = torch.tensor(2.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    np.testing.assert_allclose(value.numpy(), _reference(U, U, t, b).numpy(), rtol=1e-14)


def test_cuda_tensors_when_available():
    if not torch.cuda.is_available():
        pytest.skip("torch-cuda unavailable: no CUDA device")
    U = _unit(12, (64, 8)).cuda()
    t = torch.tensor(10.0, dtype=torch.float64, device="cuda", requires_grad=True)
    value = sigref_torch.sigmoid_loss(U, U.detach(), t, 10.0, chunk_size=16)
    value.backward()
    assert value.device.type == "cuda" and t.grad.device.type == "cuda"


def test_torch_blocks_find_the_fused_pass_through_the_entry_point():
    """A process that imports only torch and sigref gets the plugin's pass (entry point ``sigref.fused``)."""
    import subprocess
    import sys

    code = ("import torch; from sigref import fused; "
            "fn = fused.pass_for(torch.zeros(1)); print(fn.__module__ + '.' + fn.__qualname__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "sigref_torch.fused.pair_terms"


PAIR_OPTS = [dict(gamma=0.0), dict(gamma=1.0), dict(gamma=0.4), dict(gamma=2.5, detach_weight=True),
             dict(gamma=1.0, detach_weight=True), dict(gamma=1.0, threshold=0.05), dict(gamma=2.0, threshold=0.3),
             dict(gamma=0.0, threshold=0.3)]


def _pair_options(opts):
    from sigref.fused import PairOptions

    return PairOptions.mscl(opts["gamma"], filter_threshold=opts.get("threshold"), detach_weight=opts.get("detach_weight", False))


@pytest.mark.parametrize("path", ["eager", "compiled"])
@pytest.mark.parametrize("want_grad", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("opts", PAIR_OPTS)
def test_fused_pass_matches_the_array_api_reference(path, want_grad, dtype, opts):
    """Both torch fast paths (sigref_torch.fused: eager ops, torch.compile) against sigref's array-API
    elementwise pass, on the extremes and on a block of typical logits."""

    import array_api_compat

    from sigref.fused import reference_pass
    from sigref_torch import fused

    opt = _pair_options(opts)
    extremes = torch.tensor([-1e9, -1e3, -80.0, -30.0, -5.0, -0.3, 0.0, 0.2, 4.0, 19.0, 25.0, 60.0, 1e3, 1e9], dtype=dtype)
    typical = torch.randn(64, 48, generator=torch.Generator().manual_seed(1), dtype=dtype) * 4.0 - 5.0
    terms = fused._eager if path == "eager" else fused._compiled_terms
    for q in (extremes, typical):
        xp = array_api_compat.array_namespace(q)
        f, fp, keep = terms(q, opt, want_grad)
        f_ref, fp_ref, keep_ref = reference_pass(xp, q, opt, want_grad)
        # sigma^gamma = exp(gamma log sigma) has condition number gamma |log sigma(q)|, below 30 gamma where the
        # result does not underflow (f32 at q = -80 and beyond falls under atol)
        eps = torch.finfo(dtype).eps
        rtol = 8 * eps * (1.0 + opts["gamma"] * 30.0) if opts["gamma"] not in (0.0, 1.0) else 8 * eps
        assert f.shape == q.shape and f.dtype == dtype
        torch.testing.assert_close(f, f_ref, rtol=rtol, atol=1e-30)
        assert (fp is None) == (not want_grad)
        if want_grad:
            torch.testing.assert_close(fp, fp_ref, rtol=rtol, atol=1e-30)
        assert (keep is None) == (keep_ref is None) and (keep is None or torch.equal(keep, keep_ref))


@pytest.mark.parametrize("opts", [dict(gamma=0.0), dict(gamma=1.0), dict(gamma=0.5), dict(gamma=1.0, threshold=0.05)])
def test_large_cpu_blocks_take_the_compiled_pass_and_equal_the_reference_loss(opts, monkeypatch):
    """A dense 2 x 300 x 300 block (more than COMPILE_MIN_PAIRS pairs) through the whole kernel: it takes the
    compiled pass, and values and every gradient equal NumPy's reference on the same inputs, in float64."""
    from sigref.losses import sigmoid_loss_and_grad
    from sigref_torch import fused

    monkeypatch.setenv("SIGREF_TORCH_COMPILE", "1")
    compiled_sizes = []
    original = fused._compiled_terms

    def recording(q, opt, want_grad):
        compiled_sizes.append(q.numel())
        return original(q, opt, want_grad)

    monkeypatch.setattr(fused, "_compiled_terms", recording)
    U, V = _unit(3, (2, 300, 16), grad=False), _unit(4, (300, 16), grad=False)
    t, b = torch.tensor([4.0, 9.0], dtype=torch.float64), torch.tensor([-1.0, 6.0], dtype=torch.float64)
    kwargs = dict(gamma=opts["gamma"], filter_threshold=opts.get("threshold"), reduction="per_anchor")
    got = sigmoid_loss_and_grad(U, V, t, b, **kwargs)
    want = sigmoid_loss_and_grad(*(x.numpy() for x in (U, V, t, b)), **kwargs)
    assert compiled_sizes == [2 * 300 * 300]  # the block; its 2 x 300 positive pairs stay eager
    np.testing.assert_allclose(got.value.numpy(), want.value, rtol=1e-12)
    for name in ("U", "V", "t", "b"):
        np.testing.assert_allclose(got.grad[name].numpy(), want.grad[name], rtol=1e-11, atol=1e-15)


def test_compiled_pass_does_not_recompile_along_a_gamma_schedule():
    from torch._dynamo.utils import counters

    from sigref_torch import fused

    q = torch.randn(2**16, generator=torch.Generator().manual_seed(2)) * 3.0 - 5.0
    fused._compiled_terms(q, _pair_options(dict(gamma=0.9)), True)
    graphs = counters["stats"]["unique_graphs"]
    for gamma in (0.8, 0.55, 0.1):
        fused._compiled_terms(q, _pair_options(dict(gamma=gamma)), True)
    assert counters["stats"]["unique_graphs"] == graphs


def test_autograd_tensors_small_blocks_and_sigref_torch_compile_0_stay_eager(monkeypatch):
    """Tensors with autograd history keep their graph (the compiled pass runs without one); so do small
    blocks, and SIGREF_TORCH_COMPILE=0 turns the compiled pass off."""
    import array_api_compat

    from sigref_torch import fused

    def fail(*args):
        raise AssertionError("the compiled pass was used")

    monkeypatch.setattr(fused, "_compiled_terms", fail)
    opt = _pair_options(dict(gamma=1.0))
    big = torch.zeros(fused.COMPILE_MIN_PAIRS)
    xp = array_api_compat.array_namespace(big)
    f, _, _ = fused.pair_terms(xp, big.clone().requires_grad_(True), opt, True)
    assert f.grad_fn is not None
    fused.pair_terms(xp, big[:-1], opt, True)
    monkeypatch.setenv("SIGREF_TORCH_COMPILE", "0")
    fused.pair_terms(xp, big, opt, True)
    monkeypatch.setenv("SIGREF_TORCH_COMPILE", "1")
    with pytest.raises(AssertionError, match="compiled pass was used"):
        fused.pair_terms(xp, big, opt, True)


def test_a_failing_compile_is_a_clear_error(monkeypatch):
    from sigref_torch import fused

    def broken(fn, **kwargs):
        def run(*args):
            raise OSError("no C++ compiler")
        return run

    monkeypatch.setattr(fused, "_COMPILED", {})
    monkeypatch.setattr(fused.torch, "compile", broken)
    expected = r"torch.compile of sigref's elementwise pass failed \(OSError: no C\+\+ compiler\).*SIGREF_TORCH_COMPILE=0"
    with pytest.raises(RuntimeError, match=expected):
        fused._compiled_terms(torch.zeros(8), _pair_options(dict(gamma=0.0)), True)


def test_past_the_recompile_limit_the_pass_runs_eagerly_with_a_warning(monkeypatch):
    """A process that compiled the pass for more input kinds than torch allows gets the eager pass (same values), not an error."""
    import array_api_compat
    import torch._dynamo

    from sigref.fused import PairOptions, reference_pass
    from sigref_torch import fused

    monkeypatch.setattr(torch._dynamo.config, "recompile_limit", 1)
    torch._dynamo.reset()
    opt = PairOptions(gamma=0.7)
    with pytest.warns(RuntimeWarning, match="recompile limit"):
        for dtype in (torch.float32, torch.float64):
            q = torch.randn(70000, dtype=dtype, generator=torch.Generator().manual_seed(3)) * 5.0
            f, fp, _ = fused._compiled_terms(q, opt, True)
            f_ref, fp_ref, _ = reference_pass(array_api_compat.array_namespace(q), q, opt, True)
            torch.testing.assert_close(f, f_ref)
            torch.testing.assert_close(fp, fp_ref)
    torch._dynamo.reset()
