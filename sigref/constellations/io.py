"""Reading and checking a user's paired embeddings for ``sigref analyze`` (arXiv:2509.18552 works on the sphere :math:`S^{d-1}`).

Files: ``.npy`` (memory-mapped, never unpickled), ``.npz`` and ``.safetensors`` (the optional
extra ``sigref[io]``). Either two files, each holding one array (or the array named by ``keys``),
or one ``.npz`` / ``.safetensors`` file holding both, named by ``keys`` (default ``("U", "V")``).

:func:`check_pair` validates in row slices (no full float64 copy): real numbers, 2-D, one shape,
N >= 2, finite, no zero rows, and unit rows: rows within 1000 eps of norm 1 are used as they are
(a memory-mapped file stays mapped), rows within :data:`UNIT_TOL` or any rows with
``normalize=True`` are scaled to norm 1 (a copy), anything else is an error naming
``--normalize``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np

from sigref.constellations.tiles import row_chunks
from sigref.types import Array

__all__ = ["UNIT_TOL", "check_pair", "describe", "load_pair", "read_arrays"]

#: Rows whose norm is within this of 1 are normalised silently; beyond it :func:`check_pair` needs ``normalize=True``.
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
    """Read every array of one file, by name.

    ``.npy`` files are memory-mapped and never unpickled; ``.npz`` archives are read into memory;
    ``.safetensors`` files need the optional ``safetensors`` package (``pip install 'sigref[io]'``).

    Parameters
    ----------
    name : str
        What the file holds (``"U"``, ``"V"``, ...), for error messages.
    path : str or pathlib.Path
        A ``.npy`` file (or one without a suffix), a ``.npz`` or a ``.safetensors`` file.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{array name: array}``; a ``.npy`` file gives ``{"": memory-mapped array}``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the suffix is unknown, the file is not a plain numeric array file (pickled objects are
        refused), or reading ``.safetensors`` needs the missing ``safetensors`` package.

    See Also
    --------
    load_pair : Two arrays, checked.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sigref.constellations.io import read_arrays
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "pair.npz")
    >>> np.savez(path, U=np.eye(2), V=np.eye(2))
    >>> sorted(read_arrays("pair", path))
    ['U', 'V']
    >>> tmp.cleanup()
    """
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
    """Load paired embeddings U, V from files, checked by :func:`check_pair`.

    From two files (``u_path``, ``v_path``), each holding one array or the array named by ``keys``;
    or from one ``.npz``/``.safetensors`` file ``u_path`` holding exactly the two arrays named
    ``keys`` (default ``("U", "V")``). ``.npy`` files are memory-mapped and stay mapped when their
    rows are unit vectors.

    Parameters
    ----------
    u_path : str or pathlib.Path
        U's file, or the one file holding both.
    v_path : str or pathlib.Path, optional
        V's file (default: both are in ``u_path``).
    keys : tuple of str, optional
        The names of U's and V's arrays, two different names.
    normalize : bool, optional
        Scale every row to norm 1 instead of rejecting rows that are not unit vectors (default False).

    Returns
    -------
    U : numpy.ndarray, shape (N, d)
        The first modality, float32 or float64 (a ``numpy.memmap`` when read from ``.npy`` as it is).
    V : numpy.ndarray, shape (N, d)
        Its partners.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If ``keys`` is not two different names; a file cannot be read or does not hold the arrays
        asked for (the message lists the names it holds); a single ``.npy`` file is given; or the
        arrays fail :func:`check_pair`.
    TypeError
        If an array does not hold real numbers.

    See Also
    --------
    check_pair : The checks.
    sigref.constellations.analyze.analyze_pairs : The report on the loaded pairs.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sigref.constellations.io import describe, load_pair
    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (6, 3)), uniform_sphere(1, (6, 3))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> np.save(os.path.join(tmp.name, "U.npy"), U)
    >>> np.save(os.path.join(tmp.name, "V.npy"), V)
    >>> A, B = load_pair(os.path.join(tmp.name, "U.npy"), os.path.join(tmp.name, "V.npy"))
    >>> A.shape, describe(A), bool(np.array_equal(B, V))
    ((6, 3), 'memory-mapped', True)

    One ``.npz`` file with both, under names of its own:

    >>> np.savez(os.path.join(tmp.name, "emb.npz"), image=U, text=V)
    >>> A, B = load_pair(os.path.join(tmp.name, "emb.npz"), keys=("image", "text"))
    >>> describe(A), bool(np.array_equal(A, U))
    ('in memory', True)
    >>> del A, B
    >>> tmp.cleanup()
    """
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


def check_pair(U: Array, V: Array, *, normalize: bool = False) -> tuple[Array, Array]:
    """Check paired embeddings and bring them to unit rows of a floating dtype.

    The checks of the module docstring, one row slice at a time: real numbers, 2-D, one shape,
    N >= 2, finite, no zero rows, unit rows. Rows within 1000 eps of norm 1 are returned as they are
    (a memory map stays mapped); rows within :data:`UNIT_TOL`, or any rows with ``normalize=True``,
    are scaled to norm 1 (a copy). float32 stays float32, float16 becomes float32, integers become
    float64, and a pair of different dtypes becomes float64.

    Parameters
    ----------
    U : Array, shape (N, d)
        The first modality: a NumPy array (memory-mapped ones are read a slice at a time), anything
        ``numpy.asarray`` takes, or an array of any array-API namespace.
    V : Array, shape (N, d)
        Its partners (row i of ``U`` pairs with row i of ``V``).
    normalize : bool, optional
        Scale every row to norm 1 instead of rejecting rows off the sphere (default False).

    Returns
    -------
    U : Array, shape (N, d)
        The checked first modality.
    V : Array, shape (N, d)
        The checked partners.

    Raises
    ------
    TypeError
        If an array does not hold real numbers.
    ValueError
        If an array is not 2-D, the shapes differ, N < 2, a row is zero or holds NaN or infinity, or
        a row's norm is off by more than :data:`UNIT_TOL` without ``normalize``.

    See Also
    --------
    load_pair : Reading the pairs from files.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.io import check_pair
    >>> U, V = check_pair(np.array([[3, 4], [0, 1]]), np.array([[1, 0], [0, 1]]), normalize=True)
    >>> U.dtype, U.tolist()
    (dtype('float64'), [[0.6, 0.8], [0.0, 1.0]])
    >>> try:
    ...     check_pair(np.array([[3.0, 4.0], [0.0, 1.0]]), np.eye(2))
    ... except ValueError:
    ...     print("rows of norm 5 need normalize=True")
    rows of norm 5 need normalize=True
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


def describe(a: Array) -> str:
    """Tell how an input is held: ``"memory-mapped"`` or ``"in memory"``.

    The report of ``sigref analyze`` says which, since a memory-mapped input is read from disk in
    every pass over the tiles.

    Parameters
    ----------
    a : Array
        An array, as :func:`load_pair` or :func:`check_pair` returned it.

    Returns
    -------
    str
        ``"memory-mapped"`` for a ``numpy.memmap`` (read from disk as needed), else ``"in memory"``.

    See Also
    --------
    load_pair : Which memory-maps ``.npy`` files.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.io import describe
    >>> describe(np.eye(2))
    'in memory'
    """
    return "memory-mapped" if isinstance(a, np.memmap) else "in memory"
