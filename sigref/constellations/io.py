"""Reading and checking a user's paired embeddings for ``sigref analyze`` (arXiv 2509.18552 works on the sphere S^{d-1}).

Files: ``.npy`` (memory-mapped, never unpickled), ``.npz`` and ``.safetensors`` (the optional extra
``sigref[io]``). Either two files, each holding one array (or the array named by ``keys``), or one
``.npz`` / ``.safetensors`` file holding both, named by ``keys`` (default ``("U", "V")``).

:func:`check_pair` validates in row slices (no full float64 copy): real numbers, 2-D, one shape,
N >= 2, finite, no zero rows, and unit rows: rows within 1000 eps of norm 1 are used as they are
(a memory-mapped file stays mapped), rows within :data:`UNIT_TOL` or any rows with ``normalize=True``
are scaled to norm 1 (a copy), anything else is an error naming ``--normalize``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np

from sigref.constellations.tiles import row_chunks

__all__ = ["UNIT_TOL", "check_pair", "describe", "load_pair", "read_arrays"]

UNIT_TOL = 1e-3
SUFFIXES = (".npy", ".npz", ".safetensors")


def _npy(name: str, path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{name} ({path}) is not a plain numeric .npy array: {exc}") from exc


def _npz(name: str, path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{name} ({path}) is not a readable .npz archive of numeric arrays: {exc}") from exc


def _safetensors(name: str, path: Path) -> dict[str, np.ndarray]:
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise ValueError(f"{name} ({path}): reading .safetensors needs the safetensors package: pip install 'sigref[io]'") from exc
    try:
        return load_file(str(path))
    except (SafetensorError, ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{name} ({path}) is not a readable .safetensors file (or holds a dtype NumPy lacks, e.g. bfloat16): {exc}") from exc


def read_arrays(name: str, path: str | Path) -> dict[str, np.ndarray]:
    """``{array name: array}`` of one file (a ``.npy`` file gives ``{"": memory-mapped array}``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _npz(name, path)
    if suffix == ".safetensors":
        return _safetensors(name, path)
    if suffix not in ("", ".npy"):
        raise ValueError(f"{name} ({path}): unknown file type {suffix!r}; expected one of {', '.join(SUFFIXES)}")
    return {"": _npy(name, path)}


def _pick(name: str, path: str | Path, arrays: dict[str, np.ndarray], key: str | None) -> np.ndarray:
    if "" in arrays:
        return arrays[""]
    if key is not None and key in arrays:
        return arrays[key]
    if key is None and len(arrays) == 1:
        return next(iter(arrays.values()))
    want = f"an array named {key!r}" if key is not None else "exactly one array (or name it with --keys)"
    raise ValueError(f"{name} ({path}) holds arrays {sorted(arrays)}; expected {want}")


def load_pair(u_path: str | Path, v_path: str | Path | None = None, *, keys: tuple[str, str] | None = None,
              normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """U, V from two files or from one ``.npz``/``.safetensors`` file holding both (named ``keys``, default U and V),
    checked by :func:`check_pair`. A file of a pair holding other names is an error listing the names it holds."""
    if keys is not None and (len(keys) != 2 or keys[0] == keys[1]):
        raise ValueError(f"keys must name two different arrays (U's, V's), got {keys!r}")
    if v_path is None:
        names = keys or ("U", "V")
        arrays = read_arrays("U and V", u_path)
        if "" in arrays:
            raise ValueError(f"{u_path}: a .npy file holds one array; give V's file too, or one .npz/.safetensors file with both")
        missing = [k for k in names if k not in arrays]
        if missing or len(arrays) != 2:
            raise ValueError(f"{u_path} holds arrays {sorted(arrays)}; expected exactly the two named {list(names)} "
                             "(U's and V's; choose them with --keys U_NAME V_NAME)")
        U, V = arrays[names[0]], arrays[names[1]]
    else:
        U = _pick("U", u_path, read_arrays("U", u_path), None if keys is None else keys[0])
        V = _pick("V", v_path, read_arrays("V", v_path), None if keys is None else keys[1])
    return check_pair(U, V, normalize=normalize)


def _floating(name: str, a: Any) -> Any:
    """``a`` as an array of a floating dtype its values fit (integers: float64; float16: float32), or a TypeError."""
    if isinstance(a, np.ndarray) or not array_api_compat.is_array_api_obj(a):
        a = a if isinstance(a, np.ndarray) else np.asarray(a)
        if a.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
        if a.dtype.kind in "iu":
            return a.astype(np.float64)
        return a.astype(np.float32) if a.dtype.itemsize < 4 else a
    xp = array_api_compat.array_namespace(a)
    if xp.isdtype(a.dtype, "real floating"):
        return a if a.dtype in (xp.float32, xp.float64) else xp.astype(a, xp.float32)
    if xp.isdtype(a.dtype, "integral"):
        return xp.astype(a, xp.float64)
    raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")


def check_pair(U: Any, V: Any, *, normalize: bool = False) -> tuple[Any, Any]:
    """U, V after the checks of the module docstring, in a floating dtype (float32 stays float32; integers become float64).

    Accepts NumPy arrays (memory-mapped ones are read a slice at a time) and arrays of any array-API namespace.
    """
    out = []
    for name, a in (("U", U), ("V", V)):
        a = _floating(name, a)
        if a.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (N pairs, d dimensions), got shape {tuple(a.shape)}")
        out.append(a)
    U, V = out
    if tuple(U.shape) != tuple(V.shape):
        raise ValueError(f"U and V must be paired embeddings of the same shape (row i of U pairs with row i of V); "
                         f"got U {tuple(U.shape)} and V {tuple(V.shape)}")
    if U.shape[0] < 2:
        raise ValueError(f"need at least N = 2 pairs, got {U.shape[0]}")
    if U.dtype != V.dtype:
        xp = array_api_compat.array_namespace(U, V)
        U, V = xp.astype(U, xp.float64), xp.astype(V, xp.float64)
    result = []
    for name, a in (("U", U), ("V", V)):
        xp = array_api_compat.array_namespace(a)
        bad = zero = 0
        dev = 0.0
        for _, block in row_chunks(a):
            norms = xp.linalg.vector_norm(block, axis=1)
            finite = xp.isfinite(norms)
            bad += int(xp.sum(xp.astype(xp.logical_not(finite), xp.int64)))
            zero += int(xp.sum(xp.astype(norms == 0, xp.int64)))
            if bool(xp.all(finite)):
                dev = max(dev, float(xp.max(xp.abs(norms - 1.0))))
        if bad:
            raise ValueError(f"{name} contains NaN or infinity (in {bad} row(s))")
        if zero:
            raise ValueError(f"{name} has {zero} zero row(s); they have no direction on the sphere")
        if dev > UNIT_TOL and not normalize:
            raise ValueError(
                f"the rows of {name} are not unit vectors (max | ||row|| - 1 | = {dev:.3g}); the theory is about "
                "embeddings on the sphere: pass --normalize (normalize=True) to scale every row to norm 1")
        if dev > 1000 * float(xp.finfo(a.dtype).eps):
            a = a / xp.linalg.vector_norm(a, axis=1, keepdims=True)
        result.append(a)
    return result[0], result[1]


def describe(a: Any) -> str:
    """How an input is held: ``memory-mapped`` (a NumPy memmap, read from disk as needed) or ``in memory``."""
    return "memory-mapped" if isinstance(a, np.memmap) else "in memory"
