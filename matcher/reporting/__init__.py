"""What offices send and read: the programme report and the lists exported from a run.

Modules::

    programme  the programme report: each district's and the city's progress against the targets
    chart      the report's one-page progress chart (with Chinese text)
    exports    placement, unplaced and supply lists as CSV and XLSX, personal data masked
"""
