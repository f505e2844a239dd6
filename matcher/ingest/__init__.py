"""Reading input files: encodings, Chinese or English headers, CSV/XLSX/JSON, validation, report.

Modules, in the order data passes through them::

    encoding     detect UTF-8 / UTF-8 with BOM / GB18030 (GBK)
    headers      header and enumeration aliases (姓名 → name, 男 → male)
    readers      CSV, XLSX and JSON files as tables of raw rows
    admin_codes  which 6-digit admin codes exist
    validate     raw row → record; duplicates and references across the set
    columnar     the import's fast path: whole columns checked, doubtful rows left to validate
    pipeline     ingest(paths): all of the above over files and folders; load_folder → Dataset;
                 save_uploads: uploaded files into a folder, names checked
    report       the import report (text, JSON, rejected.csv)
    template     the blank XLSX import template and XLSX/CSV export writers
"""

from matcher.ingest.admin_codes import AdminCodes, load_admin_codes
from matcher.ingest.encoding import detect_encoding
from matcher.ingest.headers import HEADER_ALIASES, KIND_ALIASES, VALUE_ALIASES
from matcher.ingest.pipeline import IngestResult, SourceFile, expand_paths, ingest, load_folder, save_uploads
from matcher.ingest.readers import RawRow, Table, read_path
from matcher.ingest.report import ImportReport, render_text, write_rejected_csv
from matcher.ingest.validate import Loaded, RowValidator, check_set

__all__ = [
    "HEADER_ALIASES",
    "KIND_ALIASES",
    "VALUE_ALIASES",
    "AdminCodes",
    "ImportReport",
    "IngestResult",
    "Loaded",
    "RawRow",
    "RowValidator",
    "SourceFile",
    "Table",
    "check_set",
    "detect_encoding",
    "expand_paths",
    "ingest",
    "load_folder",
    "load_admin_codes",
    "read_path",
    "save_uploads",
    "render_text",
    "write_rejected_csv",
]
