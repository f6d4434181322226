"""Text to expression: tokens, the parser (never ``eval``), activation functions, lambdify.

The only ``sympy.lambdify`` call of the package is in :mod:`symgd.expr.lambdify`.
"""
