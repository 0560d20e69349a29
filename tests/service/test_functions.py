"""Functions: code that defines handler, parsed and never run by the daemon."""

from __future__ import annotations

import pytest

from localrun.service import Service
from localrun.service.accounts import FieldInvalid
from localrun.service.functions import CODE_LIMIT, check_code, check_name

CODE = "def handler(event):\n    return event\n"


@pytest.mark.parametrize(
    "code",
    [
        CODE,
        "import json\nhandler = json.dumps\n",
        "from json import dumps as handler\n",
        "class handler:\n    pass\n",
        "async def handler(e):\n    pass\n",
    ],
)
def test_code_that_defines_handler(code: str) -> None:
    check_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "def handler(:\n",
        "x = 1\n",
        "def main(e): pass\n",
        "if True:\n    def handler(e): pass\n",
        "# " + "x" * CODE_LIMIT,
        "\x00",
    ],
)
def test_code_refused(code: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        check_code(code)
    assert refused.value.field == "code"


def test_names() -> None:
    assert check_name("  sweep ") == "sweep"
    for bad in ("", " ", "x" * 101):
        with pytest.raises(FieldInvalid):
            check_name(bad)


async def test_functions_belong_to_their_owner(service: Service) -> None:
    made = await service.create_function("alice", name="f", image="img", code=CODE)
    assert (await service.get_function("alice", made["id"]))["code"] == CODE
    assert await service.list_functions("bob") == []
    with pytest.raises(Exception, match="no function"):
        await service.get_function("bob", made["id"])
    with pytest.raises(Exception, match="no function"):
        await service.delete_function("bob", made["id"])
    changed = await service.update_function("alice", made["id"], name="g")
    assert changed["name"] == "g" and changed["code"] == CODE
    assert await service.function_runs("alice", made["id"]) == 0
    await service.delete_function("alice", made["id"])
    assert await service.list_functions("alice") == []
