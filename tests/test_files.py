from __future__ import annotations

import errno
import hashlib
import os
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun import files
from localrun.api.errors import status_of
from localrun.errors import Invalid, NoSpace, NotFound, StartupError, TooLarge


async def chunks(*parts: files.Buffer) -> AsyncIterator[files.Buffer]:
    for part in parts:
        yield part


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "a\\b", "x\x00y"])
def test_unsafe_filenames_are_refused(name: str) -> None:
    with pytest.raises(Invalid):
        files.safe_filename(name)


@pytest.mark.parametrize(
    "rel", ["../x", "/etc/passwd", "a/../../b", "./../x", "", "n" * 300, "a/" * 2100 + "b"]
)
def test_unsafe_relpaths_are_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(Invalid):
        files.resolve_inside(tmp_path, rel)


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "run"
    base.mkdir()
    (base / "link").symlink_to(tmp_path)
    with pytest.raises(Invalid, match="outside"):
        files.resolve_inside(base, "link/secret")


async def test_save_stream_renames_when_complete(tmp_path: Path) -> None:
    dest = tmp_path / "in" / "f.bin"
    size, md5 = await files.save_stream(chunks(b"ab", b"cd"), dest, limit=10)
    assert (size, dest.read_bytes()) == (4, b"abcd")
    assert md5 == "e2fc714c4727ee9395f324cd2e7f331f"
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]


async def test_save_stream_hashes_and_writes_every_batch_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "BATCH", 7)
    pieces = [bytes([i]) * (i % 5 + 1) for i in range(200)]
    views = [memoryview(p) if i % 2 else p for i, p in enumerate(pieces)]
    size, md5 = await files.save_stream(chunks(*views), tmp_path / "f.bin", limit=10_000)
    whole = b"".join(pieces)
    assert (size, (tmp_path / "f.bin").read_bytes()) == (len(whole), whole)
    assert md5 == hashlib.md5(whole).hexdigest()


def test_short_writes_are_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev

    def three_bytes(fd: int, buffers: list[memoryview]) -> int:
        return real(fd, [bytes(b"".join(buffers)[:3])])

    monkeypatch.setattr(os, "writev", three_bytes)
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        files._write_all(fd, [b"abcd", memoryview(b"efghij"), b"", b"k"])
    finally:
        os.close(fd)
    assert path.read_bytes() == b"abcdefghijk"


async def test_oversize_upload_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    with pytest.raises(TooLarge):
        await files.save_stream(chunks(b"x" * 6, b"y" * 6), dest, limit=10)
    assert list(tmp_path.iterdir()) == []


async def test_broken_stream_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await files.save_stream(broken(), tmp_path / "f.bin", limit=100)
    assert list(tmp_path.iterdir()) == []


def test_tail_reads_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))
    assert files.tail_lines(path, 3) == ["line 99997", "line 99998", "line 99999"]
    assert files.tail_lines(path, 0) == []


def test_tail_reads_no_more_than_its_window(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"head\n" + b"x" * 300_000 + b"\nlast\n")
    assert files.tail_lines(path, 5, window=100_000) == ["x" * 65536, "last"]
    with pytest.raises(NotFound):
        files.tail_lines(tmp_path / "missing", 1)


