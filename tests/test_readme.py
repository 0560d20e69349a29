"""The README's tour is a transcript of what a person sees in an 80-column terminal."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def tour() -> list[str]:
    text = README.read_text()
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```console\n(.*?)```", section, re.S)
    assert found is not None, "the tour is a console transcript"
    return found.group(1).splitlines()


def test_the_tour_fits_an_80_column_terminal() -> None:
    lines = tour()
    assert [line for line in lines if len(line) > 80] == []


def test_every_command_of_the_tour_is_a_localrun_command() -> None:
    from localrun.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    known = set(action.choices)  # type: ignore[arg-type]
    used = [re.search(r"localrun (\w+)", line) for line in tour() if line.startswith("$ ")]
    names = {m.group(1) for m in used if m}
    assert names and names <= known, names - known
