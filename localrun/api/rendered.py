"""JSON bodies of runs, kept by the version of the row they were rendered from.

A run's body is rendered again only when its row changed: SQLite gives every row a seq and a
rev that rises with each change (store.migrations), and the API reads both on every request, so
nothing is served that the database no longer says. Only bodies that depend on the row alone are
kept (a run that ended, whose required inputs are recorded in it); a live run is rendered every
time. Keeping them made a page of 50 finished runs cost one narrow query and a join."""

from __future__ import annotations

from collections import OrderedDict

Key = tuple[int, int]  # (seq, rev)
SIZE = 8192  # bodies kept; a run's body is about 1 KiB


class Rendered:
    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._bodies: OrderedDict[Key, bytes] = OrderedDict()

    def get(self, key: Key) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: Key, body: bytes) -> None:
        self._bodies[key] = body
        self._bodies.move_to_end(key)
        while len(self._bodies) > self._size:
            self._bodies.popitem(last=False)

    def __len__(self) -> int:
        return len(self._bodies)
