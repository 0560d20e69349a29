"""Handler runs: the parameters literal, the runner's command, a job of calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import localrun
from localrun.errors import NotFound
from localrun.runs import Job, Run, State
from localrun.service import Service
from localrun.service.accounts import FieldInvalid
from localrun.service.handlers import MAX_CALLS, PARAMETERS_LIMIT, parse_parameters, runner_command
from tests.conftest import EXAMPLE
from tests.polling import eventually


def test_parameters_are_tuples_of_a_literal() -> None:
    assert parse_parameters("((1,),(2,),(3,))") == [(1,), (2,), (3,)]
    assert parse_parameters(" [(512, 0.2, 'a', None, True, -1j)] ") == [
        (512, 0.2, "a", None, True, -1j)
    ]
    assert parse_parameters("(((1, 2), {'k': [3]}),)") == [((1, 2), {"k": [3]})]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "((1,),",
        "__import__('os').system('true')",
        "print(1)",
        "((1,),) + ((2,),)",
        "(1, 2)",
        "()",
        "[]",
        "'((1,),)'",
        "((x,),)",
        "(lambda: 1,)",
        "(" * 500 + ")" * 500,
        "((" + "9" * 5000 + ",),)",
        "(" + "(1,)," * (MAX_CALLS + 1) + ")",
        "((1,),)" + " " * PARAMETERS_LIMIT,
    ],
)
def test_bad_parameters(text: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        parse_parameters(text)
    assert refused.value.field == "parameters"


@pytest.mark.parametrize(
    "text",
    [
        "((1e999,),)",  # inf: its repr, inf, is no literal
        "((-1e999,),)",
        "((1e999j,),)",
        "(([1, {'k': 1e400}],),)",
        "((0x" + "f" * 5000 + ",),)",  # an int too long to write in decimal
    ],
)
def test_values_a_job_could_not_read_back_are_refused(text: str) -> None:
    """Each job reads its tuple back from repr(tuple): what does not survive that is refused
    here, not failed in every job (or answered 500)."""
    with pytest.raises(FieldInvalid) as refused:
        parse_parameters(text)
    assert refused.value.field == "parameters"
    assert "tuple 1 " in refused.value.message


@pytest.mark.parametrize(
    "text", ["__import__('os').system('true')", "((x,),)", "((1,),) + ((2,),)", "(1 if 1 else 2,)"]
)
def test_code_is_refused_in_plain_words(text: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        parse_parameters(text)
    message = refused.value.message
    assert "object at 0x" not in message and "<ast." not in message
    assert "names, calls or operators" in message


def test_the_runner_is_the_daemons_python() -> None:
    command = runner_command()
    assert command.startswith('export LOCALRUN_STORE="$(cd .. && pwd)/input/.store"; ')
    assert f"export PYTHONPATH={Path(localrun.__file__).resolve().parents[1]}; " in command
    assert " -u -m localrun.handlers.runner function.py event.txt " in command


async def test_a_job_of_calls(service: Service) -> None:
    code = "def handler(event):\n    print('hi', event)\n    return sum(event)\n"
    function = await service.create_function("alice", name="add", image="i", code=code)
    job, calls = await service.create_handler_job(
        "alice", "family", function_id=function["id"], parameters="((1, 2), (3, 4))", spec={}
    )
    assert job.size == 2 and [c.job_index for c in calls] == [1, 2]
    assert all(c.cores == 1 and c.walltime_s == service.settings.handler_timeout_s for c in calls)
    assert job.spec["function_name"] == "add" and job.spec["parameters"] == "((1, 2), (3, 4))"
    assert await service.function_runs("alice", function["id"]) == 1

    async def ended() -> list[Run] | None:
        runs = await service.job_runs("alice", job.id)
        return runs if all(r.terminal for r in runs) else None

    runs = await eventually(ended, timeout=60)
    assert [r.state for r in runs] == [State.SUCCEEDED, State.SUCCEEDED]
    outputs = [await service.handler_output(r) for r in runs]
    assert [o["result"] for o in outputs] == ["3", "7"]
    assert [o["stdout"] for o in outputs] == ["hi (1, 2)\n", "hi (3, 4)\n"]
    await service.remove_job("alice", job.id)
    with pytest.raises(Exception, match="no job"):
        await service.remove_job("alice", job.id)


async def test_nothing_is_left_when_the_function_is_not_the_owners(service: Service) -> None:
    function = await service.create_function("alice", name="f", image="i", code="handler = 1")
    with pytest.raises(FieldInvalid) as refused:
        await service.create_handler_job(
            "bob", "family", function_id=function["id"], parameters="((1,),)", spec={}
        )
    assert refused.value.field == "function"
    assert await service.list_runs("bob") == [] and await service.list_jobs("bob", "family") == []


async def test_a_call_runs_a_case_from_the_owners_store(service: Service) -> None:
    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    for name in ("namelist.input", "wrfinput_d01"):
        await service.put_object(
            "alice", f"cases/mine/{name}", chunks((EXAMPLE / name).read_bytes())
        )
    code = (
        "import os\nfrom localrun.handlers import run_case\n\n"
        "def handler(event):\n"
        "    case = os.path.join(os.environ['LOCALRUN_STORE'], 'cases', 'mine')\n"
        "    return run_case({'run_minutes': event[0]}, case=case, directory='here')['steps']\n"
    )
    function = await service.create_function("alice", name="case", image="i", code=code)
    _, [call] = await service.create_handler_job(
        "alice", "family", function_id=function["id"], parameters="((2,),)", spec={}
    )

    async def ended() -> Run | None:
        run = await service.get_run("alice", call.id)
        return run if run.terminal else None

    run = await eventually(ended, timeout=60)
    output = await service.handler_output(run)
    assert run.state == State.SUCCEEDED, output
    assert output["result"] is not None and "'count': 10" in output["result"]  # 2 min at 12 s


async def test_a_job_whose_creation_was_cut_short_is_rolled_back(service: Service) -> None:
    """What a daemon killed inside create_handler_job leaves (a job with runs still ready, or
    fewer runs than tuples) is removed the first time its owner is settled: the client never
    got its 201, so nothing of it stays. A whole job, and one being made now, are kept."""
    code = "def handler(event):\n    return event\n"
    function = await service.create_function("alice", name="f", image="i", code=code)
    whole, _ = await service.create_handler_job(
        "alice", "family", function_id=function["id"], parameters="((0,),)", spec={}
    )
    spec = {"function": function["id"], "function_name": "f", "parameters": "((1,),(2,),(3,))"}
    cut = await service.store.insert_job(Job("cut-1", "alice", "family", "f", spec, 1.0, 3))
    made = [
        await service.create_run(
            "alice",
            "family",
            model="python",
            cores=1,
            kind="shell",
            command="sleep 60",
            job=(cut.id, index),
        )
        for index in (1, 2)
    ]
    await service.start("alice", made[0].id)
    await eventually(lambda: _state(service, made[0].id, State.RUNNING), timeout=30)
    short = await service.store.insert_job(Job("cut-2", "alice", "family", "f", spec, 2.0, 3))

    await service.settle_interrupted_jobs("alice", "family")
    assert [j.id for j in await service.list_jobs("alice", "family")] == [whole.id]
    for run in made:
        assert await service.store.get_run(run.id) is None
        assert not service.paths(run.id).root.exists()
    assert await service.store.get_job(short.id) is None
    assert [r.state for r in await service.job_runs("alice", whole.id)] != []


async def test_a_job_being_made_is_not_settled(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = await service.create_function("alice", name="f", image="i", code="handler = 1")
    started = service.start
    gate = asyncio.Event()

    async def slow_start(owner: str, run_id: str) -> Run:
        await gate.wait()
        return await started(owner, run_id)

    monkeypatch.setattr(service, "start", slow_start)
    making = asyncio.create_task(
        service.create_handler_job(
            "alice", "family", function_id=function["id"], parameters="((1,),(2,))", spec={}
        )
    )
    [job] = await eventually(lambda: _jobs(service), timeout=30)
    await service.settle_interrupted_jobs("alice", "family")
    assert [j.id for j in await service.list_jobs("alice", "family")] == [job.id]
    gate.set()
    made, runs = await making
    assert made.id == job.id and len(runs) == 2


async def _state(service: Service, run_id: str, state: State) -> bool:
    run = await service.store.get_run(run_id)
    return run is not None and run.state == state


async def _jobs(service: Service) -> list[Job] | None:
    return await service.list_jobs("alice", "family") or None


async def test_a_job_being_made_cannot_be_removed(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = await service.create_function("alice", name="f", image="i", code="handler = 1")
    started = service.start
    gate = asyncio.Event()

    async def slow_start(owner: str, run_id: str) -> Run:
        await gate.wait()
        return await started(owner, run_id)

    monkeypatch.setattr(service, "start", slow_start)
    making = asyncio.create_task(
        service.create_handler_job(
            "alice", "family", function_id=function["id"], parameters="((1,),(2,))", spec={}
        )
    )
    [job] = await eventually(lambda: _jobs(service), timeout=30)
    assert service.being_made(job.id)
    with pytest.raises(NotFound):
        await service.remove_job("alice", job.id)
    gate.set()
    made, runs = await making
    assert made.id == job.id and len(runs) == 2 and not service.being_made(job.id)
    await service.remove_job("alice", job.id)


async def test_a_call_cannot_write_into_the_owners_store(service: Service) -> None:
    """$LOCALRUN_STORE holds hard links of the owner's objects; beside work/ they were
    writable, so a handler changed the stored object itself. They are read-only now (under
    input/, as a script run's snapshot is), and still readable."""

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    await service.put_object("alice", "data/keep.txt", chunks(b"original"))
    code = (
        "import os\n\ndef handler(event):\n"
        "    path = os.path.join(os.environ['LOCALRUN_STORE'], 'data', 'keep.txt')\n"
        "    seen = open(path).read()\n"
        "    try:\n"
        "        with open(path, 'r+') as f:\n"
        "            f.write('CHANGED!')\n"
        "        wrote = True\n"
        "    except OSError:\n"
        "        wrote = False\n"
        "    return (seen, wrote)\n"
    )
    function = await service.create_function("alice", name="w", image="i", code=code)
    _, [call] = await service.create_handler_job(
        "alice", "family", function_id=function["id"], parameters="((1,),)", spec={}
    )

    async def ended() -> Run | None:
        run = await service.get_run("alice", call.id)
        return run if run.terminal else None

    run = await eventually(ended, timeout=60)
    output = await service.handler_output(run)
    assert run.state == State.SUCCEEDED, output
    assert output["result"] == "('original', False)"
    path = await service.existing_object("alice", "data/keep.txt")
    assert path.read_bytes() == b"original"
