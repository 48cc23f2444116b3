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


# -- the demo: each service seeds its own tables, and reaches the others by their entrypoints --

DEMO_PACKAGES = {**{s: f"services.{s}" for s in SERVICES}, "gateway": "gateway"}


def demo_references(path: Path, own: str) -> list[str]:
    """What a demo module names of another service: an import (absolute or relative, at
    any depth), a ``"package.module"`` string (``resolve``, ``import_module``), or a
    ``SessionFactory`` opened on another service's database."""
    found = []
    others = {name: package for name, package in DEMO_PACKAGES.items() if name != own}
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved from the module's own package
                parts = DEMO_PACKAGES[own].split(".")
                base = parts[: len(parts) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value.partition(":")[0]]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "SessionFactory"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value != own
        ):
            found.append(f"SessionFactory({node.args[0].value!r})")
        found += [
            name
            for name in names
            for package in others.values()
            if name == package or name.startswith(package + ".")
        ]
    return found


@pytest.mark.parametrize("service", sorted(DEMO_PACKAGES))
def test_a_demo_names_no_other_service_nor_opens_its_database(service):
    path = ROOT / Path(*DEMO_PACKAGES[service].split(".")) / "demo.py"
    if not path.exists():  # then it has no demo step either
        assert registry.service(service).demo == ()
        return
    assert demo_references(path, service) == []


def test_the_demo_reference_check_catches_a_demo_reaching_into_another_service(tmp_path):
    sneaky = tmp_path / "demo.py"
    sneaky.write_text(
        "from services.billing.models import Invoice\n"
        "from services.plans.models import Plan\n"
        "def seed(context):\n"
        "    from ..billing import models\n"
        "    resolve('services.scoring.models:Cerac')\n"
        "    SessionFactory('applications', None)\n"
        "    SessionFactory('plans', None)\n"
    )
    assert sorted(demo_references(sneaky, "plans")) == [
        "SessionFactory('applications')",
        "services.billing",
        "services.billing.models",
        "services.scoring.models",
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_files_for_the_same_things(service):
    """``service.py``, ``models.py``, ``manifest.py``, ``access.py`` and ``jobs.py`` (named
    by the manifest) in every service; ``demo.py`` when it declares demo
    steps; settings only through a ``config.py`` on pydantic-settings, never ``os.environ``
    read at call time."""
    package = ROOT / "services" / service
    manifest = registry.service(service)
    for name in ("service.py", "models.py", "manifest.py", "access.py"):
        assert (package / name).is_file(), name
    assert (package / "jobs.py").is_file() and manifest.jobs == f"services.{service}.jobs"
    assert (package / "demo.py").is_file() == bool(manifest.demo)
    reading_environment = [
        str(path.relative_to(ROOT))
        for path in package.rglob("*.py")
        if "os.environ" in path.read_text() or "getenv(" in path.read_text()
    ]
    assert reading_environment == []
    config = package / "config.py"
    if config.is_file():
        assert "pydantic_settings" in config.read_text()


@pytest.mark.parametrize("package", [*(f"services/{s}" for s in SERVICES), "gateway"])
def test_a_package_declares_its_scheduled_jobs_in_its_jobs_py_only(package):
    """One naming scheme: every package has a ``jobs.py`` that its manifest names (each
    outbox is purged by a job of its own), and its scheduled jobs and the code they run
    live there (no ``report_jobs.py``, ``deadline_job.py`` beside it)."""
    root = ROOT / package
    job_modules = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "job" in path.stem and "versions" not in path.parts
    )
    declaring = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "versions" not in path.parts
        and any(
            isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ScheduledJob"
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        )
    )
    manifest = registry.service(root.name)
    assert manifest.jobs == package.replace("/", ".") + ".jobs"
    assert manifest.scheduled_jobs()  # at least the purge of its published events
    assert job_modules == ["jobs.py"]
    assert declaring in ([], ["jobs.py"])  # [] when all its jobs are shared ones
