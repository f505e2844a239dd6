"""Batch placement: data set → texts → vectors → candidates → optimal assignment → files.

Modules, in the order a run passes through them::

    options   PlaceOptions and RuleOptions: what a run is asked to do (CLI, API and console alike)
    progress  stage progress and timing of a long run
    pipeline  run_placement: encode, classify occupations, retrieve and score, hold back, solve
    summary   the run.json summary: wishes fulfilled, unplaced reasons, shadow prices, versions
    files     write_run: assignments, unplaced, candidates, job codes, rejected rows, run.json
    whatif    change openings or targets, re-solve on the same candidates, report the change
    check     an independent check of an assignment against the records and the rules
"""
