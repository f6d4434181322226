"""``python -m symgd``."""

from symgd.cli import main

main()
