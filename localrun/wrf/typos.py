"""Names in a namelist that WRF's registry does not know, and the known name each one resembles.

The scan is tolerant on purpose: it reads the text a run failed on, which may be too broken for a
full namelist parser (f90nml), and only needs the `name =` of each assignment in one group.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from localrun.wrf import namelist_vars as nv

_GROUP = re.compile(r"^\s*[&$](\w+)\s*(.*)$")
_END = re.compile(r"^\s*(/|[&$]end\b)", re.IGNORECASE)
_NAME = re.compile(r"(?:^|[\s,])([A-Za-z]\w*)\s*(?:\([^)]*\))?\s*=")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

# Groups a dmpar wrf.exe reads in module_io_quilt_old.F before its own namelist reader: any
# unreadable entry there stops WRF with `ERROR reading namelist <group>`, without "Maybe here?".
QUILT_READ_GROUPS = ("namelist_quilt", "domains")


@dataclass(frozen=True)
class Unknown:
    group: str
    name: str
    meant: str | None  # the known variable it most resembles, if any
    home: str | None  # another group that does have this variable


def group_names(text: str, group: str) -> list[str] | None:
    """The variable names assigned in &group, in order, lower-cased; None if it is absent."""
    names: list[str] = []
    found = inside = False
    for raw in text.splitlines():
        line = _QUOTED.sub("''", raw).split("!", 1)[0]
        if not inside:
            match = _GROUP.match(line)
            if not match or match.group(1).lower() != group:
                continue
            found = inside = True
            line = match.group(2)
        ended = _END.match(line) is not None or line.rstrip().endswith("/")
        names += [n for m in _NAME.finditer(line) if (n := m.group(1).lower()) not in names]
        if ended:
            inside = False
    return names if found else None


def suggest(group: str, name: str) -> str | None:
    close = difflib.get_close_matches(name, sorted(nv.known(group)), n=1, cutoff=0.75)
    return close[0] if close else None


def unknown_in(text: str, group: str) -> list[Unknown]:
    """The names in &group that the registry does not list ([] for a group it does not check)."""
    known = nv.known(group)
    if group not in nv.CHECKED_GROUPS:
        return []
    return [describe(group, n) for n in group_names(text, group) or [] if n not in known]


def describe(group: str, name: str) -> Unknown:
    home = next((g for g in sorted(nv.CHECKED_GROUPS) if g != group and name in nv.known(g)), None)
    return Unknown(group, name, suggest(group, name), home)


def advice(unknown: Unknown) -> str:
    """One phrase on what to do about an unknown name."""
    if unknown.meant:
        return f"did you mean {unknown.meant!r}?"
    if unknown.home:
        return f"{unknown.name} belongs in &{unknown.home}"
    return "remove it or check its spelling in README.namelist"


def wrf_words(group: str) -> str:
    """What a dmpar wrf.exe prints when it cannot read &group."""
    if group in QUILT_READ_GROUPS:
        return f"ERROR reading namelist {group}"
    return f"------ ERROR while reading namelist {group} ------"
