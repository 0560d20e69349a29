"""Unknown namelist names against the registry, on the real fixture namelists."""

from __future__ import annotations

from localrun.wrf import typos
from tests.conftest import FIXTURES

REAL = (FIXTURES / "success_np2" / "namelist.input").read_text()


def test_every_name_of_the_real_namelists_is_known() -> None:
    for path in FIXTURES.rglob("namelist.input"):
        text = path.read_text()
        for group in ("time_control", "domains", "namelist_quilt", "physics", "dynamics"):
            if "histroy" in text and group == "time_control":
                continue
            assert typos.unknown_in(text, group) == [], (path, group)


def test_the_real_typo_is_found_with_the_name_meant() -> None:
    text = (FIXTURES / "fatal_namelist_typo" / "namelist.input").read_text()
    assert typos.unknown_in(text, "time_control") == [
        typos.Unknown("time_control", "histroy_interval", "history_interval", None)
    ]


def test_names_in_order_once_and_an_absent_group() -> None:
    names = typos.group_names(REAL.replace(" time_step ", " time_stepp ", 1), "domains")
    assert names is not None and names[0] == "time_stepp" and len(names) == len(set(names))
    assert typos.group_names(REAL, "no_such_group") is None
    assert typos.group_names(REAL, "namelist_quilt") == ["nio_tasks_per_group", "nio_groups"]


def test_a_name_from_another_group_and_one_like_nothing() -> None:
    text = "&domains\n history_interval = 10, zzqqxx = 1, name = 'a = b' ! c = d\n/\n"
    found = {u.name: u for u in typos.unknown_in(text, "domains")}
    assert set(found) == {"history_interval", "zzqqxx", "name"}
    assert typos.advice(found["history_interval"]) == "history_interval belongs in &time_control"
    assert typos.advice(found["zzqqxx"]).startswith("remove it")


def test_broken_text_does_not_crash() -> None:
    for text in ("", "&domains", "&domains\n = 3, (((\n", "\x00&domains time_stepp=1/", "/&"):
        typos.unknown_in(text, "domains")
    assert typos.unknown_in("&stoch\n anything = 1\n/", "stoch") == []


def test_wrf_words_per_group() -> None:
    assert typos.wrf_words("domains") == "ERROR reading namelist domains"
    assert typos.wrf_words("namelist_quilt") == "ERROR reading namelist namelist_quilt"
    assert typos.wrf_words("physics") == "------ ERROR while reading namelist physics ------"
