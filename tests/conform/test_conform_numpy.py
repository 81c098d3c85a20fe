"""The conformance machinery on NumPy (no autograd: values only): conventions, reports, errors.

Truths: finite differences of each convention's loss (for the chain rule that maps the goldens'
gradients into a convention), and the goldens themselves (for the values of sigref's NumPy loss).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sigref import golden, losses
from sigref.cli import main
from sigref.conform import CONVENTIONS, Convention, assert_conforms, conform, declare
from sigref.golden import store
from sigref.golden.cases.conform import OUTPUTS

FAST = ["conform_n2", "conform_init", "conform_extreme", "conform_batch_axes"]


def _loss_in(convention: Convention, gamma: float):
    """The loss a conforming implementation of ``convention`` computes, from the convention's definition."""
    def loss(u, v, scale, bias):
        t = np.exp(scale) if convention.log_scale else scale
        b = convention.bias_sign * bias  # bias = bias_sign * b
        return losses.sigmoid_loss(u, v, t, b, reduction=convention.reduction, gamma=gamma)

    return loss


@pytest.mark.parametrize("reduction", ["per_anchor", "sum", "mean"])
@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_expected_gradients_are_the_finite_differences_of_the_convention(name, reduction):
    convention = CONVENTIONS[name].with_reduction(reduction)
    inputs, outputs = store.verified_load(golden.default_dir(), "conform_init", store.read_manifest(golden.default_dir()))
    k, gamma = 3, convention.gammas[-1]  # t = 10, b = log 23
    args = convention.arguments_for(inputs["U"][k], inputs["V"][k], inputs["t"][k], inputs["b"][k])
    want = convention.expected({o: outputs[f"gamma{gamma:g}_{o}"][k] for o in OUTPUTS}, n=24)
    loss = _loss_in(convention, gamma)
    assert float(loss(*args)) == pytest.approx(float(want["value"]), rel=1e-12)
    h = 1e-6
    for i, label in enumerate(convention.arguments):
        if i < 2:
            entries = [(3, 1), (17, 5)]
            for entry in entries:
                plus, minus = [a.copy() for a in args], [a.copy() for a in args]
                plus[i][entry] += h
                minus[i][entry] -= h
                fd = (float(loss(*plus)) - float(loss(*minus))) / (2 * h)
                assert fd == pytest.approx(want[label][entry], rel=1e-6, abs=1e-9), (label, entry)
        else:
            plus, minus = list(args), list(args)
            plus[i], minus[i] = args[i] + h, args[i] - h
            fd = (float(loss(*plus)) - float(loss(*minus))) / (2 * h)
            assert fd == pytest.approx(float(want[label]), rel=1e-6), label


def test_sigref_numpy_loss_conforms_on_values():
    fn = declare(lambda U, V, t, b: losses.sigmoid_loss(U, V, t, b), framework="numpy", convention="paper", batch_axes=True)
    report = conform(fn, cases=FAST)
    assert report.ok, report.table()
    assert "values only" in report.gradients
    assert [r.status for r in report.rows] == ["agrees"] * 8
    assert all(set(r.errors) == {"value"} for r in report.rows)


def test_a_flipped_bias_sign_differs_and_says_where():
    """sigref's paper-convention loss checked as open_clip (bias added): wrong wherever b != 0."""
    report = conform(losses.sigmoid_loss, "open_clip", framework="numpy", cases=["conform_n2"], dtypes=["float64"])
    (row,) = report.rows
    assert row.status == "differs" and not report.ok
    assert row.where.startswith("value, config 1: logit_scale=10, logit_bias=-10")
    assert row.by_config[0] <= 1.0 < min(row.by_config[1:])  # config 0 has b = 0, where both conventions agree


def test_an_exception_is_a_failure_with_its_message():
    def broken(U, V, t, b):
        raise RuntimeError("boom")

    report = conform(broken, "paper", framework="numpy", cases=["conform_n2"], dtypes=["float32"])
    (row,) = report.rows
    assert (row.status, row.where) == ("fails", "config 0: t=1, b=0: RuntimeError: boom")


def test_a_value_of_the_wrong_shape_differs():
    report = conform(lambda U, V, t, b: np.reshape(losses.sigmoid_loss(U, V, t, b), (1,)), "paper", framework="numpy",
                     cases=["conform_n2"], dtypes=["float64"])
    assert report.rows[0].status == "differs" and "value: shape [1], expected []" in report.rows[0].where


def test_the_batch_case_is_skipped_unless_declared():
    report = conform(losses.sigmoid_loss, "paper", framework="numpy", cases=["conform_batch_axes"], dtypes=["float64"])
    assert report.rows[0].status == "skipped" and "does not declare leading batch axes" in report.rows[0].where
    assert not report.ok  # nothing ran
    forced = conform(losses.sigmoid_loss, "paper", framework="numpy", cases=["conform_batch_axes"], dtypes=["float64"], batch_axes=True)
    assert forced.ok, forced.table()


def test_reduction_override_maps_the_goldens():
    def summed(U, V, t, b):
        return losses.sigmoid_loss(U, V, t, b, reduction="sum")

    assert conform(summed, "paper", framework="numpy", cases=["conform_init"], reduction="sum").ok
    assert not conform(summed, "paper", framework="numpy", cases=["conform_init"]).ok


