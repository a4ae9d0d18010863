"""Clinical notes: templates as data (structured sections) and the signed document.

``templates`` (a template's sections, validated from JSON; the default set in
``data/templates.json``), ``compose`` (the pre-filled text of scores and the intake verdict, the
Markdown document a signature covers and its SHA-256). See ``docs/notes.md``.
"""
