"""The ``symgd explain`` lesson: the function's facts and the runs first, then one module
per section.
"""
