"""Exact calculus: gradient, differential, Hessian, critical points, convexity, the
rule-by-rule steps, curvature and its learning-rate thresholds, exact hand steps.
"""
