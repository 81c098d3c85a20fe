"""``sigref analyze`` on files: .npy (memory-mapped), .npz and .safetensors pairs, the new flags (--json, --plot,
--backend/--dtype, --chunk-size, --keys, --q) and the named errors for bad input; one subprocess check of the
peak memory on a 50,000-pair file (the scale the streaming analysis exists for)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from sigref.cli import main
from sigref.constellations.analyze import analyze
from sigref.constellations.io import load_pair
from tests.constellations.test_streaming import make_pair


@pytest.fixture
def pair_files(tmp_path):
    U, V = make_pair("random", 300, 16, seed=5)
    U32, V32 = U.astype(np.float32), V.astype(np.float32)
    np.save(tmp_path / "U.npy", U32)
    np.save(tmp_path / "V.npy", V32)
    np.savez(tmp_path / "pair.npz", U=U32, V=V32)
    np.savez(tmp_path / "named.npz", image=U32, text=V32)
    np.savez(tmp_path / "three.npz", U=U32, V=V32, extra=U32[:3])
    return tmp_path, U32, V32


def test_npy_is_memory_mapped_and_float32_stays_float32(pair_files, capsys):
    tmp, U32, V32 = pair_files
    U, V = load_pair(tmp / "U.npy", tmp / "V.npy")
    assert isinstance(U, np.memmap) and U.dtype == np.float32
    assert main(["analyze", str(tmp / "U.npy"), str(tmp / "V.npy"), "--json", "--no-progress"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["input"] == "memory-mapped" and rep["dtype"] == "float32" and rep["backend"] == "numpy (float32)"
    assert rep == {**rep, **{k: v for k, v in _json(analyze(U32, V32)).items() if k not in ("seconds", "input")}}


def _json(rep: dict) -> dict:
    from sigref.constellations.analyze import to_json

    return json.loads(to_json(rep))


def test_npz_and_safetensors_pairs_give_one_report(pair_files, capsys):
    tmp, U32, V32 = pair_files
    want = {k: v for k, v in _json(analyze(U32, V32)).items() if k not in ("seconds", "input")}
    runs = [[str(tmp / "pair.npz")], [str(tmp / "named.npz"), "--keys", "image", "text"]]
    try:
        from safetensors.numpy import save_file
    except ImportError:
        save_file = None
    if save_file is not None:
        save_file({"U": U32, "V": V32}, str(tmp / "pair.safetensors"))
        save_file({"img": U32}, str(tmp / "u.safetensors"))
        save_file({"txt": V32}, str(tmp / "v.safetensors"))
        runs += [[str(tmp / "pair.safetensors")], [str(tmp / "u.safetensors"), str(tmp / "v.safetensors")]]
    for args in runs:
        assert main(["analyze", *args, "--json", "--no-progress"]) == 0, args
        rep = json.loads(capsys.readouterr().out)
        assert {k: rep[k] for k in want} == want, args


@pytest.mark.parametrize("case,match", [
    ("three.npz", "holds arrays \\['U', 'V', 'extra'\\]; expected exactly the two named \\['U', 'V'\\]"),
    ("named.npz", "holds arrays \\['image', 'text'\\]; expected exactly the two named \\['U', 'V'\\]"),
    ("keys", "holds arrays \\['U', 'V'\\]; expected an array named 'image'"),
    ("pickled", "not a plain numeric .npy"), ("text", "not a plain numeric .npy"), ("strings", "real numbers"),
    ("suffix", "unknown file type"), ("nonunit", "--normalize"), ("nan", "NaN"), ("unpaired", "same shape"),
    ("one_npy", "holds one array"),
])
def test_bad_files_have_named_errors(pair_files, capsys, case, match):
    tmp, U32, V32 = pair_files
    u, v = str(tmp / "U.npy"), str(tmp / "V.npy")
    extra: list[str] = []
    if case in ("three.npz", "named.npz"):
        args = [str(tmp / case)]
    elif case == "keys":
        args, extra = [str(tmp / "pair.npz"), str(tmp / "pair.npz")], ["--keys", "image", "text"]
    elif case == "pickled":
        np.save(tmp / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        args = [str(tmp / "obj.npy"), v]
    elif case == "text":
        (tmp / "junk.npy").write_bytes(pickle.dumps([[1.0, 2.0]]))
        args = [str(tmp / "junk.npy"), v]
    elif case == "strings":
        np.save(tmp / "s.npy", np.array([["a", "b"], ["c", "d"]]))
        args = [str(tmp / "s.npy"), v]
    elif case == "suffix":
        (tmp / "U.csv").write_text("1,2\n")
        args = [str(tmp / "U.csv"), v]
    elif case == "nonunit":
        np.save(tmp / "big.npy", 3 * V32)
        args = [u, str(tmp / "big.npy")]
    elif case == "nan":
        bad = U32.copy()
        bad[7, 2] = np.nan
        np.save(tmp / "nan.npy", bad)
        args = [str(tmp / "nan.npy"), v]
    elif case == "unpaired":
        np.save(tmp / "short.npy", V32[:-1])
        args = [u, str(tmp / "short.npy")]
    else:
        args = [u]
    assert main(["analyze", *args, *extra, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "sigref analyze: error:" in err
    import re

    assert re.search(match, err), err


def test_flags_backend_dtype_chunk_q_and_plot(pair_files, capsys):
    tmp, U32, V32 = pair_files
    base = ["analyze", str(tmp / "U.npy"), str(tmp / "V.npy"), "--json", "--no-progress"]
    assert main([*base, "--dtype", "float64", "--chunk-size", "7", "--q", "10", "--t", "10", "--b-rel", "0.3"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["dtype"] == "float64" and rep["tile"][0] == 7 and rep["q"] == 10.0 and rep["b"] == pytest.approx(3.0)
    S = U32.astype(np.float64) @ V32.astype(np.float64).T
    off = S[~np.eye(300, dtype=bool)]
    assert rep["b_rel_percentile"] == pytest.approx((np.percentile(np.diag(S), 10.0) + np.percentile(off, 90.0)) / 2, abs=1e-12)
    pytest.importorskip("torch")
    assert main([*base, "--backend", "torch", "--plot", str(tmp / "fig.png")]) == 0
    rep_t = json.loads(capsys.readouterr().out)
    assert rep_t["backend"] == "torch (float32)" and (tmp / "fig.png").stat().st_size > 10_000
    assert rep_t["m_minmax"] == pytest.approx(analyze(U32, V32)["m_minmax"], abs=2e-6)
    with pytest.raises(SystemExit):
        main([*base, "--chunk-size", "0"])
    assert "--chunk-size" in capsys.readouterr().err


_PROBE = """
import json, sys
from sigref.bench.memory import RssProbe, _limit_malloc
from sigref.constellations.analyze import analyze, load_pair
_limit_malloc()
probe = RssProbe()
probe.reset()
U, V = load_pair(sys.argv[1], sys.argv[2])
rep = analyze(U, V)
print(json.dumps({"peak": probe.peak(), "method": probe.method, "m": rep["m_minmax"], "passes": rep["passes"],
                  "separable": rep["separable"]}))