def test_a_tampered_golden_is_not_used(tmp_path):
    directory = tmp_path / "golden"
    shutil.copytree(golden.default_dir(), directory)
    path = directory / "conform_n2.npz"
    path.write_bytes(path.read_bytes()[:-10])
    report = conform(losses.sigmoid_loss, "paper", framework="numpy", cases=["conform_n2", "conform_init"], directory=directory)
    assert [r.status for r in report.rows] == ["fails", "fails", "agrees", "agrees"]
    assert report.rows[0].where.startswith("golden file: conform_n2.npz was changed")


def test_assert_conforms_is_strict_about_known_failures():
    assert_conforms(losses.sigmoid_loss, "paper", framework="numpy", cases=["conform_n2"])
    with pytest.raises(AssertionError, match=r"do not conform: \['conform_n2:float32', 'conform_n2:float64'\]"):
        assert_conforms(losses.sigmoid_loss, "open_clip", framework="numpy", cases=["conform_n2"])
    assert_conforms(losses.sigmoid_loss, "open_clip", framework="numpy", cases=["conform_n2"],
                    known_failures=["conform_n2:float32", "conform_n2:float64"])
    with pytest.raises(AssertionError, match="now agree"):
        assert_conforms(losses.sigmoid_loss, "paper", framework="numpy", cases=["conform_n2"], known_failures=["conform_n2:float32"])
    with pytest.raises(AssertionError, match="do not exist"):
        assert_conforms(losses.sigmoid_loss, "paper", framework="numpy", cases=["conform_n2"], known_failures=["conform_nope:float32"])


@pytest.mark.parametrize(("target", "options", "message"), [
    ("nocolon", {"convention": "paper"}, "expected MODULE:CALLABLE"),
    ("sigref_no_such_module:f", {"convention": "paper"}, "cannot import module 'sigref_no_such_module'"),
    ("sigref.losses:no_such_loss", {"convention": "paper"}, "has no attribute 'no_such_loss'"),
    ("sigref.losses:REDUCTIONS", {"convention": "paper"}, "is not callable"),
    ("sigref.losses:sigmoid_loss", {"convention": "mine"}, "convention: expected one of ['paper', 'siglip', 'open_clip', 'mscl']"),
    ("sigref.losses:sigmoid_loss", {}, "name its convention"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper"}, "name the array library it takes"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "fortran"}, "unknown backend 'fortran'"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "numpy", "world_size": 0}, "world_size must be an integer >= 1"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "numpy", "timeout_s": 0}, "timeout_s must be a number of seconds > 0"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "numpy", "cases": ["conform_nope"]}, "unknown conformance case"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "numpy", "dtypes": ["float16"]}, "dtypes: expected"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "numpy", "init": {"a": 1}}, "init keywords ['a'] are for a class"),
    ("sigref.losses:sigmoid_loss", {"convention": "paper", "framework": "numpy", "world_size": 2}, "needs a framework hook"),
])
def test_bad_options_are_clear_errors(target, options, message):
    with pytest.raises((ValueError, TypeError)) as info:
        conform(target, **options)
    assert message in str(info.value)


def test_cli_values_only_on_array_api_strict_and_json(tmp_path, capsys):
    path = tmp_path / "report.json"
    code = main(["conform", "sigref.losses:sigmoid_loss", "--convention", "paper", "--framework", "array_api_strict",
                 "--case", "conform_n2", "--case", "conform_extreme", "--dtype", "float32", "--json", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "gradients: not checked (array_api_strict has no sigref.conform hook): values only" in out and "CONFORMS" in out
    report = json.loads(path.read_text())
    assert report["ok"] and [r["id"] for r in report["rows"]] == ["conform_n2:float32", "conform_extreme:float32"]


def test_cli_exit_codes(capsys):
    assert main(["conform", "sigref.losses:sigmoid_loss", "--convention", "siglip", "--framework", "numpy", "--case", "conform_init"]) == 1
    assert "DOES NOT CONFORM" in capsys.readouterr().out
    assert main(["conform", "sigref.losses:sigmoid_loss", "--framework", "numpy"]) == 2
    assert "name its convention" in capsys.readouterr().err
    assert main(["conform"]) == 2
    assert "MODULE:CALLABLE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["conform", "x:y", "--kwarg", "no-equals-sign"])


def test_cli_lists_the_conventions(capsys):
    assert main(["conform", "--conventions"]) == 0
    out = capsys.readouterr().out
    for c in CONVENTIONS.values():
        assert f"{c.name}: {c.signature()}" in out and c.mapping() in out
    assert "logits logit_scale <image_features_i, text_features_j> + logit_bias (t = logit_scale, b = -logit_bias)" in out
    assert "logits exp(t_prime) <zimg_i, ztxt_j> + bias (t = exp(t_prime), b = -bias)" in out


def test_cli_target_from_the_current_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_numpy_loss.py").write_text(
        "from sigref.losses import sigmoid_loss\n"
        "from sigref.conform import declare\n"
        "@declare(framework='numpy', convention='paper')\n"
        "def loss(U, V, t, b):\n    return sigmoid_loss(U, V, t, b)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", [p for p in __import__("sys").path if p not in ("", str(tmp_path))])
    assert main(["conform", "my_numpy_loss:loss", "--case", "conform_n2"]) == 0, capsys.readouterr().out


def test_conventions_reject_bad_definitions():
    with pytest.raises(ValueError, match="bias_sign"):
        Convention("x", ("a", "b", "c", "d"), log_scale=False, bias_sign=2)
    with pytest.raises(ValueError, match="4 positional"):
        Convention("x", ("a", "b"), log_scale=False, bias_sign=1)
    with pytest.raises(ValueError, match="gammas"):
        Convention("x", ("a", "b", "c", "d"), log_scale=False, bias_sign=1, gammas=(-1.0,))
