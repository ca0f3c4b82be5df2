"""Review trust: subset tests, suspicion model, grades (``judge``), and their parts.

Modules: ``judge`` (judge_reviews, the report cards), ``features`` (behavioural features),
``model`` (the fitted suspicion trees, read from ``model.json``), ``text``, ``stats``,
``metrics``, ``config``. Nothing is imported here, so reading the settings (``config``)
does not load pandas.
"""
