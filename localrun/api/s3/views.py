"""The S3 operations boto3 uses, path-style: /{bucket} and /{bucket}/{owner}/{key}."""

from __future__ import annotations

import mimetypes
import re

from aiohttp import web

from localrun.api.common import service
from localrun.api.s3 import body, shapes
from localrun.api.s3.auth import authenticate
from localrun.api.s3.errors import S3Error
from localrun.api.s3.listing import MAX_KEYS, decode_token, page
from localrun.service.credentials import ObjectCredential, check_key
from localrun.service.objects import BUCKET

routes = web.RouteTableDef()
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MIN_PART = 5 * 1024 * 1024  # every part but the last, as S3 demands
MAX_PART_NUMBER = 10_000
UNSERVED = frozenset({"acl", "tagging", "versionId", "retention", "legal-hold", "torrent"})


async def _bucket(request: web.Request) -> ObjectCredential:
    credential = await authenticate(request)
    bucket = request.match_info["bucket"]
    if bucket != BUCKET:
        raise S3Error(404, "NoSuchBucket", f"the bucket {bucket[:64]} does not exist")
    return credential


async def _object(request: web.Request, write: bool) -> tuple[ObjectCredential, str, str]:
    """(credential, owner, key in the owner's store) of an object request it may make."""
    credential = await _bucket(request)
    if UNSERVED & set(request.query) or "x-amz-copy-source" in request.headers:
        raise S3Error(501, "NotImplemented", "this operation is not served here")
    owner, _, key = request.match_info["key"].partition("/")
    if not key or key.endswith("/"):
        raise S3Error(400, "InvalidArgument", "keys are <owner>/<path>; folders are not objects")
    check_key(key)
    service(request).authorize(credential, owner, key, write)
    return credential, owner, key


def _object_headers(entry_tag: str, size: int, mtime: float, key: str) -> dict[str, str]:
    return {
        "ETag": entry_tag,
        "Last-Modified": shapes.http_date(mtime),
        "Accept-Ranges": "bytes",
        "Content-Type": mimetypes.guess_type(key)[0] or "binary/octet-stream",
        "Content-Length": str(size),
    }


