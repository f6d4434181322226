"""Numbers: fused step code, the optimizer registry, descent runs (numpy or numba) and
fitting models to data.
"""
