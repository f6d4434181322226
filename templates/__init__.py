"""symgd's Jinja2 templates and stylesheet (installed as the ``symgd.templates`` package)."""
