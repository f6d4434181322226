"""Exact calculus on a parsed function: gradient, differential, Hessian, critical points, rule-by-rule steps, curvature."""
