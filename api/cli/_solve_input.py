"""The two CSV files of ``laborbridge solve``, read columnar and validated row by row.

:func:`read_solve_inputs` reads each file with pyarrow's CSV reader and validates whole columns at
once (ids present, jobs known, numbers parse, scores finite and >= 0, no duplicate edge, one
capacity per enterprise). The edges file is parsed in 8 MiB blocks and taken block by block: ids
are encoded and scores cast straight into numpy, and edges already sorted by worker and job (the
usual order) are checked for duplicates without a sort.
Worker ids grouped by worker (the usual order) are numbered from a comparison of each row with the
row before instead of a hash of every row; job ids are looked up in the capacities file's ids
directly; UTF-8 is checked only in blocks that hold a byte outside ASCII. When any check fails, or
pyarrow cannot parse the file at all (a row with too few cells, a number written ``+3`` or
`` 0.5``), the file is read again with the row reader of :func:`read_capacities_rows` /
:func:`read_edges_rows`: it raises the first bad row's error (file, row, field, reason) exactly as
before, or, where pyarrow was merely stricter than Python's ``int`` and ``float``, returns the same
data. Either path gives the same :class:`Edges` and :class:`Capacities`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EDGE_FIELDS = ("worker_id", "job_id", "score")
CAPACITY_FIELDS = ("job_id", "openings")
ENTERPRISE_FIELDS = ("enterprise_id", "enterprise_capacity")


@dataclass
class Capacities:
    """Jobs in file order, and enterprises in order of first appearance."""

    job_ids: list[str]
    openings: np.ndarray  # int64 (J,)
    job_enterprise: np.ndarray  # int32 (J,), -1 = none
    enterprise_ids: list[str]
    enterprise_capacity: np.ndarray  # int64 (K,), -1 = no cap


@dataclass
class Edges:
    """Workers in order of first appearance; one entry per edge, in file order."""

    worker_ids: list[str]
    worker: np.ndarray  # int32 (E,)
    job: np.ndarray  # int32 (E,)
    score: np.ndarray  # float64 (E,)
    score_text: Any  # pyarrow string array or chunked array: each row's score as written, stripped
    # each edge's data row in the file, 0-based (indexes score_text); None: edge e is on row e
    row: np.ndarray | None = None

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """The data rows of the edges at positions ``idx``."""
        return np.asarray(idx, dtype=np.int64) if self.row is None else self.row[idx]

    def subset(self, idx: np.ndarray) -> Edges:
        """These edges at positions ``idx`` (same workers list)."""
        return Edges(
            self.worker_ids, self.worker[idx], self.job[idx], self.score[idx], self.score_text, self.rows(idx)
        )

    def texts(self, idx: np.ndarray) -> list[str]:
        """The scores of edges ``idx`` as written, taken block by block (a take from the whole
        column would join its blocks first)."""
        rows = self.rows(idx)
        chunks = _chunks(self.score_text)
        starts = np.cumsum([0] + [len(c) for c in chunks])
        which = np.searchsorted(starts, rows, side="right") - 1
        out = np.empty(rows.size, dtype=object)
        for c, chunk in enumerate(chunks):  # np.unique would import numpy.ma (start-up)
            at = np.flatnonzero(which == c)
            if at.size:
                out[at] = _kernel("take", chunk, _int64_array(rows[at] - starts[c])).to_pylist()
        return out.tolist()


class _Fallback(Exception):
    """The columnar path found something to report: the row reader says what, and where."""


def _input_error(reason: str, file: Path, row: int | None = None, field: str | None = None) -> Exception:
    from matcher.errors import InputError

    return InputError(reason, file=str(file), row=row, field=field)


# --- columnar path -------------------------------------------------------------------------


def _header(path: Path, required: tuple[str, ...]) -> list[str]:
    """The stripped header; a missing file or column is the same error as the row reader's."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            first = next(csv.reader(fh), [])
    except OSError as exc:
        raise _input_error(f"cannot open: {exc.strerror}", path) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _Fallback from exc
    header = [h.strip() for h in first]
    missing = [f for f in required if f not in header]
    if missing:
        raise _input_error(f"missing column(s) {', '.join(missing)}", path, row=1)
    if len(set(header)) != len(header):
        raise _Fallback  # duplicate names: the row reader keeps the last one, as before
    return header


def _columns(path: Path, header: list[str], wanted: tuple[str, ...]) -> dict[str, Any]:
    """The ``wanted`` columns present in the file, as whitespace-trimmed pyarrow strings, in the
    blocks pyarrow parsed them in (chunked; never joined unless a block needs trimming)."""
    table = _read_table(path, header, wanted)
    return {c: _strip(table.column(c)) for c in table.column_names}


