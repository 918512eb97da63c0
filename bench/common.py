"""What every benchmark shares: timing statistics, machine info, writing results and plots."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
MODELS = ROOT.parent / ".cache" / "bench-models"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank: robust and needs no interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
        "min": min(values),
        "n": len(values),
    }


def fmean(values: Sequence[float]) -> float:
    return statistics.fmean(values)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """Where the numbers come from: they only compare within one run on one machine."""
    import torch

    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    return {
        "cpu_count": cpus,
        "cpus_usable": usable,
        "cpu": _cpu_name(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "transformers": _version("transformers"),
        "llguidance": _version("llguidance"),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


class Timer:
    """Wall time of a block, `t.s`, and the CPU time its thread spent, `t.cpu`, in seconds.

    On a shared machine the CPU time is the steadier number: waiting for a core is not in it.
    """

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.cpu_start = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = time.perf_counter() - self.start
        self.cpu = time.thread_time() - self.cpu_start


def write(name: str, data: dict[str, Any], figure: Any | None = None) -> Path:
    """bench/results/NAME.json (with machine info and the time of the run), and NAME.png."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    if figure is not None:
        figure.savefig(RESULTS / f"{name}.png", dpi=90, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(figure)
    return path


def panels(n: int, width: float, height: float, columns: int = 3) -> tuple[Any, list[Any]]:
    """A figure of `n` panels in rows of at most `columns` (one long row is unreadable at
    page width); spare cells of the last row are hidden."""
    plt = pyplot()
    cols = max(1, min(n, columns))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def pyplot():
    """matplotlib with the file-only backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def log(message: str) -> None:
    print(message, flush=True)
