"""sigref's PyTorch plugin: backend, autograd bridge to sigref's analytic gradients, SSL path."""
