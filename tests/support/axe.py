"""axe-core, Deque's accessibility engine, from npm: fetched once into ``.cache/`` (not
committed; ``make test`` and the first browser test that needs it fetch it), pinned here."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

AXE_VERSION = "4.14.1"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"axe-core-{AXE_VERSION}"
AXE_JS = CACHE / "axe.min.js"
# What must be zero on every page (axe's impacts: minor, moderate, serious, critical).
BLOCKING = ("serious", "critical")


def axe_script() -> Path:
    """The path of axe.min.js, fetched with ``npm pack`` the first time."""
    if not AXE_JS.is_file():
        with tempfile.TemporaryDirectory() as work:
            subprocess.run(
                ["npm", "pack", "--silent", f"axe-core@{AXE_VERSION}"],
                cwd=work,
                check=True,
                capture_output=True,
            )
            (tarball,) = Path(work).glob("axe-core-*.tgz")
            with tarfile.open(tarball) as archive:
                member = archive.extractfile("package/axe.min.js")
                CACHE.mkdir(parents=True, exist_ok=True)
                AXE_JS.write_bytes(member.read())
    return AXE_JS


if __name__ == "__main__":
    print(axe_script())
