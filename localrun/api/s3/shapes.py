"""S3's XML answers, its ETag and its two time formats."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import formatdate
from urllib.parse import quote
from xml.etree import ElementTree

from aiohttp import web

from localrun import files
from localrun.api.s3.errors import S3Error
from localrun.api.s3.listing import Page

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def etag(entry: files.Entry) -> str:
    """An object version's tag, the same in every answer: its size and modification time,
    hashed (not the MD5 of its bytes, which would mean reading them for a HEAD)."""
    digest = hashlib.md5(f"{entry.size}:{entry.mtime!r}".encode(), usedforsecurity=False)
    return f'"{digest.hexdigest()}"'


def iso_millis(epoch: float) -> str:
    """2009-10-12T17:50:30.000Z, as ListObjectsV2's LastModified."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(epoch: float) -> str:
    """Mon, 12 Oct 2009 17:50:30 GMT, as the Last-Modified header."""
    return formatdate(epoch, usegmt=True)


def xml_response(root: ElementTree.Element, status: int = 200) -> web.Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root)
    return web.Response(body=body, status=status, content_type="application/xml")


def _element(tag: str, **children: str | int | None) -> ElementTree.Element:
    root = ElementTree.Element(tag, xmlns=NAMESPACE)
    for name, value in children.items():
        if value is not None:
            ElementTree.SubElement(root, name).text = str(value)
    return root


def _add(parent: ElementTree.Element, name: str, value: str | int) -> None:
    ElementTree.SubElement(parent, name).text = str(value)


def list_result(
    bucket: str,
    found: Page,
    *,
    prefix: str,
    delimiter: str,
    max_keys: int,
    start_after: str,
    token: str,
    url_encoded: bool,
) -> web.Response:
    def name(text: str) -> str:
        return quote(text, safe="/") if url_encoded else text

    root = _element("ListBucketResult", Name=bucket, Prefix=name(prefix))
    if delimiter:
        _add(root, "Delimiter", name(delimiter))
    _add(root, "MaxKeys", max_keys)
    _add(root, "KeyCount", len(found.contents) + len(found.prefixes))
    _add(root, "IsTruncated", "true" if found.truncated else "false")
    if token:
        _add(root, "ContinuationToken", token)
    if found.next_token:
        _add(root, "NextContinuationToken", found.next_token)
    if start_after:
        _add(root, "StartAfter", name(start_after))
    if url_encoded:
        _add(root, "EncodingType", "url")
    for entry in found.contents:
        item = ElementTree.SubElement(root, "Contents")
        _add(item, "Key", name(entry.path))
        _add(item, "LastModified", iso_millis(entry.mtime))
        _add(item, "ETag", etag(entry))
        _add(item, "Size", entry.size)
        _add(item, "StorageClass", "STANDARD")
    for common in found.prefixes:
        _add(ElementTree.SubElement(root, "CommonPrefixes"), "Prefix", name(common))
    return xml_response(root)


def initiate_result(bucket: str, key: str, upload_id: str) -> web.Response:
    return xml_response(
        _element("InitiateMultipartUploadResult", Bucket=bucket, Key=key, UploadId=upload_id)
    )


def complete_result(location: str, bucket: str, key: str, tag: str) -> web.Response:
    return xml_response(
        _element(
            "CompleteMultipartUploadResult", Location=location, Bucket=bucket, Key=key, ETag=tag
        )
    )


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    """The (part number, ETag) pairs of a CompleteMultipartUpload body, in its order."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error(400, "MalformedXML", "the XML you provided was not well-formed") from None
    parts = []
    for part in root:
        if part.tag.rpartition("}")[2] != "Part":
            continue
        fields = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in part}
        try:
            number = int(fields["PartNumber"])
            tag = fields["ETag"].strip('"')
        except (KeyError, ValueError):
            raise S3Error(400, "MalformedXML", "each Part needs a PartNumber and an ETag") from None
        parts.append((number, tag))
    if not parts:
        raise S3Error(400, "MalformedXML", "the upload names no parts")
    return parts
