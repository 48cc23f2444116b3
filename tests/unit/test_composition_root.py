"""The layering the composition root exists for: ``rac`` knows every service, the services
know only ``rac_shared``, and ``rac_shared`` knows none of them.

Checked on the source (every ``import`` and ``from … import`` statement, at any depth in a
module, functions included), so a lazy import inside a function counts as much as one at
the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rac import registry
from rac.demo import demo_steps
from rac_shared.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("applications", "scoring", "plans", "billing", "notifications")


def imported_modules(package: Path) -> list[tuple[str, str]]:
    """(file, imported module) for every import statement under ``package``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if "versions" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


def pointing_at(package: Path, prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (file, module)
        for file, module in imported_modules(package)
        if any(module == p or module.startswith(p + ".") for p in prefixes)
    ]


def test_the_shared_package_imports_no_service_no_gateway_and_not_the_root():
    assert pointing_at(ROOT / "rac_shared", ("services", "gateway", "rac")) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service_nor_the_gateway_nor_the_root(service):
    others = tuple(f"services.{s}" for s in SERVICES if s != service)
    assert pointing_at(ROOT / "services" / service, (*others, "gateway", "rac")) == []


def test_the_gateway_imports_no_service_and_not_the_root():
    assert pointing_at(ROOT / "gateway", ("services", "rac")) == []


def test_every_service_declares_itself_once_with_what_the_root_needs():
    manifests = registry.services()
    assert tuple(sorted(manifests)) == tuple(sorted(SERVICE_NAMES))
    for name, manifest in manifests.items():
        assert manifest.load_class().name == name
        assert (manifest.migrations / "env.py").is_file()
        assert "outbox" in manifest.metadata.tables
        for job in manifest.scheduled_jobs():
            assert job.service == name


def test_job_names_are_unique_across_services():
    names = [job.name for m in registry.services().values() for job in m.scheduled_jobs()]
    assert len(names) == len(set(names))


def test_demo_steps_run_after_the_steps_whose_values_they_read():
    steps = demo_steps()
    names = [step.name for step in steps]
    assert len(names) == len(set(names))
    for position, step in enumerate(steps):
        assert set(step.needs) <= set(names[:position]), step.name
    assert names[0] == "directory"
