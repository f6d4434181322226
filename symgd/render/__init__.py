"""Shared presentation: the LaTeX and number printer, math as SVG, figures, templates, PDF."""
