from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun import runs
from localrun.runs import Run, State
from localrun.store import Store, StoreError


def new_run(run_id: str = "r1", owner: str = "alice") -> Run:
    return Run(
        id=run_id,
        owner=owner,
        family="localrun",
        name="n",
        model="wrf",
        version="4.7.1",
        state=State.CREATED,
        walltime_s=60,
        created_at=time.time(),
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db.sqlite")
    yield s
    await s.close()


async def test_migrations_are_recorded_with_time(store: Store) -> None:
    applied = await store.migrations()
    assert applied[0][0] == "0001_initial"
    assert applied[0][1] > 0
    assert [name for name, _ in applied] == [
        "0001_initial",
        "0002_jobs",
        "0003_executor_ref",
        "0004_s3_credentials",
        "0005_accounts",
        "0006_run_rev",
    ]


async def test_refuses_a_database_from_a_newer_localrun(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    await (await Store.open(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO migrations VALUES ('9999_future', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer localrun"):
        await Store.open(path)


async def test_wal_and_foreign_keys(store: Store, tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_insert_writes_the_created_event(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    events = await store.events("r1")
    assert [(e.state, e.message) for e in events] == [("created", "created")]


async def test_transition_happens_once_under_races(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    await store.transition("r1", [State.CREATED], State.RUNNING, "go")
    results = await asyncio.gather(
        *[store.transition("r1", runs.LIVE, State.SUCCEEDED, f"done {i}") for i in range(10)]
    )
    assert results.count(True) == 1
    events = await store.events("r1")
    assert [e.state for e in events].count(State.SUCCEEDED) == 1
    run = await store.get_run("r1")
    assert run is not None and run.state == State.SUCCEEDED and run.ended_at is not None


async def test_terminal_state_never_moves_again(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    assert await store.transition("r1", [State.CREATED], State.CANCELLED, "stop")
    assert not await store.transition("r1", list(State), State.FAILED, "late")
    run = await store.get_run("r1")
    assert run is not None and run.state == State.CANCELLED


async def test_owner_scoping_and_pagination(store: Store) -> None:
    for i in range(5):
        await store.insert_run(new_run(f"a{i}"), "created")
    await store.insert_run(new_run("b0", owner="bob"), "created")
    assert await store.get_run("b0", "alice") is None
    first = await store.list_runs("alice", limit=2)
    rest = await store.list_runs("alice", after_seq=first[-1].seq, limit=10)
    assert [r.id for r in first + rest] == [f"a{i}" for i in range(5)]


async def test_json_fields_round_trip(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    await store.update_run("r1", progress={"percent": 12.5}, launch={"argv": ["a", "b"]})
    run = await store.get_run("r1")
    assert run is not None
    assert run.progress == {"percent": 12.5}
    assert run.launch == {"argv": ["a", "b"]}


async def test_merge_extra_keeps_every_writers_keys(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    await asyncio.gather(*(store.merge_extra("r1", {f"k{i}": i, "shared": [i]}) for i in range(20)))
    await store.merge_extra("r1", {"k0": None, "nested": {"a": 1}})
    run = await store.get_run("r1")
    assert run is not None
    assert {k: run.extra[k] for k in ("k1", "k19", "nested")} == {
        "k1": 1,
        "k19": 19,
        "nested": {"a": 1},
    }
    assert run.extra["k0"] is None and len(run.extra["shared"]) == 1
    with pytest.raises(ValueError):
        await store.merge_extra("r1", {"$.x": 1})


async def test_tokens_store_only_hashes_and_revoke(store: Store) -> None:
    await store.add_token("t", "alice", "h" * 64)
    assert await store.token_owner("h" * 64) == "alice"
    with pytest.raises(StoreError):
        await store.add_token("t", "alice", "x" * 64)
    assert await store.revoke_token("t")
    assert await store.token_owner("h" * 64) is None


async def test_files_replace_by_name(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    await store.add_file(run_id="r1", owner="alice", kind="input", name="a", path="/x", size=1)
    await store.add_file(run_id="r1", owner="alice", kind="input", name="a", path="/x", size=2)
    files = await store.files("r1", "input")
    assert [(f.name, f.size) for f in files] == [("a", 2)]


async def test_listing_without_the_launch_record(store: Store) -> None:
    await store.insert_run(new_run(), "created")
    await store.update_run("r1", launch={"argv": ["mpiexec"]}, progress={"percent": 5})
    [full] = await store.list_runs("alice")
    [light] = await store.list_runs("alice", launch=False)
    assert full.launch == {"argv": ["mpiexec"]} and light.launch is None
    assert light.progress == {"percent": 5} and light.seq == full.seq


async def test_jobs_group_runs_in_order_and_are_scoped_to_their_owner(store: Store) -> None:
    from localrun.runs import Job

    job = await store.insert_job(Job("j1", "alice", "rescale", "sweep", {"k": [1]}, 1.0, 2))
    assert job.spec == {"k": [1]} and job.size == 2
    for index in (2, 1):
        run = new_run(f"r{index}")
        run.job_id, run.job_index = "j1", index
        inserted = await store.insert_run(run, "created")
        assert (inserted.job_id, inserted.job_index, inserted.seq) == ("j1", index, inserted.seq)
    assert [r.id for r in await store.job_runs("j1")] == ["r1", "r2"]
    assert (await store.job_run("j1", 2, "alice")).id == "r2"  # type: ignore[union-attr]
    assert await store.job_run("j1", 2, "bob") is None
    assert await store.get_job("j1", "bob") is None
    await store.insert_job(Job("j2", "alice", "rescale", "later", {}, 2.0, 1))
    await store.insert_job(Job("j3", "alice", "other", "elsewhere", {}, 3.0, 1))
    assert [j.id for j in await store.list_jobs("alice", "rescale")] == ["j2", "j1"]
    run = new_run("r3")
    run.job_id, run.job_index = "j1", 1
    with pytest.raises(sqlite3.IntegrityError):
        await store.insert_run(run, "created")  # one run per index
    await store.delete_job("j1")
    assert await store.get_run("r1") is None and await store.events("r1") == []
    assert await store.get_job("j1") is None


async def test_migrations_move_jobs_out_of_extra_and_pids_into_the_executor_ref(
    tmp_path: Path,
) -> None:
    """A database written before the jobs table: run k of job J was "J-k", its job in
    extra["job"] and Rescale's spec in extra["rescale"]; a live run had pid columns."""
    import json

    from localrun.store.migrations import INITIAL

    path = tmp_path / "old.sqlite"
    import aiosqlite

    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        await INITIAL(db)
        await db.execute("INSERT INTO migrations VALUES ('0001_initial', 1)")
        for index in (1, 2):
            variables = [["x", index, "1"]]
            extra = {
                "job": {"id": "abc123", "index": index, "runs": 2, "variables": variables},
                "rescale": {"name": "old job", "command": "true"},
                "keep": True,
            }
            await db.execute(
                "INSERT INTO runs(id, owner, family, name, model, version, state, walltime_s, "
                "created_at, extra, pid, pid_create_time) VALUES (?, 'alice', 'rescale', 'n', "
                "'wrf', 'sim', 'succeeded', 60, ?, ?, ?, ?)",
                (f"abc123-{index}", float(index), json.dumps(extra), 4242, 1764658742.125),
            )
    store = await Store.open(path)
    try:
        assert len(await store.migrations()) == 6
        job = await store.get_job("abc123", "alice")
        assert job is not None
        assert (job.name, job.size, job.spec["command"], job.created_at) == (
            "old job",
            2,
            "true",
            1.0,
        )
        runs_ = await store.job_runs("abc123")
        assert [(r.id, r.job_index) for r in runs_] == [("abc123-1", 1), ("abc123-2", 2)]
        assert runs_[1].extra == {"variables": [["x", 2, "1"]], "keep": True}
        assert runs_[1].executor_ref == "4242:1764658742.125"
    finally:
        await store.close()


async def test_a_token_revoked_by_another_process_is_refused_at_once(tmp_path: Path) -> None:
    daemon = await Store.open(tmp_path / "db.sqlite")
    try:
        await daemon.add_token("me", "alice", "h1")
        await daemon.add_token("you", "bob", "h2")
        for _ in range(3):  # remembered after the first lookup
            assert await daemon.token_owner("h1") == "alice"
        cli = await Store.open(tmp_path / "db.sqlite")  # `localrun token revoke`, elsewhere
        try:
            assert await cli.revoke_token("me")
        finally:
            await cli.close()
        assert await daemon.token_owner("h1") is None
        assert await daemon.token_owner("h2") == "bob"
        assert await daemon.revoke_token("you")  # the daemon's own writer
        assert await daemon.token_owner("h2") is None
    finally:
        await daemon.close()


async def test_the_reader_sees_every_committed_write(store: Store) -> None:
    run = new_run("r1")
    await store.insert_run(run, "created")
    assert (await store.get_run("r1")) is not None
    await store.transition("r1", [State.CREATED], State.READY, "all inputs present")
    found = await store.get_run("r1")
    assert found is not None and found.state == State.READY


async def test_rev_rises_with_every_change_by_any_writer(store: Store, tmp_path: Path) -> None:
    run = await store.insert_run(new_run(), "created")
    assert await store.run_key("r1", "alice") == (run.seq, 0)
    await store.update_run("r1", name="m")
    await store.merge_extra("r1", {"k": 1})
    assert await store.transition("r1", [State.CREATED], State.READY, "ready")
    assert await store.run_key("r1", "alice") == (run.seq, 3)
    assert [e.state for e in await store.events("r1")] == [State.CREATED, State.READY]
    with sqlite3.connect(tmp_path / "db.sqlite") as other:  # the CLI, or a hand-run sqlite3
        other.execute("UPDATE runs SET name = 'x', rev = 0 WHERE id = 'r1'")
    assert await store.run_key("r1", "alice") == (run.seq, 4)
    assert await store.run_key("r1", "bob") is None


async def test_run_keys_follow_the_listing_and_runs_at_its_rows(store: Store) -> None:
    for index in range(5):
        await store.insert_run(new_run(f"r{index}", "bob" if index == 2 else "alice"), "created")
    await store.update_run("r3", state="succeeded")
    listed = await store.list_runs("alice", limit=3, newest_first=True)
    keys = await store.run_keys("alice", limit=3, newest_first=True)
    assert keys == [(r.seq, r.rev) for r in listed]
    assert [rev for _, rev in keys] == [0, 1, 0]
    assert await store.run_keys("alice", states=["succeeded"]) == [(listed[1].seq, 1)]
    found = await store.runs_at("alice", [seq for seq, _ in keys] + [999])
    assert sorted(found) == sorted(seq for seq, _ in keys)
    assert found[listed[1].seq] == listed[1]
    assert await store.runs_at("bob", [listed[0].seq]) == {}
