"""Errors raised by laborbridge's domain code.

The tree, drawn once::

    LaborbridgeError
    ├── InputError (also ValueError)       a record, file or argument is wrong; carries file/row/field
    │   ├── SchemaError                     a file lacks required columns or cannot be parsed at all
    │   └── RecordError                     one row fails validation
    ├── NotFoundError (also KeyError)      an id that does not exist in the store or data folder
    ├── ConfigError (also ValueError)      settings or options that cannot work together
    └── PipelineError (also RuntimeError)  a stage failed for a reason outside the input

``embeddings/`` and ``optimizer/`` do not import this module (see DESIGN.md, layering): they
raise ``ValueError``/``RuntimeError`` subclasses of their own, which the edges map alongside these.
"""

from __future__ import annotations


class LaborbridgeError(Exception):
    """Base of every error laborbridge raises on purpose."""


class InputError(LaborbridgeError, ValueError):
    """Bad input. Names where it is: ``file``, ``row`` (1-based, header is row 1), ``field``."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        value: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.row = row
        self.field = field
        self.value = value
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def as_dict(self) -> dict[str, object]:
        """The error as a JSON-ready report entry."""
        return {
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
        }


class SchemaError(InputError):
    """A file that cannot be read as the expected record type (missing columns, bad format)."""


class RecordError(InputError):
    """One row that fails validation; the other rows are unaffected."""


class NotFoundError(LaborbridgeError, KeyError):
    """An id that is not known."""

    def __str__(self) -> str:  # KeyError would add quotes
        return str(self.args[0]) if self.args else "not found"


class ConfigError(LaborbridgeError, ValueError):
    """Options or settings that cannot work together."""


class PipelineError(LaborbridgeError, RuntimeError):
    """A stage of a run failed for a reason that is not the input's fault."""
