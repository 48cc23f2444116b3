import os
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"

# Unit and service tests never touch a developer's var/ directory or demo secrets.
os.environ.setdefault("RAC_ENV", "test")
# Services started by tests (nameko containers, test platforms) run their scheduled jobs only
# where a test asks for it (tests/integration/test_scheduled_jobs.py): jobs running by
# themselves at the real date would change what the other tests assert.
os.environ.setdefault("SCHEDULER_ENABLED", "false")


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS
