"""sigref's CuPy plugin."""
