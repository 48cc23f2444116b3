"""The measuring processes of ``bench.pdf`` (kept free of other imports: their peak memory
is part of the result).

``python -m bench.pdf_child platform|bare WORKDIR RUNS`` prints one JSON line: wall and CPU
seconds of each render, and the peak RSS of the process that rendered.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak RSS (``VmHWM``). Not ``ru_maxrss``: Linux carries that over
    ``exec`` from the process that spawned this one, whose memory it would then report."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def renderer_cpu(renderer) -> float:
    """CPU seconds of the renderer process and of its reaped children (``/proc`` stat)."""
    if renderer is None:  # the fallback: one fresh process per document, reaped by us
        return cpu(resource.RUSAGE_CHILDREN)
    fields = Path(f"/proc/{renderer.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def main(mode: str, workdir: Path, runs: int) -> dict:
    wall, cpu_seconds, peaks = [], [], []
    if mode == "platform":  # the plans service's code: template, then the sandboxed renderer
        import pickle

        from rac_shared import pdf as renderer_module
        from services.plans import document

        view, estimate_html = pickle.loads((workdir / "plan.pickle").read_bytes())
        document.render_plan_pdf(view, estimate_html)  # starts the process's renderer (once)
        renderer = renderer_module._current
        time.sleep(0.3)  # that document's child reaped: its CPU is not the first run's
        for _ in range(runs):
            started, before = time.perf_counter(), cpu(resource.RUSAGE_SELF)
            renderer_before = renderer_cpu(renderer)
            pdf = document.render_plan_pdf(view, estimate_html)
            wall.append(time.perf_counter() - started)
            own = cpu(resource.RUSAGE_SELF) - before
            time.sleep(0.3)  # the renderer reaps the document's child: its CPU counts then
            cpu_seconds.append(own + renderer_cpu(renderer) - renderer_before)
        if renderer is not None:
            renderer.stop()  # waited for: its and its children's peak memory become visible
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        own = peak_rss_mb()  # a child's ru_maxrss is at least this (see peak_rss_mb)
        if peak <= own * 1.05:
            raise RuntimeError(f"children's peak {peak:.0f} MB hidden by this process's {own:.0f}")
    else:  # WeasyPrint in this process, on the same HTML
        import logging

        from weasyprint import CSS, HTML

        from rac_shared.pdf import DOCUMENT_CSS, PDF_VARIANT

        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        html = (workdir / "plan.html").read_text()
        for _ in range(runs):
            started, before = time.perf_counter(), cpu(resource.RUSAGE_SELF)
            # The same document: tagged PDF/UA-1 with the print stylesheet, as the platform's
            pdf = HTML(string=html).write_pdf(
                stylesheets=[CSS(string=DOCUMENT_CSS)], pdf_variant=PDF_VARIANT
            )
            wall.append(time.perf_counter() - started)
            cpu_seconds.append(cpu(resource.RUSAGE_SELF) - before)
            peaks.append(peak_rss_mb())
        peak = peak_rss_mb()
    (workdir / f"{mode}.pdf").write_bytes(pdf)
    return {"wall": wall, "cpu": cpu_seconds, "peak_rss_mb": peak, "peaks_mb": peaks}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))
