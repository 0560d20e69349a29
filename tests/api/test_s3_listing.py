"""ListObjectsV2's paging, on its own: common prefixes count like keys, and a page that ends
on a common prefix resumes after all of its keys."""

from __future__ import annotations

import pytest

from localrun import files
from localrun.api.s3.errors import S3Error
from localrun.api.s3.listing import decode_token, encode_token, page


def entries(*keys: str) -> list[files.Entry]:
    return [files.Entry(k, 1, 0.0, False) for k in sorted(keys, key=str.encode)]


KEYS = entries("p/a", "p/b/1", "p/b/2", "p/b/3", "p/c", "p/d/1")


def walk(max_keys: int, delimiter: str) -> list[list[str]]:
    pages, after, is_prefix = [], "", False
    while True:
        found = page(KEYS, "p/", delimiter, max_keys, after, is_prefix)
        pages.append([e.path for e in found.contents] + found.prefixes)
        if found.next_token is None:
            return pages
        after, is_prefix = decode_token(found.next_token)


def test_pages_with_a_delimiter_roll_folders_up_and_never_repeat() -> None:
    assert walk(1000, "/") == [["p/a", "p/c", "p/b/", "p/d/"]]
    assert walk(2, "/") == [["p/a", "p/b/"], ["p/c", "p/d/"]]
    assert walk(1, "/") == [["p/a"], ["p/b/"], ["p/c"], ["p/d/"]]


def test_pages_without_a_delimiter_list_every_key_once() -> None:
    flat = walk(4, "")
    assert flat == [["p/a", "p/b/1", "p/b/2", "p/b/3"], ["p/c", "p/d/1"]]


def test_zero_keys_and_start_after() -> None:
    assert page(KEYS, "p/", "", 0).next_token is None
    assert [e.path for e in page(KEYS, "p/", "", 10, "p/b/2").contents] == ["p/b/3", "p/c", "p/d/1"]


def test_a_token_round_trips_and_a_forged_one_is_refused() -> None:
    assert decode_token(encode_token("p/b/", True)) == ("p/b/", True)
    for bad in ("!!!", "", encode_token("x", False)[1:]):
        with pytest.raises(S3Error):
            decode_token(bad)
