"""SigV4 as S3 checks it: the Authorization header's credential, scope and signed headers;
the expected signature computed by botocore's own S3 signer over the request as received;
then the session token and the expiry of the credential that signed it."""

from __future__ import annotations

import hmac
import re
import time
from calendar import timegm
from urllib.parse import unquote

from aiohttp import web
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials as BotoCredentials

from localrun.api.common import service
from localrun.api.s3.errors import S3Error
from localrun.service.credentials import ObjectCredential

ALGORITHM = "AWS4-HMAC-SHA256"
HEADER = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*"
    r"Signature=([0-9a-f]{64})$"
)
SKEW_S = 15 * 60  # S3's limit between the request's time and the server's
_CREDENTIAL = "s3-credential"


class _Verifier(S3SigV4Auth):  # type: ignore[misc]
    """botocore's S3 signer, told which headers the client signed (it would pick its own)."""

    def __init__(self, credential: ObjectCredential, signed: HTTPHeaders) -> None:
        secret = credential.secret_access_key
        super().__init__(BotoCredentials(credential.access_key_id, secret), "s3", credential.region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed


def expected_signature(
    request: web.Request, credential: ObjectCredential, signed: list[str], amz_date: str
) -> str:
    headers = HTTPHeaders()
    for name in signed:
        for value in request.headers.getall(name, []):
            headers[name] = value
    path, _, query = request.raw_path.partition("?")
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    params = [(unquote(name), unquote(value)) for name, _, value in pairs]
    aws = AWSRequest(
        method=request.method,
        url=f"https://{request.host}{path}",
        headers={"X-Amz-Content-SHA256": request.headers.get("x-amz-content-sha256", "")},
        params=params,
    )
    aws.context["timestamp"] = amz_date
    signer = _Verifier(credential, headers)
    canonical = signer.canonical_request(aws)
    signature: str = signer.signature(signer.string_to_sign(aws, canonical), aws)
    return signature


def _malformed(message: str) -> S3Error:
    return S3Error(400, "AuthorizationHeaderMalformed", message)


def _parse_header(request: web.Request) -> tuple[str, str, list[str], str]:
    """(access key, the scope after it, signed header names, signature)."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        if "X-Amz-Signature" in request.query:
            raise S3Error(403, "AccessDenied", "presigned URLs are not served here; sign headers")
        raise S3Error(403, "AccessDenied", "anonymous access is refused: sign with SigV4")
    match = HEADER.match(header)
    if match is None:
        if header.startswith(ALGORITHM):
            raise _malformed("the Authorization header is not a SigV4 header")
        raise S3Error(400, "InvalidArgument", "Unsupported Authorization Type: use SigV4")
    credential, signed, signature = match.groups()
    access_key, _, scope = credential.partition("/")
    return access_key, scope, signed.split(";"), signature


def _request_time(request: web.Request, scope: str) -> str:
    amz_date = request.headers.get("X-Amz-Date", "")
    try:
        moment = timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise S3Error(403, "AccessDenied", "SigV4 needs a valid x-amz-date header") from None
    if abs(moment - time.time()) > SKEW_S:
        raise S3Error(
            403, "RequestTimeTooSkewed", "the request time is too far from the server's time"
        )
    day, _, rest = scope.partition("/")
    if day != amz_date[:8] or rest.count("/") != 2 or not rest.endswith("/s3/aws4_request"):
        raise _malformed(f"the credential scope {scope!r} is not <date>/<region>/s3/aws4_request")
    return amz_date


def _check_signed_headers(request: web.Request, signed: list[str]) -> None:
    if signed != sorted(set(signed)) or "host" not in signed:
        raise _malformed("SignedHeaders must be sorted, unique and include host")
    if "x-amz-content-sha256" not in request.headers:
        raise S3Error(400, "InvalidRequest", "missing required header x-amz-content-sha256")
    unsigned = sorted(
        name.lower()
        for name in request.headers
        if name.lower().startswith("x-amz-") and name.lower() not in signed
    )
    if unsigned:
        raise S3Error(403, "AccessDenied", f"headers present but not signed: {unsigned[0]}")


async def authenticate(request: web.Request) -> ObjectCredential:
    """The credential that signed the request; S3Error or a service error otherwise."""
    known = request.get(_CREDENTIAL)
    if isinstance(known, ObjectCredential):
        return known
    access_key, scope, signed, signature = _parse_header(request)
    amz_date = _request_time(request, scope)
    _check_signed_headers(request, signed)
    svc = service(request)
    credential = await svc.find_credential(access_key)
    region = scope.split("/")[1]
    if region != credential.region:
        raise _malformed(f"the region {region!r} is wrong; expecting {credential.region!r}")
    expected = expected_signature(request, credential, signed, amz_date)
    if not hmac.compare_digest(expected, signature):
        raise S3Error(
            403,
            "SignatureDoesNotMatch",
            "the request signature we calculated does not match the signature you provided",
        )
    svc.check_session(credential, request.headers.get("X-Amz-Security-Token", ""))
    request[_CREDENTIAL] = credential
    return credential
