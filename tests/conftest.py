import os
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"

# Unit and service tests never touch a developer's var/ directory or demo secrets.
os.environ.setdefault("RAC_ENV", "test")


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS
