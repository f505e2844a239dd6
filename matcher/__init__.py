"""laborbridge's domain and use cases, between the API above and embeddings/optimizer below.

The domain, flat::

    errors    the errors every layer raises (InputError, RecordError, NotFoundError, ConfigError)
    records   Worker, Enterprise, Job and their columns
    dataset   a validated set of records with its look-ups
    geo       Tianjin districts, paired counties, accepted locations
    idcard    ID-number checks (check digit, birth date, gender)
    pii       masking of names, ID numbers and phones, also inside free text
    csvsafe   the one cell writer of every CSV and XLSX file (formula and control-character safe)
    textscan  one regular-expression search over a whole column of cells
    versions  the versions of Python and the packages that shape a result

The rooms::

    ingest/     reading input files: encodings, headers, CSV/XLSX/JSON, validation, import report
    store/      the record store (SQLAlchemy, Alembic): imports, history, runs, keys
    scoring/    features, occupation codes, factors, candidates, explanations, skill gaps
    recommend/  per-worker and per-job recommendations
    placement/  batch placement: options, pipeline, summary, files, what-if, check
    runs/       recorded runs, their differences, follow-up and job fairs
    reporting/  the programme report and the exported lists
    sample/     the synthetic programme
    tuning/     tuning the scoring weights

Arrows point down only: ``api`` → ``matcher`` → {``embeddings``, ``optimizer``}; ``sample`` and
``reporting`` import nothing from ``api`` (``tests/test_layering.py``).
"""
