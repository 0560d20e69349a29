"""Wherobots' storage: the one MANAGED store and the Files drive over it (CLIENTS.md §B4).
Paths are relative to the storage mount; {sid} is user_files::<region>."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.web_exceptions import HTTPFound

from localrun.api.common import decode_cursor, encode_cursor, integer, root, service
from localrun.api.formats import iso_z
from localrun.api.wherobots.views import on, owner
from localrun.errors import Invalid, NotFound

storage = web.RouteTableDef()
LIST_LIMIT = 1000


def drive_path(request: web.Request) -> str:
    sid = request.match_info["sid"]
    if not sid.startswith("user_files::"):
        raise NotFound(f"no storage {sid}")
    path = request.match_info.get("path", "")
    if any(part == ".." for part in path.split("/")):
        raise Invalid(f"{path}: '..' is not allowed in a path")
    return path.strip("/")


@on(storage, "GET", "")
async def list_storage(request: web.Request) -> web.Response:
    who = await owner(request)
    uri = service(request).store_uri(who)
    entry = {
        "id": "user_files::local",
        "name": "Files",
        "path": uri,
        "region": "local",
        "type": "MANAGED",
        "defaultDirectory": "",  # relative to path: the SDK appends it there
    }
    return web.json_response([entry])


@storage.post("/{sid}/file-upload-url/{path:.+}")
async def upload_url(request: web.Request) -> web.Response:
    who = await owner(request)
    key = drive_path(request)
    svc = service(request)
    svc.object_path(who, key)  # refuses a key that would leave the store
    if key.split("/")[0] == "runs":
        raise Invalid("runs/ shows your runs' outputs; upload elsewhere")
    grant = svc.grant(who, key, "put")
    url = request.url.with_path(root(request) + f"/upload/{grant}").with_query(None)
    return web.json_response({"destination": f"{svc.store_uri(who)}/{key}", "uploadUrl": str(url)})


@storage.put("/upload/{grant}")
async def upload(request: web.Request) -> web.Response:
    svc = service(request)
    who, key = svc.redeem(request.match_info["grant"], "put")

    async def body() -> Any:
        while chunk := await request.content.read(1 << 20):
            yield chunk

    size = await svc.put_object(who, key, body())
    return web.json_response({"destination": f"{svc.store_uri(who)}/{key}", "size": size})


@storage.get("/{sid}/directories/{path:.*}")
async def list_directory(request: web.Request) -> web.Response:
    who = await owner(request)
    prefix = drive_path(request)
    limit = integer(request.query.get("limit", LIST_LIMIT), "limit", 1, LIST_LIMIT)
    start = decode_cursor(request.query["cursor"]) if request.query.get("cursor") else 0
    svc = service(request)
    entries = await svc.drive_list(who, prefix)
    page = entries[start : start + limit]
    base = f"{svc.store_uri(who)}/{prefix + '/' if prefix else ''}"
    items = [
        {
            "name": e.path,
            "path": base + e.path + ("/" if e.is_dir else ""),
            "type": "FOLDER" if e.is_dir else "FILE",
            "size": 0 if e.is_dir else e.size,
            "lastModified": iso_z(e.mtime) if e.mtime else None,
        }
        for e in page
    ]
    following = encode_cursor(start + limit) if start + limit < len(entries) else None
    return web.json_response({"items": items, "next_page": following})


@storage.put("/{sid}/directories/{path:.+}")
async def make_directory(request: web.Request) -> web.Response:
    who = await owner(request)
    key = drive_path(request)
    await service(request).drive_mkdir(who, key)
    return web.json_response({"path": f"{service(request).store_uri(who)}/{key}/"})


@storage.delete("/{sid}/directories/{path:.+}")
async def delete_directory(request: web.Request) -> web.Response:
    who = await owner(request)
    await service(request).drive_delete(who, drive_path(request), folder=True)
    return web.json_response({})


@storage.delete("/{sid}/files/{path:.+}")
async def delete_file(request: web.Request) -> web.Response:
    who = await owner(request)
    await service(request).drive_delete(who, drive_path(request), folder=False)
    return web.json_response({})


@storage.post("/{sid}/file-rename/{path:.+}")
async def rename(request: web.Request) -> web.Response:
    who = await owner(request)
    new_name = request.query.get("new_name", "")
    if not new_name or "/" in new_name:
        raise Invalid("new_name: give the new name of the file, without a folder")
    svc = service(request)
    key = await svc.drive_rename(who, drive_path(request), new_name)
    return web.json_response({"path": f"{svc.store_uri(who)}/{key}"})


@storage.get("/{sid}/files/{path:.+}")
async def download_url(request: web.Request) -> web.Response:
    """A redirect to a one-time https URL of the file (what the real service answers)."""
    who = await owner(request)
    key = drive_path(request)
    svc = service(request)
    await svc.drive_file(who, key)
    grant = svc.grant(who, key, "get", ttl_s=300)
    url = request.url.with_path(root(request) + f"/download/{grant}").with_query(None)
    raise HTTPFound(str(url))


@storage.get("/download/{grant}")
async def download(request: web.Request) -> web.StreamResponse:
    svc = service(request)
    who, key = svc.redeem(request.match_info["grant"], "get")
    path = await svc.drive_file(who, key)
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})
