"""One module per schema change, applied in order of ``down_revision``."""