# Blocks of the edges file: 8 MiB, three for 1M edges. With 1 MiB (pyarrow's default) each block
# costs its own calls and lookup table of job ids: 1M edges, fastest of 12 in one process, read
# 135 ms against 121 ms (interleaved; the machine shared). In fresh processes 4, 8 and 32 MiB read
# alike (fastest of 10: 163-164 ms of CPU), 2 MiB 168 ms. pyarrow's streaming reader (open_csv)
# read as fast but was no better, so the edges go through the same serial read_csv as before.
_EDGE_BLOCK_BYTES = 8 << 20


def _blocks(path: Path, header: list[str], wanted: tuple[str, ...]) -> Iterator[Any]:
    """The ``wanted`` columns of the file as record batches, one a block of
    :data:`_EDGE_BLOCK_BYTES`, in order, as pyarrow strings (not trimmed, UTF-8 not checked:
    :func:`_strip`). The whole file is parsed before the first batch, so a file pyarrow cannot
    parse steps aside before any is used."""
    yield from _read_table(path, header, wanted, _EDGE_BLOCK_BYTES).to_batches()


def _read_table(path: Path, header: list[str], wanted: tuple[str, ...], block_size: int | None = None) -> Any:
    """The ``wanted`` columns present in the file as a pyarrow table of strings (not trimmed,
    UTF-8 not checked), parsed in blocks of ``block_size`` bytes (pyarrow's default: None);
    :class:`_Fallback` when pyarrow cannot parse it."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    cols = [c for c in wanted if c in header]
    options = pa_csv.ReadOptions(column_names=header, skip_rows=1, use_threads=False)
    if block_size is not None:
        options.block_size = block_size
    try:
        # memory-mapped: the parser reads its blocks straight from the page cache instead of
        # copying the file into fresh buffers first (a sixth less CPU for a 20 MB file). One
        # thread: with another process on one of two cores, the threaded parse waited on blocks
        # whose thread was not running (1M edges, interleaved runs of the command: read stage
        # median 0.50-0.56 s threaded against 0.31-0.37 s on one thread)
        with pa.memory_map(str(path)) as source:
            return pa_csv.read_csv(
                source,
                read_options=options,
                # UTF-8 is checked by :func:`_strip` only where a byte is not ASCII
                convert_options=pa_csv.ConvertOptions(
                    include_columns=cols, column_types=dict.fromkeys(cols, pa.string()), check_utf8=False
                ),
            )
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:  # OSError: a pipe cannot be mapped
        raise _Fallback from exc


# Raw buffers and the kernels by name only: pyarrow.compute's module functions and ``to_numpy``
# import pandas on first use when it is installed (half a second of start-up at no gain here), and
# importing pyarrow.compute at all builds a Python wrapper for each of its hundreds of functions.


def _kernel(name: str, *args: Any, options: Any = None) -> Any:
    """pyarrow's compute function ``name`` on ``args`` (arrays or chunked arrays), called through
    ``pyarrow._compute``, the kernel registry that ``pyarrow.compute`` wraps: about 20 ms less
    start-up for every ``solve`` than ``Array.cast`` / ``dictionary_encode``, same kernels."""
    from pyarrow._compute import call_function

    return call_function(name, list(args), options)


def _int64_array(values: np.ndarray) -> Any:
    """``values`` as a pyarrow int64 array on the same memory (``pa.array`` would import pandas)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), values.size, [None, pa.py_buffer(values)])


def _chunks(column: Any) -> list[Any]:
    """The arrays of a chunked column, or ``[column]`` for a plain array."""
    return list(getattr(column, "chunks", [column]))


def _array(column: Any) -> Any:
    """One contiguous pyarrow array (a copy only when the column has several blocks)."""
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _strip(column: Any) -> Any:
    """``column`` with surrounding whitespace removed, as ``str.strip``, after checking that it is
    UTF-8. A scan of each block's raw bytes skips both when every byte is printable ASCII: no byte
    can be whitespace, and ASCII is UTF-8. A block with other bytes is validated (invalid UTF-8 goes
    to the row reader, as a parse error would) and the column is then trimmed."""
    import pyarrow as pa

    dirty = False
    for chunk in _chunks(column):
        data = chunk.buffers()[2]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        if raw.size and raw.max() >= 0x80:
            try:
                chunk.validate(full=True)  # the UTF-8 check the CSV reader was told to skip
            except pa.ArrowInvalid as exc:
                raise _Fallback from exc
            dirty = True
        dirty = dirty or bool(raw.size and raw.min() <= 0x20)
    if not dirty:
        return column
    import pyarrow.compute as pc

    return pc.utf8_trim_whitespace(_array(column))


