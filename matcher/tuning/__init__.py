"""Tuning the scoring weights, the dense/lexical fusion and k.

Modules::

    search    the search itself, against a known answer key (the sample's truth), and the config it writes
    outcomes  the answer key from recorded placement outcomes (``tune --from-outcomes``)
    titles    the answer key from labelled job titles (``tune --from-titles``)
"""
