"""sigref's Numba plugin: the sigmoid loss kernel's elementwise pass for NumPy arrays as one
compiled, multi-threaded loop (:mod:`sigref_numba.fused`), loaded by sigref through the
entry-point group ``sigref.fused`` the first time a NumPy block reaches the kernel."""
