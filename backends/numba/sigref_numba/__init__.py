"""The Numba plugin of sigref: the loss kernel's elementwise pass for NumPy arrays, compiled.

The distribution ``sigref-numba`` provides one module, :mod:`sigref_numba.fused`: the
elementwise pass of the sigmoid loss kernel as one compiled, multi-threaded loop, loaded by sigref
through the entry point ``numpy`` of the group ``sigref.fused`` the first time a NumPy block
reaches the kernel (``SIGREF_FUSED=0`` keeps the array-API reference).

Examples
--------
>>> from sigref import fused
>>> import sigref_numba.fused
>>> fused.REGISTRY["numpy"] is sigref_numba.fused.pair_terms
True
"""
