"""The ``symgd explain`` lesson: facts and runs first, then one module per section."""
