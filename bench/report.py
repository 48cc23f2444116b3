"""The table of ``make bench``: one row per measurement, next to its bare counterpart."""

from __future__ import annotations

import os
import platform as py_platform
import sys
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path


@dataclass
class Row:
    measurement: str
    platform: str
    bare: str
    ratio: float | None = None
    ratio_of: str = ""  # what the ratio divides, e.g. "req/s ÷ bare req/s"
    target: str = "(information)"
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio_text(self) -> str:
        if self.ratio is None:
            return "—"
        return f"{self.ratio:.2f}× ({self.ratio_of})" if self.ratio_of else f"{self.ratio:.2f}×"

    @property
    def met_text(self) -> str:
        return {True: "yes", False: "**no**", None: "—"}[self.met]


def failed(measurement: str, error: BaseException) -> Row:
    message = " ".join(str(error).split())[:300]
    return Row(measurement, f"failed: {type(error).__name__}: {message}", "—", met=False)


def number(value: float, digits: int = 0) -> str:
    """1 234 / 1 234.5 with a thin space for thousands, readable in a terminal and Markdown."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", " ")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return py_platform.processor() or "unknown CPU"


def machine(started: datetime) -> dict:
    versions = []
    for package in ("nameko", "eventlet", "kombu", "SQLAlchemy", "weasyprint"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "date": started.strftime("%Y-%m-%d %H:%M %Z").strip(),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "python": sys.version.split()[0],
        "versions": ", ".join(versions),
        "load": f"{load[0]:.1f}",
    }


def table(rows: list[Row]) -> str:
    header = ["Measurement", "Platform", "Bare", "Ratio", "Target", "Met"]
    cells = [[r.measurement, r.platform, r.bare, r.ratio_text, r.target, r.met_text] for r in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def render(line: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(header), separator, *(render(c) for c in cells)])


def markdown(rows: list[Row], info: dict, settings: str, elapsed: float) -> str:
    notes = [f"- **{r.measurement}**: {' '.join(r.notes)}" for r in rows if r.notes]
    return "\n".join(
        [
            "# Benchmarks: the platform next to the bare stack",
            "",
            f"Run of `make bench` on {info['date']}, {elapsed / 60:.1f} minutes. Machine: "
            f"{info['cores']} cores, {info['cpu']}, Python {info['python']} "
            f"({info['versions']}); load average {info['load']} when it started (other "
            "work shares the machine: absolute figures move from run to run, the ratios "
            "are measured in the same run).",
            "",
            table(rows),
            "",
            f"Settings: {settings}.",
            "",
            "How each row is measured:",
            "",
            *notes,
            "",
        ]
    )
