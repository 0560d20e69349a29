"""S3's error dialect: <Error><Code/><Message/><RequestId/></Error> as application/xml, with
S3's codes and statuses, for S3Error and for every service error and HTTP error alike."""

from __future__ import annotations

import secrets
from xml.etree import ElementTree

from aiohttp import web

from localrun.api.common import Handler
from localrun.api.errors import error_middleware

# The service's codes (and the generic ones of api/errors) in S3's words.
CODES: dict[str, tuple[str, int]] = {
    "unknown_key": ("InvalidAccessKeyId", 403),
    "bad_token": ("InvalidToken", 400),
    "expired": ("ExpiredToken", 400),
    "forbidden": ("AccessDenied", 403),
    "unauthorized": ("AccessDenied", 403),
    "no_upload": ("NoSuchUpload", 404),
    "not_found": ("NoSuchKey", 404),
    "too_large": ("EntityTooLarge", 400),
    "key_too_long": ("KeyTooLongError", 400),
    "no_space": ("InsufficientStorage", 507),
    "method_not_allowed": ("MethodNotAllowed", 405),
    "internal": ("InternalError", 500),
}


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def render_xml(status: int, code: str, message: str) -> web.Response:
    error = ElementTree.Element("Error")
    for name, text in (("Code", code), ("Message", message), ("RequestId", secrets.token_hex(8))):
        ElementTree.SubElement(error, name).text = text
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(error)
    return web.Response(body=body, status=status, content_type="application/xml")


def render_error(status: int, code: str, message: str) -> web.Response:
    """A service or HTTP error: its code in S3's words; anything unnamed by status."""
    s3_code, s3_status = CODES.get(code, ("", status))
    if not s3_code:
        s3_code = {404: "NoSuchKey", 413: "EntityTooLarge"}.get(status, "InvalidArgument")
    return render_xml(s3_status, s3_code, message)


@web.middleware
async def s3_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except S3Error as exc:
        return render_xml(exc.status, exc.code, exc.message)


MIDDLEWARES = (error_middleware(render_error), s3_errors)
