"""An S3-compatible endpoint over each owner's object store, for boto3 as the Wherobots SDK's
auto-upload uses it (CLIENTS.md §B4.1), mounted at <s3_prefix> (default /s3) on the same
port: AWS_ENDPOINT_URL_S3=https://127.0.0.1:8080/s3. Path-style only (botocore uses it for an
IP address), one bucket, `localrun`, whose first key segment is the owner:
s3://localrun/<owner>/<key> is the object <key> of <owner>'s store.

Every request is SigV4-signed (Authorization header) with credentials from the Wherobots
family's POST /storage/credentials, each scoped to an owner, a key prefix and read or
read-write, and unexpired; x-amz-security-token must be the one issued with the key.

    PUT    /{bucket}/{key}                      PutObject (plain or aws-chunked body)
    PUT    /{bucket}/{key}?partNumber&uploadId  UploadPart
    POST   /{bucket}/{key}?uploads              CreateMultipartUpload
    POST   /{bucket}/{key}?uploadId             CompleteMultipartUpload
    DELETE /{bucket}/{key}[?uploadId]           DeleteObject | AbortMultipartUpload
    GET|HEAD /{bucket}/{key}                    GetObject (Range) | HeadObject
    GET    /{bucket}?list-type=2                ListObjectsV2 (prefix, delimiter, max-keys,
                                                continuation-token, start-after)
    HEAD   /{bucket}                            HeadBucket

Errors are S3's XML with S3's codes. Not served: presigned URLs, chunk-signed bodies
(STREAMING-AWS4-HMAC-SHA256-PAYLOAD), copy, ACLs, tagging, versions, ListObjects v1,
user metadata (x-amz-meta-* is not kept).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from localrun.api.keys import ROOT, SERVICE, SETTINGS
from localrun.api.s3.errors import MIDDLEWARES
from localrun.api.s3.views import routes

log = logging.getLogger("localrun")


async def _clean_leftovers(app: web.Application) -> AsyncIterator[None]:
    removed = await asyncio.to_thread(app[SERVICE].remove_object_leftovers)
    if removed:
        log.info("removed %d unfinished multipart upload(s) or object part file(s)", removed)
    yield


def mount(app: web.Application) -> None:
    prefix = app[SETTINGS].s3_prefix.rstrip("/")
    family = web.Application(middlewares=MIDDLEWARES)
    family[ROOT] = prefix
    family.add_routes(routes)
    app.add_subapp(prefix, family)
    app.cleanup_ctx.append(_clean_leftovers)
