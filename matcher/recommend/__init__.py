"""Recommendations: a worker's best jobs, a job's best workers, fitted once and answered fast.

Modules::

    recommender  Recommender: fit on a data set, answer for a worker, a job or known pairs
    toplists     every known worker's ranked list, computed at fit and kept as flat arrays
    results      what it answers: ranked, explained items, and the recruiter's view of a worker
"""
