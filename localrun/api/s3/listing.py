"""ListObjectsV2's paging over keys sorted as S3 sorts them: prefix, delimiter (common
prefixes count against max-keys like keys), start-after and an opaque continuation token."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field

from localrun import files
from localrun.api.s3.errors import S3Error

MAX_KEYS = 1000


@dataclass
class Page:
    contents: list[files.Entry] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    next_token: str | None = None  # set when the listing goes on

    @property
    def truncated(self) -> bool:
        return self.next_token is not None


def encode_token(last: str, is_prefix: bool) -> str:
    return base64.urlsafe_b64encode(("P" if is_prefix else "K").encode() + last.encode()).decode()


def decode_token(token: str) -> tuple[str, bool]:
    """(the last key or common prefix a page showed, whether it was a common prefix)."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if text[:1] not in ("P", "K"):
        raise S3Error(400, "InvalidArgument", "the continuation token provided is incorrect")
    return text[1:], text[0] == "P"


def page(
    entries: Sequence[files.Entry],
    prefix: str,
    delimiter: str,
    max_keys: int,
    after: str = "",
    after_prefix: bool = False,
) -> Page:
    """One page of `entries` (sorted by key as bytes, all starting with `prefix`) that
    follows `after`: a key, or a common prefix whose keys were all rolled into it."""
    result = Page()
    last: tuple[str, bool] | None = None
    for entry in entries:
        key = entry.path
        if after and (key.encode() <= after.encode() or (after_prefix and key.startswith(after))):
            continue
        common = None
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
        if common is not None and last == (common, True):
            continue
        if len(result.contents) + len(result.prefixes) >= max_keys:
            if last is not None:
                result.next_token = encode_token(*last)
            elif after:
                result.next_token = encode_token(after, after_prefix)
            break
        if common is not None:
            result.prefixes.append(common)
            last = (common, True)
        else:
            result.contents.append(entry)
            last = (key, False)
    return result
