"""Printable exercise handouts with an answer key."""