"""


@pytest.mark.slow
def test_fifty_thousand_pairs_within_the_memory_target(tmp_path):
    """N = 50,000 pairs in d = 64 (float32 files, 2.5e9 pairs): peak resident growth in a fresh process below 1 GiB
    (the dense N x N float64 matrix alone would be 20 GB)."""
    rng = np.random.default_rng(0)
    n, d = 50_000, 64
    U = rng.standard_normal((n, d), dtype=np.float32)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V = U + rng.standard_normal((n, d), dtype=np.float32) / 8
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    np.save(tmp_path / "U.npy", U)
    np.save(tmp_path / "V.npy", V)
    del U, V
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "U.npy"), str(tmp_path / "V.npy")], capture_output=True,
                         text=True, env=env, timeout=1200, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["method"] == "rss-hwm" and res["peak"] < 2**30, res
    assert res["passes"] >= 1 and res["m"] < 0  # random pairs in d = 64 are no constellation


def test_json_report_is_standard_json():
    """Infinite values (no cap on N) become the string "inf"; the rest are plain JSON numbers, booleans and strings."""
    import sigref.constellations as C
    from sigref.backend import get_backend
    from sigref.constellations.analyze import format_report, to_json

    c = C.from_code(C.hypercube(4, backend=get_backend("numpy")).X, 0.1, 0.2)
    rep = analyze(np.asarray(c.U), np.asarray(c.V), t=80.0, b=11.0)
    text = to_json(rep)
    assert "Infinity" not in text and "NaN" not in text
    back = json.loads(text)
    assert back["region"]["n_cap"] == "inf" and rep["region"]["n_cap"] == float("inf")
    assert back["m_minmax"] == pytest.approx(c.m_star) and back["separable"] is True and back["passes"] == 1
    assert "separable through the origin: yes" in format_report(rep)
