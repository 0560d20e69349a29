"""Run directories: layout, safe paths, streamed uploads, listings, tails, archives."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from localrun.errors import Invalid, NoSpace, NotFound, StartupError, TooLarge

CHUNK = 1024 * 1024
Buffer = bytes | bytearray | memoryview


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def create(self) -> None:
        for path in (self.input, self.work, self.logs):
            path.mkdir(parents=True, exist_ok=True)


def run_paths(data_dir: Path, run_id: str) -> RunPaths:
    return RunPaths(data_dir / "runs" / run_id)


@contextlib.contextmanager
def exclusive_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on path while the block runs; StartupError when another process
    holds it (its pid is in the file). The kernel drops the lock if this process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise StartupError(f"{what} is in use by another localrun (pid {holder})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def safe_filename(name: str) -> str:
    """A single path component a client may name a file with."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise Invalid(f"file name {name!r} is not allowed: give a plain name without '/' or '..'")
    if len(name.encode()) > 255:
        raise Invalid("file name is longer than 255 bytes")
    return name


def safe_relpath(relpath: str) -> PurePosixPath:
    """A relative path with no '..', no absolute start, no empty or NUL parts."""
    if not relpath or "\x00" in relpath or "\\" in relpath:
        raise Invalid(f"path {relpath!r} is not allowed")
    path = PurePosixPath(relpath)
    if path.is_absolute() or any(part in {"..", ""} for part in path.parts):
        raise Invalid(f"path {relpath!r} is not allowed: it must stay inside the run directory")
    sizes = [len(part.encode("utf-8", "surrogatepass")) for part in path.parts]
    if max(sizes) > 255 or len(relpath.encode("utf-8", "surrogatepass")) > 4096:
        raise Invalid("the path is longer than a path may be: 255 bytes for each name, 4096 in all")
    return path


def resolve_inside(base: Path, relpath: str) -> Path:
    """base/relpath, refusing '..', absolute paths and symlinks that lead outside base."""
    candidate = base / safe_relpath(relpath)
    real_base = base.resolve()
    real = candidate.resolve()
    if real != real_base and not real.is_relative_to(real_base):
        raise Invalid(f"path {relpath!r} leads outside the run directory")
    return candidate


BATCH = 2 << 20  # bytes handed to the hashing and writing threads at a time
_WORKERS = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="localrun-upload")


def _write_all(fd: int, pieces: list[Buffer]) -> None:
    """os.writev until every byte of pieces is written (a write may take fewer)."""
    views = [memoryview(p) for p in pieces]
    while views:
        done = os.writev(fd, views[:1024])  # IOV_MAX
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if done:
            views[0] = views[0][done:]


def _hash_all(digest: Any, pieces: list[Buffer]) -> None:
    for piece in pieces:
        digest.update(piece)


async def save_stream(
    chunks: AsyncIterator[Buffer], dest: Path, limit: int, checksum: bool = True
) -> tuple[int, str]:
    """Write chunks to a temporary name beside dest and rename it when complete.

    A broken or oversize upload leaves nothing behind. Returns (size, md5 hex); the md5 is ""
    without checksum (it bounds the throughput: about 650 MB/s on one core).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.parent / f".upload-{uuid.uuid4().hex}.part"
    digest, size = hashlib.md5(usedforsecurity=False) if checksum else None, 0
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        # The chunks are gathered into batches of BATCH bytes; one worker thread hashes a batch
        # while another writes it (both release the GIL) and the event loop gathers the next:
        # md5, the write and the socket's reads overlap, at most two batches are held, and the
        # loop stays responsive.
        pending: list[concurrent.futures.Future[None]] = []
        try:
            batch: list[Buffer] = []
            held = 0
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"upload exceeds the limit of {limit} bytes")
                batch.append(chunk)
                held += len(chunk)
                if held >= BATCH:
                    await _settle(pending)
                    pending = _absorb(digest, fd, batch)
                    batch, held = [], 0
            await _settle(pending)
            pending = _absorb(digest, fd, batch)
            await _settle(pending)
        finally:
            # The file must not close under a running write, even when this task is cancelled.
            concurrent.futures.wait(pending)
            os.close(fd)
        os.replace(part, dest)
    except OSError as exc:
        part.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NoSpace(
                f"no space left for {dest.name} in {dest.parent}: {exc.strerror}"
            ) from None
        raise
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return size, "" if digest is None else digest.hexdigest()


def _absorb(digest: Any, fd: int, batch: list[Buffer]) -> list[concurrent.futures.Future[None]]:
    if not batch:
        return []
    written = _WORKERS.submit(_write_all, fd, batch)
    return [written] if digest is None else [_WORKERS.submit(_hash_all, digest, batch), written]


async def _settle(pending: list[concurrent.futures.Future[None]]) -> None:
    """Wait for a batch's hash and write; the first error of either is raised."""
    for future in pending:
        await asyncio.wrap_future(future)


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    mtime: float
    is_dir: bool


