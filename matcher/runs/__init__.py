"""Recorded runs: what a placement stores, how two runs differ, and what happened afterwards.

Modules::

    record    build_record: a placement run → the RunRecord the store writes in one transaction
    diff      diff_runs: two stored runs compared worker by worker, with the reasons they differ
    followup  job fairs and placement outcomes: their files, stable-employment rates, re-matching
"""