def test_zip_members_must_stay_inside(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../escape.txt", "bad")
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(Invalid):
        files.unpack_zip(archive, dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


def test_zip_unpacks_directories(tmp_path: Path) -> None:
    archive = tmp_path / "ics.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ics/wrfinput_d01", "data")
    dest = tmp_path / "out"
    dest.mkdir()
    assert files.unpack_zip(archive, dest) == ["ics/wrfinput_d01"]
    assert (dest / "ics" / "wrfinput_d01").read_text() == "data"


def test_list_tree_hides_partial_uploads(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    (tmp_path / ".upload-x.part").write_text("2")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("22")
    assert [(e.path, e.size) for e in files.list_tree(tmp_path)] == [("a", 1), ("sub/b", 2)]


def test_zip_bomb_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros", b"\0" * 10_000_000)
    assert archive.stat().st_size < 100_000
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(TooLarge, match="unpacks to 10000000 bytes"):
        files.unpack_zip(archive, dest, limit=1_000_000)
    assert list(dest.iterdir()) == []


def test_file_kind_from_the_first_bytes(tmp_path: Path) -> None:
    samples = {
        "empty": b"",
        "ascii": b"Timing for main\n",
        "utf8": "Zeit \u00fcber\n".encode(),
        "nc": b"CDF\x02rest",
        "h5": b"\x89HDF\r\n\x1a\nrest",
        "bin": b"\x00\x01\x02",
    }
    kinds = {}
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
        kinds[name] = files.file_kind(tmp_path / name)
    assert kinds == {
        "empty": "empty",
        "ascii": "ASCII text",
        "utf8": "UTF-8 Unicode text",
        "nc": "NetCDF Data Format data (64-bit offset)",
        "h5": "Hierarchical Data Format (version 5) data",
        "bin": "data",
    }


def test_stage_files_unpacks_a_folder_archive_and_refuses_a_name_twice(tmp_path: Path) -> None:
    (tmp_path / "namelist.input").write_text("&time_control\n/\n")
    archive = tmp_path / "ics.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ics/wrfinput_d01", "data")
        run = zipfile.ZipInfo("ics/Allrun")
        run.external_attr = 0o100775 << 16
        zf.writestr(run, "#!/bin/sh\n")
        zf.writestr("top.txt", "x")
    dest = tmp_path / "staged"
    files.stage_files([("namelist.input", tmp_path / "namelist.input"), ("ics.zip", archive)], dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "ics",
        "ics/Allrun",
        "ics/wrfinput_d01",
        "namelist.input",
        "top.txt",
    ]
    assert (dest / "ics" / "Allrun").stat().st_mode & 0o777 == 0o755
    assert (dest / "ics" / "wrfinput_d01").stat().st_mode & 0o111 == 0
    with pytest.raises(Invalid, match=r"two input files give namelist\.input"):
        files.stage_files([("namelist.input", tmp_path / "namelist.input")] * 2, tmp_path / "again")


async def test_a_full_disk_is_a_clear_507_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, buffers: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "writev", full)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"data"

    with pytest.raises(NoSpace, match=r"no space left for f\.bin") as info:
        await files.save_stream(chunks(), tmp_path / "f.bin", limit=100)
    assert status_of(info.value, {}) == 507
    assert list(tmp_path.iterdir()) == []


def test_exclusive_lock_refuses_a_second_holder_and_frees_on_exit(tmp_path: Path) -> None:
    lock = tmp_path / "d" / "daemon.lock"
    with files.exclusive_lock(lock, "the data directory"):
        assert lock.read_text() == f"{os.getpid()}\n"
        with (
            pytest.raises(StartupError, match=rf"in use by another localrun \(pid {os.getpid()}\)"),
            files.exclusive_lock(lock, "the data directory"),
        ):
            pass
    with files.exclusive_lock(lock, "the data directory"):
        pass


def zip_of(members: dict[str, bytes], path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    bomb = zip_of({"zeros": b"\0" * (20 << 20)}, tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 100_000
    with pytest.raises(TooLarge, match="unpacks to 20971520 bytes"):
        files.stage_files([("bomb.zip", bomb)], tmp_path / "staged", limit=1 << 20)
    two = [("a.zip", zip_of({"a": b"x" * 600}, tmp_path / "a.zip"))]
    two.append(("b.zip", zip_of({"b": b"y" * 600}, tmp_path / "b.zip")))
    with pytest.raises(TooLarge):
        files.stage_files(two, tmp_path / "both", limit=1000)  # the limit is for all of them


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ([("a", b"1"), ("a/b", b"2")], "a is both a file and a folder"),
        ([("x/a", b"1"), ("x/a", b"2")], "x/a appears twice"),
    ],
)
def test_a_zip_whose_members_collide_is_refused(
    tmp_path: Path, members: list[tuple[str, bytes]], words: str
) -> None:
    import warnings
    import zipfile

    path = tmp_path / "case.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members:
                zf.writestr(name, data)
    with pytest.raises(Invalid, match=words):
        files.unpack_zip(path, tmp_path)


def test_empty_unrecorded_run_folders_are_removed(tmp_path: Path) -> None:
    for run_id in ("kept", "empty", "with-file"):
        files.run_paths(tmp_path, run_id).create()
    (files.run_paths(tmp_path, "with-file").input / "namelist.input").write_text("x")
    removed = files.remove_unrecorded_runs(tmp_path, {"kept"})
    assert [p.name for p in removed] == ["empty"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["kept", "with-file"]