def _preconditions(request: web.Request, tag: str) -> web.Response | None:
    match = request.headers.get("If-Match")
    if match is not None and tag not in (m.strip() for m in match.split(",")) and match != "*":
        raise S3Error(412, "PreconditionFailed", "At least one of the preconditions failed")
    none_match = request.headers.get("If-None-Match")
    if none_match is not None and (none_match == "*" or tag in none_match.split(",")):
        return web.Response(status=304, headers={"ETag": tag})
    return None


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a Range header; None for the whole object (a header S3 does
    not parse is ignored, as S3 ignores it)."""
    match = RANGE.match((header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            start = size
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    if start >= size:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
    return start, end


@routes.get("/{bucket}/{key:.+}")  # and HEAD
async def get_object(request: web.Request) -> web.StreamResponse:
    _, owner, key = await _object(request, write=False)
    svc = service(request)
    entry = await svc.object_entry(owner, key)
    tag = shapes.etag(entry)
    unchanged = _preconditions(request, tag)
    if unchanged is not None:
        return unchanged
    headers = _object_headers(tag, entry.size, entry.mtime, key)
    wanted = _range(request.headers.get("Range"), entry.size)
    status, start, length = 200, 0, entry.size
    if wanted is not None:
        start, end = wanted
        status, length = 206, end - start + 1
        headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return web.Response(status=status, headers=headers)
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    async for chunk in svc.read_object(owner, key, start, length):
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.put("/{bucket}/{key:.+}")
async def put_object(request: web.Request) -> web.Response:
    _, owner, key = await _object(request, write=True)
    svc = service(request)
    upload_id = request.query.get("uploadId")
    if upload_id is not None or "partNumber" in request.query:
        number = _part_number(request.query.get("partNumber", ""))
        _, md5 = await svc.put_part(owner, key, upload_id or "", number, body.chunks(request))
        return web.Response(headers={"ETag": f'"{md5}"'})
    await svc.put_object(owner, key, body.chunks(request))
    return web.Response(headers={"ETag": shapes.etag(await svc.object_entry(owner, key))})


def _part_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PART_NUMBER:
        raise S3Error(400, "InvalidArgument", "partNumber must be an integer from 1 to 10000")
    return int(text)


@routes.delete("/{bucket}/{key:.+}")
async def delete_object(request: web.Request) -> web.Response:
    _, owner, key = await _object(request, write=True)
    svc = service(request)
    if "uploadId" in request.query:
        await svc.abort_multipart(owner, key, request.query["uploadId"])
    else:
        await svc.delete_object(owner, key)
    return web.Response(status=204)


@routes.post("/{bucket}/{key:.+}")
async def multipart(request: web.Request) -> web.Response:
    _, owner, key = await _object(request, write=True)
    svc = service(request)
    full_key = f"{owner}/{key}"
    if "uploads" in request.query:
        upload_id = await svc.start_multipart(owner, key)
        return shapes.initiate_result(BUCKET, full_key, upload_id)
    if "uploadId" not in request.query:
        raise S3Error(501, "NotImplemented", "this POST is not served here")
    upload_id = request.query["uploadId"]
    staged = await svc.multipart_parts(owner, key, upload_id)
    wanted = shapes.parse_complete(await body.small(request))
    numbers = [number for number, _ in wanted]
    if numbers != sorted(set(numbers)):
        raise S3Error(400, "InvalidPartOrder", "the list of parts was not in ascending order")
    for index, (number, tag) in enumerate(wanted):
        if number not in staged or staged[number][0] != tag:
            raise S3Error(400, "InvalidPart", f"part {number} was not uploaded with that ETag")
        if index < len(wanted) - 1 and staged[number][1] < MIN_PART:
            raise S3Error(400, "EntityTooSmall", f"part {number} is smaller than 5 MiB")
    await svc.complete_multipart(owner, key, upload_id, numbers)
    tag = shapes.etag(await svc.object_entry(owner, key))
    location = str(request.url.with_query(None))
    return shapes.complete_result(location, BUCKET, full_key, tag)


@routes.get("/{bucket}", allow_head=False)
@routes.get("/{bucket}/", allow_head=False)
async def list_objects(request: web.Request) -> web.Response:
    credential = await _bucket(request)
    query = request.query
    if query.get("list-type") != "2":
        raise S3Error(501, "NotImplemented", "only ListObjectsV2 (list-type=2) is served here")
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    max_text = query.get("max-keys", str(MAX_KEYS))
    if not max_text.isdigit():
        raise S3Error(400, "InvalidArgument", "max-keys must be a non-negative integer")
    max_keys = min(int(max_text), MAX_KEYS)
    owner, slash, rest = prefix.partition("/")
    if not slash:
        raise S3Error(403, "AccessDenied", "list with a prefix of <owner>/ or below")
    check_key(rest, prefix=True)
    svc = service(request)
    svc.authorize(credential, owner, rest, write=False)
    entries = [e for e in await svc.object_entries(owner, rest) if credential.covers(e.path)]
    listed = [type(e)(f"{owner}/{e.path}", e.size, e.mtime, False) for e in entries]
    token = query.get("continuation-token", "")
    after, is_prefix = decode_token(token) if token else (query.get("start-after", ""), False)
    found = page(listed, prefix, delimiter, max_keys, after, is_prefix)
    return shapes.list_result(
        BUCKET,
        found,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=max_keys,
        start_after=query.get("start-after", ""),
        token=token,
        url_encoded=query.get("encoding-type") == "url",
    )


@routes.head("/{bucket}")
async def head_bucket(request: web.Request) -> web.Response:
    credential = await _bucket(request)
    return web.Response(headers={"x-amz-bucket-region": credential.region})