def _values(array: Any, dtype: Any) -> np.ndarray:
    """A fixed-width pyarrow array without nulls as a numpy view of its buffer."""
    if array.null_count:
        raise _Fallback
    dt = np.dtype(dtype)
    return np.frombuffer(array.buffers()[1], dtype=dt, count=len(array), offset=array.offset * dt.itemsize)


def _lengths(column: Any) -> np.ndarray:
    """Byte length of each string of ``column``."""
    offsets = np.frombuffer(
        column.buffers()[1], dtype=np.int32, count=len(column) + 1, offset=column.offset * 4
    )
    return np.diff(offsets)


def _to_numbers(column: Any, dtype: Any) -> np.ndarray:
    """The strings of ``column`` parsed as ``dtype``, block by block into one new numpy array."""
    import pyarrow as pa
    from pyarrow._compute import CastOptions

    out = np.empty(len(column), dtype=dtype.to_pandas_dtype())
    at = 0
    for chunk in _chunks(column):
        try:
            cast = _kernel("cast", chunk, options=CastOptions.safe(dtype))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise _Fallback from exc
        out[at : at + len(chunk)] = _values(cast, out.dtype)
        at += len(chunk)
    return out


class _Runs:
    """The runs of equal adjacent values of a column fed block by block (edges grouped by worker,
    the usual order): the first row of each run, from one comparison of each row with the row
    before, and its value."""

    def __init__(self) -> None:
        self.heads: list[np.ndarray] = []  # the first row of each run, block by block
        self.values: list[Any] = []  # and its value (a take from the whole column would join its blocks)
        self.rows = 0
        self.last: Any = None

    def add(self, chunk: Any) -> None:
        """The next block of the column."""
        size = len(chunk)
        if not size:
            return
        # row 0 starts a run unless it goes on with the last row of the block before
        local = np.zeros(int(self.last is None or not chunk[0].equals(self.last)), np.int64)
        if size > 1:
            change = _kernel("not_equal", chunk.slice(1), chunk.slice(0, size - 1))
            after = _values(_kernel("indices_nonzero", change), np.uint64).astype(np.int64)
            local = np.concatenate([local, after + 1])
        self.values.append(_kernel("take", chunk, _int64_array(local)))
        self.heads.append(local + self.rows)
        self.last = chunk[size - 1]
        self.rows += size

    def starts(self) -> np.ndarray:
        """The first row of each run."""
        return np.concatenate(self.heads) if self.heads else np.zeros(0, np.int64)

    def codes(self) -> tuple[np.ndarray, list[str]] | None:
        """:func:`_first_occurrence_codes` of the column fed so far; ``None`` when a value comes
        back after another one (the column needs the hash encoding)."""
        import pyarrow as pa

        if not self.heads:
            return np.zeros(0, np.int32), []
        starts = self.starts()
        names = _kernel("dictionary_encode", pa.concat_arrays(self.values)).dictionary
        if len(names) != starts.size:
            return None
        codes = np.repeat(np.arange(starts.size, dtype=np.int32), np.diff(starts, append=self.rows))
        return codes, names.to_pylist()


def _first_occurrence_codes(column: Any) -> tuple[np.ndarray, list[str]]:
    """Integer codes in order of first appearance (a new array), and the distinct values. A chunked
    column is encoded block by block against one dictionary (pyarrow gives every block the same)."""
    enc = _chunks(_kernel("dictionary_encode", column))
    if not enc:
        return np.zeros(0, np.int32), []
    names = enc[0].dictionary
    if not all(c.dictionary.equals(names) for c in enc[1:]):  # never seen; stay correct if it happens
        enc = [_kernel("dictionary_encode", _array(column))]
        names = enc[0].dictionary
    codes = np.concatenate([_values(c.indices, np.int32) for c in enc])
    return codes, names.to_pylist()


def _string_array(values: list[str]) -> Any:
    """``values`` as a pyarrow string array, built from its buffers: ``pa.array`` of a list imports
    pandas when it is installed."""
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)))


