"""The architecture, checked: what may live where, and no import cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "localrun"
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b|\.execute\(")
FAMILIES = re.compile(r"cloudrun|rescale|wherobots|sharedcloud", re.IGNORECASE)


def sources() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def module_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The localrun modules a module imports at its top level."""
    deps = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("localrun"):
            assert node.module is not None
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                deps.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            deps |= {a.name for a in node.names if a.name.startswith("localrun")}
    return {d for d in deps if d in known}


def offenders(pattern: re.Pattern[str], allowed: tuple[str, ...]) -> list[str]:
    return [
        f"{name}: {match.group(0)}"
        for name, path in sources().items()
        if not name.startswith(allowed)
        for match in [pattern.search(path.read_text())]
        if match
    ]


def test_there_are_no_import_cycles() -> None:
    known = sources()
    graph = {name: module_imports(path, known) - {name} for name, path in known.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, " -> ".join([*path[path.index(name) :], name])
        if name in done:
            return
        for dep in graph[name]:
            visit(dep, [*path, name])
        done.add(name)

    for name in graph:
        visit(name, [])


def test_sql_is_only_in_the_store() -> None:
    assert offenders(SQL, ("localrun.store",)) == []


def test_processes_are_only_the_executors_the_simulators_and_the_daemons_own() -> None:
    # localrun.daemon_process starts the daemon itself (for serve --detach and the test double,
    # whose localrun.testing names its Popen's type); no run's process starts there.
    imports = re.compile(r"^\s*(import|from) (psutil|subprocess)\b", re.MULTILINE)
    allowed = (
        "localrun.executor",
        "localrun.wrf.sim",
        "localrun.daemon_process",
        "localrun.testing",
    )
    assert offenders(imports, allowed) == []


def test_wire_families_are_named_only_in_api_and_app() -> None:
    # A family's mount point is a setting; the test double configures each family's client.
    allowed = ("localrun.api", "localrun.app", "localrun.config", "localrun.testing")
    assert offenders(FAMILIES, allowed) == []


def test_every_app_key_is_in_one_module() -> None:
    assert offenders(re.compile(r"web\.AppKey\("), ("localrun.api.keys",)) == []
