"""Checks of namelist.input and its inputs before launch: what wrf.exe would refuse, found early.

`check_case` never raises for a bad namelist; it returns every problem it finds at once, each with
a short code (the same codes the outcome classifier uses for a failed run), a message naming the
group, variable or domain, and a hint for the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import f90nml

from localrun.wrf import namelist_vars as nv
from localrun.wrf import typos
from localrun.wrf.decomposition import Layout, check_ranks
from localrun.wrf.namelist import Case, Domain, NamelistError, case_from_groups
from localrun.wrf.netcdf import netCDF4

IGNORED_GROUPS = frozenset({"localrun_simulator"})

_DIMENSIONS = (
    ("e_we", "WEST-EAST_GRID_DIMENSION"),
    ("e_sn", "SOUTH-NORTH_GRID_DIMENSION"),
    ("e_vert", "BOTTOM-TOP_GRID_DIMENSION"),
)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    hint: str = ""


Groups = Mapping[str, Mapping[str, Any]]


def check_case(
    text: str,
    *,
    cores: int | None = None,
    inputs_dir: Path | None = None,
    preprocess: str | None = None,
) -> list[Problem]:
    """Every problem wrf.exe would stop on that can be seen before launch; [] when none."""
    try:
        groups = parse_groups(text)
    except NamelistError as exc:
        return [Problem(exc.code, exc.message, "fix the syntax near the place named")]
    problems = list(check_names(groups))
    problems += check_lengths(groups)
    try:
        case = case_from_groups(groups)
    except NamelistError as exc:
        if _follows_from_a_typo(exc, groups):
            return problems
        return [*problems, Problem(exc.code, exc.message)]
    problems += check_nests(case)
    if cores is not None:
        problems += check_cores(case, cores)
    if inputs_dir is not None:
        problems += check_inputs(case, inputs_dir, preprocess)
    return problems


def parse_groups(text: str) -> dict[str, dict[str, Any]]:
    """The namelist as {group: {variable: value}}, names lower-cased (Fortran ignores case)."""
    try:
        parsed = f90nml.reads(text)
    except Exception as exc:  # f90nml raises bare ValueError/StopIteration/IndexError
        raise NamelistError(f"namelist.input cannot be parsed: {exc}") from exc
    return {
        str(g).lower(): {str(k).lower(): v for k, v in dict(vs).items()}
        for g, vs in parsed.items()
        if str(g).lower() not in IGNORED_GROUPS
    }


def check_names(groups: Groups) -> Iterator[Problem]:
    for group, variables in groups.items():
        if group not in nv.CHECKED_GROUPS:
            problem = _unknown_group(group)
            if problem is not None:
                yield problem
            continue
        for name in variables:
            if name not in nv.known(group):
                yield _unknown_variable(group, name)


def _unknown_group(group: str) -> Problem | None:
    if group in nv.UNCHECKED_GROUPS:
        return None
    close = difflib.get_close_matches(group, sorted(nv.CHECKED_GROUPS), n=1, cutoff=0.8)
    if not close:
        return None
    return Problem(
        "namelist",
        f"unknown namelist group &{group}: wrf.exe will not read it",
        f"did you mean &{close[0]}?",
    )


def _unknown_variable(group: str, name: str) -> Problem:
    unknown = typos.describe(group, name)
    message = (
        f"&{group}: unknown variable {name!r} "
        f"(WRF stops with '{typos.wrf_words(group).strip(' -')}')"
    )
    return Problem("namelist", message, typos.advice(unknown))


def _follows_from_a_typo(error: NamelistError, groups: Groups) -> bool:
    """A required variable is 'missing' only because its name is misspelt (time_stepp)."""
    meant = {
        typos.suggest(group, name)
        for group, variables in groups.items()
        if group in nv.CHECKED_GROUPS
        for name in variables
        if name not in nv.known(group)
    }
    return any(re.search(rf"\b{re.escape(name)}\b", error.message) for name in meant if name)


def check_lengths(groups: Groups) -> Iterator[Problem]:
    """Per-domain lists shorter than max_dom, and several values for a one-value variable."""
    max_dom = _max_dom(groups)
    for group, variables in groups.items():
        for name, value in variables.items():
            problem = _length_problem(group, name, value, max_dom)
            if problem is not None:
                yield problem


def _length_problem(group: str, name: str, value: Any, max_dom: int) -> Problem | None:
    count = len(value) if isinstance(value, list) else 1
    exempt = name in nv.LENGTH_EXEMPT.get(group, frozenset())
    if name in nv.PER_DOMAINS.get(group, ()) and not exempt and count < max_dom:
        example = ", ".join([_show(value)] * max_dom)
        return Problem(
            "namelist",
            f"&{group} {name} has {count} value(s) but max_dom = {max_dom}",
            f"give one value per domain, e.g. {name} = {example}",
        )
    strict = group in nv.STRICT_SCALAR_GROUPS and name in nv.SCALARS.get(group, ())
    if strict and count > 1:
        return Problem(
            "namelist",
            f"&{group} {name} takes one value, not {count}",
            f"write {name} = {_show(value)}",
        )
    return None


def _max_dom(groups: Groups) -> int:
    value = groups.get("domains", {}).get("max_dom", 1)
    first = value[0] if isinstance(value, list) else value
    return first if isinstance(first, int) and first > 0 else 1


def _show(value: Any) -> str:
    first = value[0] if isinstance(value, list) else value
    if isinstance(first, bool):
        return ".true." if first else ".false."
    return repr(first) if isinstance(first, str) else str(first)


def check_nests(case: Case) -> Iterator[Problem]:
    for domain in case.domains[1:]:
        ratio = domain.parent_grid_ratio
        for name in ("e_we", "e_sn"):
            size = int(getattr(domain, name))
            if ratio >= 1 and (size - 1) % ratio:
                low = (size - 1) // ratio * ratio + 1
                yield Problem(
                    "nest_size",
                    f"domain {domain.id}: {name} = {size} is not n*parent_grid_ratio + 1 "
                    f"(ratio {ratio})",
                    f"use {name} = {low} or {low + ratio}",
                )


def check_cores(case: Case, cores: int) -> Iterator[Problem]:
    if cores < 1:
        yield Problem("too_many_ranks", f"cannot run on {cores} ranks", "use at least 1 core")
        return
    fixed = case.nproc_x > 0 and case.nproc_y > 0
    if fixed and case.nproc_x * case.nproc_y != cores:
        yield Problem(
            "namelist",
            f"&domains nproc_x * nproc_y = {case.nproc_x}x{case.nproc_y} = "
            f"{case.nproc_x * case.nproc_y}, but the run has {cores} ranks",
            "set nproc_x = nproc_y = -1 to let WRF choose, or run that many ranks",
        )
        return
    lay, problem = check_ranks(case, cores)
    if problem is None:
        return
    yield Problem(
        "too_many_ranks",
        f"{cores} ranks: {problem.describe(lay)}",
        _fewer_ranks_hint(case, cores),
    )


def _fewer_ranks_hint(case: Case, cores: int) -> str:
    lay = suggest_ranks(case, cores - 1)
    if lay is None:
        return "make the smallest domain larger: no rank count gives 10-cell patches"
    return f"use at most {lay.ranks} ranks ({lay.nproc_x}x{lay.nproc_y})"


def suggest_ranks(case: Case, cores: int) -> Layout | None:
    """The largest rank count up to `cores` that WRF accepts for this case, with its layout."""
    for ranks in range(cores, 0, -1):
        lay, problem = check_ranks(case, ranks)
        if problem is None:
            return lay
    return None


def check_inputs(case: Case, inputs_dir: Path, preprocess: str | None = None) -> Iterator[Problem]:
    for name in case.inputs_before(preprocess):
        if name != "namelist.input" and not (inputs_dir / name).exists():
            yield _missing(name)
    for domain in case.domains:
        path = inputs_dir / f"wrfinput_d{domain.id:02d}"
        if path.is_file() and not case.restart and preprocess is None:
            yield from _size_mismatches(domain, path)


def _missing(name: str) -> Problem:
    if name.startswith("wrfrst_"):
        hint = "a restart run needs the wrfrst file written at its start time by an earlier run"
    elif name.startswith("met_em."):
        hint = "real.exe reads the met_em files that WPS's metgrid.exe writes"
    elif name.startswith("wrfbdy_"):
        hint = "real-data runs need wrfbdy_d01 from real.exe (or set specified = .false.)"
    else:
        hint = "upload the file made by ideal.exe or real.exe"
    return Problem("missing_input", f"{name} is missing: WRF stops with 'error opening'", hint)


def _size_mismatches(domain: Domain, path: Path) -> Iterator[Problem]:
    sizes = _grid_dimensions(path)
    for name, attribute in _DIMENSIONS:
        expected = int(getattr(domain, name))
        found = sizes.get(attribute)
        if found is not None and found != expected:
            yield Problem(
                "size_mismatch",
                f"SIZE MISMATCH: namelist {name} = {expected} for domain {domain.id}, "
                f"{path.name} has {attribute} = {found}",
                f"set {name} = {found} for domain {domain.id}, or remake {path.name}",
            )


def _grid_dimensions(path: Path) -> dict[str, int]:
    """The file's grid-dimension attributes; {} for a file that is not netCDF (a placeholder)."""
    try:
        with netCDF4.Dataset(str(path)) as dataset:
            names = set(dataset.ncattrs())
            return {a: int(dataset.getncattr(a)) for _, a in _DIMENSIONS if a in names}
    except OSError:
        return {}
