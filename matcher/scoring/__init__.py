"""Scoring: what a (worker, job) pair is worth, and why.

Modules, in the order a pair passes through them::

    features     the text of each worker and job the encoder sees (nothing personal in it)
    context      a columnar view of a data set for vectorised rules and scoring
    lru          a small thread-safe least-recently-used cache
    occupations  wishes and job titles → CSCO 2022 code beliefs; their match
    ngrams       character n-gram sets of short texts
    overlap      shared n-gram counts of many pairs at once (the lexical factor)
    factors      the hard rules, the factors and the weighted score of candidate edges
    candidates   retrieval of the nearest jobs per worker, hard rules, scoring, top k
    congestion   spreading recommendations many similar workers would all be shown
    explain      the sentences (zh/en) that say why a job fits
    skillgap     occupations near a worker whose skills would open jobs

Nothing here knows about the store, the API or a run: :mod:`matcher.recommend` and
:mod:`matcher.placement` put these pieces together.
"""
