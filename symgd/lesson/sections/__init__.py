"""One module per lesson section, in page order; each builds its typed context from the facts,
the settings and the runs (see :mod:`symgd.lesson.pipeline`)."""
