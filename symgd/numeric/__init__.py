"""Numbers: the one lambdify site, fused step code, the optimizers, descent runs, the numba backend and fitting on data."""
