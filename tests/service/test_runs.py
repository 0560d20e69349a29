"""The start path of service/runs.py: the pre-start check is made when a run becomes ready and
reused by its start while the inputs stay the same."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun.errors import Invalid
from localrun.service import Service
from localrun.service.runs import CaseChecks, folder_signature
from tests.conftest import EXAMPLE


async def data(blob: bytes) -> AsyncIterator[bytes]:
    yield blob


async def ready_run(service: Service, cores: int = 2) -> str:
    run = await service.create_run("a", "localrun", cores=cores)
    for name in ("namelist.input", "wrfinput_d01"):
        await service.upload_input("a", run.id, name, data((EXAMPLE / name).read_bytes()))
    assert (await service.get_run("a", run.id)).state == "ready"
    service.supervisor.held.add(run.id)  # queued, never launched: only the start is looked at
    return run.id


async def test_the_check_made_at_ready_time_serves_the_start(service: Service) -> None:
    run_id = await ready_run(service)
    checked = service.case_checks.computed
    assert checked >= 1
    run = await service.start("a", run_id, cores=2)
    assert run.state == "queued"
    assert service.case_checks.computed == checked
    await service.stop("a", run_id)


async def test_other_cores_are_checked_at_start(service: Service) -> None:
    run_id = await ready_run(service)
    checked = service.case_checks.computed
    await service.start("a", run_id, cores=1)
    assert service.case_checks.computed == checked + 1
    await service.stop("a", run_id)


async def test_an_input_changed_after_ready_is_checked_again(service: Service) -> None:
    run_id = await ready_run(service)
    text = (EXAMPLE / "namelist.input").read_text()
    bad = text.replace("= 62,    43,    43,", "= 63,    43,    43,", 1)
    assert bad != text
    # written in place, as a person on the host might: same inode, new size and times
    (service.paths(run_id).input / "namelist.input").write_text(bad)
    with pytest.raises(Invalid, match="SIZE MISMATCH") as caught:
        await service.start("a", run_id, cores=2)
    assert caught.value.code == "size_mismatch"
    assert (await service.get_run("a", run_id)).state == "ready"


def test_case_checks_key_on_the_inputs_as_they_are(tmp_path: Path) -> None:
    inputs = tmp_path / "input"
    inputs.mkdir()
    for name in ("namelist.input", "wrfinput_d01"):
        (inputs / name).write_bytes((EXAMPLE / name).read_bytes())
    checks = CaseChecks()
    assert checks.problems(inputs, 2, None) == []
    assert checks.problems(inputs, 2, None) == []
    assert checks.computed == 1
    checks.problems(inputs, 1, None)
    checks.problems(inputs, 2, "ideal")
    assert checks.computed == 3
    wrfinput = inputs / "wrfinput_d01"
    info = wrfinput.stat()
    os.utime(wrfinput, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
    checks.problems(inputs, 2, None)
    assert checks.computed == 4
    (inputs / "wrfinput_d01").unlink()
    missing = checks.problems(inputs, 2, None)
    assert [p.code for p in missing] == ["missing_input"]
    assert checks.computed == 5


def test_case_checks_keep_the_most_recent(tmp_path: Path) -> None:
    checks = CaseChecks(kept=2)
    folders = []
    for index in range(3):
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / "namelist.input").write_bytes((EXAMPLE / "namelist.input").read_bytes())
        folders.append(folder)
        checks.problems(folder, 1, None)
    checks.problems(folders[2], 1, None)
    assert checks.computed == 3
    checks.problems(folders[0], 1, None)  # dropped as the least recently used
    assert checks.computed == 4


def test_a_folder_signature_changes_with_any_entry(tmp_path: Path) -> None:
    before = folder_signature(tmp_path)
    (tmp_path / "a").write_text("1")
    one = folder_signature(tmp_path)
    assert one != before
    (tmp_path / "b.tmp").write_text("22")
    (tmp_path / "b.tmp").replace(tmp_path / "a")  # same name, another inode
    assert folder_signature(tmp_path) != one