def _capacities_columnar(path: Path) -> Capacities:
    import pyarrow as pa

    header = _header(path, CAPACITY_FIELDS)
    cols = {c: _array(v) for c, v in _columns(path, header, CAPACITY_FIELDS + ENTERPRISE_FIELDS).items()}
    jobs = cols["job_id"]
    n = len(jobs)
    if (_lengths(jobs) == 0).any() or len(_first_occurrence_codes(jobs)[1]) != n:
        raise _Fallback
    openings = _to_numbers(cols["openings"], pa.int64())
    if (openings < 0).any():
        raise _Fallback
    job_ent = np.full(n, -1, np.int32)
    ent_ids: list[str] = []
    ent_cap = np.zeros(0, np.int64)
    ent = cols.get("enterprise_id")
    if ent is not None:
        has = _lengths(ent) > 0
        raw = cols["enterprise_capacity"].to_pylist() if "enterprise_capacity" in cols else [""] * n
        given = np.array([bool(r) for r in raw], dtype=bool) & has
        cap = np.full(n, -1, np.int64)
        # Python's int, as the row reader; at most one value per job (pa.array of a list would
        # import pandas)
        if given.any():
            try:
                cap[given] = [int(raw[i]) for i in np.flatnonzero(given).tolist()]
            except ValueError as exc:
                raise _Fallback from exc
        if (cap < -1).any():
            raise _Fallback
        codes_all, names = _first_occurrence_codes(ent)
        rows = np.flatnonzero(has)
        # renumber without the empty id, keeping the order of first appearance
        keep = np.array([bool(x) for x in names], dtype=bool)
        renum = np.cumsum(keep) - 1
        ent_ids = [x for x in names if x]
        codes = renum[codes_all[rows]].astype(np.int32)
        first = np.full(len(ent_ids), -1, np.int64)
        first[codes[::-1]] = rows[::-1]  # the earliest row of each enterprise wins
        ent_cap = cap[first]
        # a later row that states a capacity must state the first row's
        if (given[rows] & (cap[rows] != ent_cap[codes])).any():
            raise _Fallback
        job_ent[rows] = codes
    return Capacities(jobs.to_pylist(), openings, job_ent, ent_ids, ent_cap)


def _edges_columnar(path: Path, job_ids: list[str]) -> Edges:
    import pyarrow as pa
    from pyarrow._compute import CastOptions, SetLookupOptions

    header = _header(path, EDGE_FIELDS)
    lookup = SetLookupOptions(_string_array(job_ids))
    to_float = CastOptions.safe(pa.float64())
    runs = _Runs()
    workers: list[Any] = []
    jobs: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    texts: list[Any] = []
    # block by block: a block's ids and scores go straight from its arrays into numpy
    for batch in _blocks(path, header, EDGE_FIELDS):
        worker, job, text = (_strip(batch.column(c)) for c in EDGE_FIELDS)
        runs.add(worker)
        workers.append(worker)
        jobs.append(_values(_kernel("index_in", job, options=lookup), np.int32))  # unknown job: null
        try:
            score = _values(_kernel("cast", text, options=to_float), np.float64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise _Fallback from exc
        # NaN fails both comparisons; two reductions and no temporary array of flags
        if score.size and not (score.min() >= 0 and score.max() < math.inf):
            raise _Fallback
        scores.append(score)
        texts.append(text)
    ej = np.concatenate(jobs) if jobs else np.zeros(0, np.int32)
    grouped = runs.codes()
    if grouped is not None:  # workers numbered in order; sorted by job within each is the usual order
        worker, worker_ids = grouped
        ascending = ej[1:] > ej[:-1]
        ascending[runs.starts()[1:] - 1] = True  # a new worker: any job
        in_order = bool(ascending.all())
    else:
        worker, worker_ids = _first_occurrence_codes(pa.chunked_array(workers, pa.string()))
        in_order = False
    if "" in worker_ids:
        raise _Fallback
    if not in_order and _has_duplicate(worker, ej, len(job_ids)):
        raise _Fallback
    score_all = np.concatenate(scores) if scores else np.zeros(0, np.float64)
    return Edges(worker_ids, worker, ej, score_all, pa.chunked_array(texts, pa.string()))


def _has_duplicate(worker: np.ndarray, job: np.ndarray, n_jobs: int) -> bool:
    """Whether a (worker, job) pair is there twice."""
    key = worker.astype(np.int64)  # in place from here: one array of 8 bytes an edge, not three
    key *= max(n_jobs, 1)
    key += job
    if (key[1:] > key[:-1]).all():  # sorted already
        return False
    key.sort()
    return bool((key[1:] == key[:-1]).any())


# --- row path (exact errors) ----------------------------------------------------------------


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row_number, dict)``; the header is row 1."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise _input_error(f"cannot open: {exc.strerror}", path) from exc
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [f for f in required if f not in header]
            if missing:
                raise _input_error(f"missing column(s) {', '.join(missing)}", path, row=1)
            reader.fieldnames = header
            for n, row in enumerate(reader, start=2):
                yield n, {k: (v or "").strip() for k, v in row.items() if k is not None}
        except UnicodeDecodeError as exc:
            raise _not_utf8(path) from exc


