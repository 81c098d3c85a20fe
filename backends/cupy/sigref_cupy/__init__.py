"""The CuPy plugin of sigref: the ``cupy`` backend (NVIDIA GPUs) and its benchmark memory probe.

The distribution ``sigref-cupy`` provides :mod:`sigref_cupy.backend`, the :class:`~sigref.backend.BackendSpec`
that the entry point ``cupy`` of the group ``sigref.backends`` names (importable without CuPy:
availability is checked on demand), and :mod:`sigref_cupy.bench`, the memory probe of
``sigref bench`` on CuPy's memory pool. sigref's kernels run on CuPy arrays unchanged, through the
array API; install CuPy with the extra of the CUDA version, e.g. ``pip install 'sigref-cupy[cuda13]'``.

Examples
--------
>>> from sigref.backend import backend_spec
>>> backend_spec("cupy").module
'cupy'
"""
