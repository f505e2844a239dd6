"""The synthetic programme ``laborbridge sample`` writes: seeded, vectorised, with its hidden truth.

Modules, from the outside in::

    generate  generate_sample / write_sample: the whole data set and its files
    draw      the latent draws: workers, enterprises, jobs, ID numbers, phones
    text      names, experience, wishes, postings and enterprise names as text
    arrays    whole-column string and choice helpers shared by draw and text
    vocab     the vocabularies and templates

Only built-in tables are used; nothing here reads the shared data folder.
"""