def list_tree(base: Path, include_dirs: bool = False) -> list[Entry]:
    """Every file below base (symlinks to files count as files), relative paths, sorted."""
    entries: list[Entry] = []
    if not base.is_dir():
        return entries
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        here = Path(dirpath)
        names = sorted(filenames) + (sorted(dirnames) if include_dirs else [])
        for name in names:
            full = here / name
            try:
                info = full.stat()
            except OSError:
                continue
            if name.startswith(".upload-"):
                continue
            rel = full.relative_to(base).as_posix()
            entries.append(Entry(rel, info.st_size, info.st_mtime, stat.S_ISDIR(info.st_mode)))
    return entries


def disk_usage(base: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(base):
        for name in filenames:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                continue
    return total


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tail_lines(path: Path, count: int, window: int = 16 << 20) -> list[str]:
    """The last count lines, read backwards from the end in blocks: never more than window
    bytes, whatever the file's size. A line longer than 64 KiB comes back as its last 64 KiB."""
    if count <= 0:
        return []
    if not path.is_file():
        raise NotFound(f"no file {path.name}")
    blocks: list[bytes] = []
    with path.open("rb") as handle:
        end = position = handle.seek(0, os.SEEK_END)
        newlines = 0
        while position > 0 and newlines <= count and end - position < window:
            step = min(64 * 1024, position, window - (end - position))
            position -= step
            handle.seek(position)
            blocks.append(handle.read(step))
            newlines += blocks[-1].count(b"\n")
    lines = b"".join(reversed(blocks)).decode("utf-8", "replace").splitlines()
    return [line[-65536:] for line in lines[-count:]]


def read_from(path: Path, offset: int, limit: int) -> tuple[bytes, int]:
    """Up to limit bytes from offset; returns the bytes and the file's current size."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(min(offset, size))
        return handle.read(limit), size


DISK_RESERVE = 256 << 20


def unpack_zip(archive: Path, dest: Path, limit: int | None = None) -> list[str]:
    """Unpack into dest; every member must land inside it, and the whole must fit in limit
    bytes and in the free disk (less a reserve). Returns the member files."""
    names: list[str] = []
    room = shutil.disk_usage(dest).free - DISK_RESERVE
    if limit is not None:
        room = min(room, limit)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            total = sum(member.file_size for member in members)
            if total > room:
                raise TooLarge(
                    f"archive {archive.name} unpacks to {total} bytes; "
                    f"there is room for {max(room, 0)}"
                )
            for member in members:
                mode = member.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise Invalid(f"archive {archive.name}: member {member.filename} is a symlink")
                resolve_inside(dest, member.filename.rstrip("/") or ".")
            _check_layout(archive.name, members)
            for member in members:
                target = resolve_inside(dest, member.filename.rstrip("/"))
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                if (member.external_attr >> 16) & 0o111:
                    target.chmod(0o755)  # executable members stay executable, nothing more
                names.append(PurePosixPath(member.filename).as_posix())
    except zipfile.BadZipFile as exc:
        raise Invalid(f"archive {archive.name} is not a valid zip file: {exc}") from None
    return names


def _check_layout(archive: str, members: list[zipfile.ZipInfo]) -> None:
    """Each member once, and no file where another member needs a folder (`a` and `a/b`)."""
    seen: set[str] = set()
    folders: set[str] = set()
    files_: set[str] = set()
    for member in members:
        path = PurePosixPath(member.filename.rstrip("/")).as_posix()
        if path in seen:
            raise Invalid(f"archive {archive}: member {path} appears twice")
        seen.add(path)
        (folders if member.is_dir() else files_).add(path)
        folders.update(p.as_posix() for p in PurePosixPath(path).parents if str(p) != ".")
    clash = sorted(files_ & folders)
    if clash:
        raise Invalid(f"archive {archive}: {clash[0]} is both a file and a folder")


def remove_leftovers(data_dir: Path) -> list[Path]:
    """What a daemon killed mid-upload or mid-job-creation left: part files of uploads and
    staging folders. Only safe while no upload is under way (at start-up, under the lock)."""
    found = [
        *data_dir.glob("runs/*/input/.upload-*"),
        *data_dir.glob("files/*/.upload-*"),
        *data_dir.glob("files/.staging-*"),
    ]
    for path in found:
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
        else:
            path.unlink(missing_ok=True)
    return found


def remove_unrecorded_runs(data_dir: Path, recorded: set[str]) -> list[Path]:
    """Run folders that no record names and that hold no file: what a daemon killed between
    making a run's folders and writing its record left. A folder with files is kept."""
    removed = []
    for folder in sorted(data_dir.glob("runs/*")):
        if folder.name in recorded or not folder.is_dir() or folder.is_symlink():
            continue
        if any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
            continue
        remove_tree(folder)
        removed.append(folder)
    return removed


def tree_bytes(root: Path) -> int:
    """The bytes the files below root take on disk (a sparse file counts what it holds)."""
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def file_kind(path: Path) -> str:
    """What the file holds, in the words of file(1), from its first bytes."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    magic = {
        b"CDF\x01": "NetCDF Data Format data",
        b"CDF\x02": "NetCDF Data Format data (64-bit offset)",
        b"\x89HDF\r\n\x1a\n": "Hierarchical Data Format (version 5) data",
        b"PK\x03\x04": "Zip archive data",
    }
    if not head:
        return "empty"
    for prefix, kind in magic.items():
        if head.startswith(prefix):
            return kind
    if b"\x00" in head:
        return "data"
    if head.isascii():
        return "ASCII text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "UTF-8 Unicode text" if exc.start > len(head) - 4 else "data"
    return "UTF-8 Unicode text"


def stage_files(sources: list[tuple[str, Path]], dest: Path, limit: int | None = None) -> None:
    """Gather a job's files in dest: each file linked under its name, and each zip archive
    unpacked with its layout kept (a folder zipped by the client stays a folder, as hosted
    services unpack it) and the members' execute bits; no member may land outside dest.
    Two files that would take the same name are refused. What archives unpack to must fit
    in limit bytes, all of them together."""
    dest.mkdir(parents=True)
    room = limit
    for index, (name, path) in enumerate(sources):
        if name.lower().endswith(".zip") and zipfile.is_zipfile(path):
            unpacked = dest / f".unpack-{index}"
            unpacked.mkdir()
            try:
                names = unpack_zip(path, unpacked, room)
                if room is not None:
                    room -= sum((unpacked / n).stat().st_size for n in names)
            except Invalid as exc:
                raise Invalid(f"input file {name}: {exc.message}") from None
            for item in sorted(unpacked.iterdir()):
                _claim(dest / item.name, name)
                item.rename(dest / item.name)
            remove_tree(unpacked)
        else:
            _claim(dest / name, name)
            link_file(path, dest / name)


def _claim(target: Path, source: str) -> None:
    if target.exists() or target.is_symlink():
        raise Invalid(f"two input files give {target.name} (the second comes from {source})")


def link_file(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def link_tree(source: Path, dest: Path) -> None:
    """Hard links (copies across file systems) of every file below source, in dest."""
    for dirpath, _, filenames in os.walk(source):
        here = Path(dirpath)
        target = dest / here.relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            link_file(here / name, target / name)


def zip_members(base: Path, members: list[str], target: Path) -> int:
    """Zip base/<member> for each member into target (written under a temporary name and
    renamed); a member that vanished meanwhile is left out. Returns the archive's size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.parent / f".{target.name}.part"
    try:
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for member in members:
                try:
                    archive.write(base / member, member)
                except FileNotFoundError:
                    continue
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target.stat().st_size