def _not_utf8(path: Path) -> Exception:
    """The error of a file that is not UTF-8 text, at the line of its first bad byte (the decoder
    reads ahead, so the line is found in the bytes themselves)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = f"not valid UTF-8 at byte {exc.start:,} ({exc.reason}); save it as UTF-8"
        return _input_error(reason, path, line)
    return _input_error("not valid UTF-8; save it as UTF-8", path)


def read_capacities_rows(path: Path) -> Capacities:
    """The capacities file, row by row; raises the first bad row's error."""
    job_ids: dict[str, int] = {}
    openings: list[int] = []
    ent_ids: dict[str, int] = {}
    ent_cap: list[int] = []
    job_ent: list[int] = []
    for n, row in _rows(path, CAPACITY_FIELDS):
        job = row["job_id"]
        if not job:
            raise _input_error("empty job_id", path, n, "job_id")
        if job in job_ids:
            raise _input_error(f"duplicate job_id {job!r}", path, n, "job_id")
        try:
            value = int(row["openings"])
        except ValueError:
            raise _input_error(
                f"openings {row['openings']!r} is not an integer", path, n, "openings"
            ) from None
        if value < 0:
            raise _input_error(f"openings {value} is negative", path, n, "openings")
        ent = row.get("enterprise_id", "")
        if ent:
            raw = row.get("enterprise_capacity", "")
            try:
                cap = int(raw) if raw else -1
            except ValueError:
                raise _input_error(
                    f"enterprise_capacity {raw!r} is not an integer", path, n, "enterprise_capacity"
                ) from None
            if cap < -1:
                raise _input_error(f"enterprise_capacity {cap} is negative", path, n, "enterprise_capacity")
            if ent not in ent_ids:
                ent_ids[ent] = len(ent_cap)
                ent_cap.append(cap)
            elif raw and ent_cap[ent_ids[ent]] != cap:
                raise _input_error(
                    f"enterprise {ent!r} has capacity {ent_cap[ent_ids[ent]]} on an earlier row",
                    path,
                    n,
                    "enterprise_capacity",
                )
        job_ids[job] = len(openings)
        openings.append(value)
        job_ent.append(ent_ids[ent] if ent else -1)
    return Capacities(
        list(job_ids),
        np.array(openings, np.int64),
        np.array(job_ent, np.int32),
        list(ent_ids),
        np.array(ent_cap, np.int64),
    )


def read_edges_rows(path: Path, job_ids: list[str]) -> Edges:
    """The edges file, row by row; raises the first bad row's error."""
    job_index = {j: i for i, j in enumerate(job_ids)}
    worker_ids: dict[str, int] = {}
    ew: list[int] = []
    ej: list[int] = []
    es: list[float] = []
    text: list[str] = []
    seen: dict[tuple[int, int], int] = {}
    for n, row in _rows(path, EDGE_FIELDS):
        worker, job = row["worker_id"], row["job_id"]
        if not worker:
            raise _input_error("empty worker_id", path, n, "worker_id")
        if job not in job_index:
            raise _input_error(f"job_id {job!r} is not in the capacities file", path, n, "job_id")
        try:
            score = float(row["score"])
        except ValueError:
            raise _input_error(f"score {row['score']!r} is not a number", path, n, "score") from None
        if not math.isfinite(score) or score < 0:
            raise _input_error(f"score {score} must be finite and >= 0", path, n, "score")
        w = worker_ids.setdefault(worker, len(worker_ids))
        pair = (w, job_index[job])
        if pair in seen:
            raise _input_error(
                f"duplicate edge ({worker!r}, {job!r}), first on row {seen[pair]}", path, n, "job_id"
            )
        seen[pair] = n
        ew.append(w)
        ej.append(pair[1])
        es.append(score)
        text.append(row["score"])
    import pyarrow as pa

    return Edges(
        list(worker_ids),
        np.array(ew, np.int32),
        np.array(ej, np.int32),
        np.array(es, np.float64),
        pa.array(text, pa.string()),
    )


def read_solve_inputs(edges: Path, capacities: Path) -> tuple[Edges, Capacities]:
    """Both files, columnar where they are clean (module docstring)."""
    try:
        caps = _capacities_columnar(capacities)
    except _Fallback:
        caps = read_capacities_rows(capacities)
    try:
        found = _edges_columnar(edges, caps.job_ids)
    except _Fallback:
        found = read_edges_rows(edges, caps.job_ids)
    return found, caps


__all__ = [
    "Capacities",
    "Edges",
    "read_capacities_rows",
    "read_edges_rows",
    "read_solve_inputs",
]
