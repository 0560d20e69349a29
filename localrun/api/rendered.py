"""JSON bodies of runs, kept by the version of the row they were rendered from.

A run's body is rendered again only when its row changed: SQLite gives every row a seq and a
rev that rises with each change (store.migrations), and the API reads both on every request, so
nothing is served that the database no longer says. Only bodies that depend on the row alone are
kept (a run that ended, whose required inputs are recorded in it); a live run is rendered every
time. Keeping them made a page of 50 finished runs cost one narrow query and a join."""

from __future__ import annotations

Key = tuple[int, int]  # (seq, rev)
SIZE = 8192  # bodies kept; a run's body is about 1 KiB


class Rendered:
    """A plain dict, the oldest body dropped first: a body dropped while still asked for is
    rendered once more, cheaper than the bookkeeping of a least-recently-used order on every
    read (a fifth of a page's time)."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._bodies: dict[Key, bytes] = {}
        self.get = self._bodies.get

    def put(self, key: Key, body: bytes) -> None:
        self._bodies.pop(key, None)
        self._bodies[key] = body
        while len(self._bodies) > self._size:
            del self._bodies[next(iter(self._bodies))]

    def __len__(self) -> int:
        return len(self._bodies)
