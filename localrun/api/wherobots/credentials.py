"""POST /storage/credentials: temporary S3 credentials for a path in the owner's store, as the
SDK's auto-upload asks for them (CLIENTS.md §B4.1); boto3 then signs with them against
localrun's S3 endpoint (<s3_prefix>, api/s3)."""

from __future__ import annotations

from aiohttp import web

from localrun.api.common import json_object, service
from localrun.api.formats import iso_z_seconds
from localrun.api.wherobots.views import BadField, on, owner

credentials = web.RouteTableDef()
FIELDS = frozenset({"path", "access_mode"})
MODES = ("read", "read_only", "read_write")


@on(credentials, "POST", "/credentials")
async def issue(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_object(request)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadField(unknown[0][:40], "is not a field of a credentials request")
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("s3://"):
        raise BadField("path", "give the s3:// path the credentials are for")
    mode = body.get("access_mode", "read")
    if mode not in MODES:
        raise BadField("access_mode", f"must be one of {', '.join(MODES)}")
    made = await service(request).issue_credentials(who, path, mode)
    return web.json_response(
        {
            "accessKeyId": made.access_key_id,
            "secretAccessKey": made.secret_access_key,
            "sessionToken": made.session_token,
            "expiration": iso_z_seconds(made.expires_at),
            "region": made.region,
        }
    )
