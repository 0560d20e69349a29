"""Functions: an owner's Python source defining handler(event), which each job of a handler run
calls with one tuple of the run's parameters. The daemon only parses the code, never runs it."""

from __future__ import annotations

import ast
import time
import uuid
from typing import Any

from localrun.errors import NotFound
from localrun.service.accounts import FieldInvalid
from localrun.service.base import ServiceBase

CODE_LIMIT = 512 * 1024  # characters of a function's code
NAME_LIMIT = 100
ENTRY = "handler"


def check_code(code: str) -> None:
    """Python source that defines handler at its top level."""
    if not code.strip():
        raise FieldInvalid("code", "This field may not be blank.")
    if len(code) > CODE_LIMIT:
        raise FieldInvalid("code", f"Ensure this field has no more than {CODE_LIMIT} characters.")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise FieldInvalid("code", f"This is not valid Python{where}: {exc}") from None
    if ENTRY not in _top_level_names(tree):
        raise FieldInvalid("code", "The code must define handler(event) at its top level.")


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {a.asname or a.name for a in node.names}
    return names


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise FieldInvalid("name", "This field may not be blank.")
    if len(name) > NAME_LIMIT:
        raise FieldInvalid("name", f"Ensure this field has no more than {NAME_LIMIT} characters.")
    return name


class Functions(ServiceBase):
    async def create_function(
        self, owner: str, *, name: str, image: str, code: str
    ) -> dict[str, Any]:
        name = check_name(name)
        check_code(code)
        now = time.time()
        row = {
            "id": str(uuid.uuid4()),
            "owner": owner,
            "name": name,
            "image": image,
            "code": code,
            "created_at": now,
            "updated_at": now,
        }
        return await self.store.insert_function(row)

    async def get_function(self, owner: str, function_id: str) -> dict[str, Any]:
        found = await self.store.function(function_id, owner)
        if found is None:
            raise NotFound(f"no function {function_id}")
        return found

    async def list_functions(self, owner: str) -> list[dict[str, Any]]:
        return await self.store.functions(owner)

    async def update_function(
        self,
        owner: str,
        function_id: str,
        *,
        name: str | None = None,
        image: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        """Change what is given; runs made before keep the code they were made with."""
        await self.get_function(owner, function_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = check_name(name)
        if image is not None:
            changes["image"] = image
        if code is not None:
            check_code(code)
            changes["code"] = code
        if changes:
            await self.store.update_function(function_id, **changes, updated_at=time.time())
        return await self.get_function(owner, function_id)

    async def delete_function(self, owner: str, function_id: str) -> None:
        if not await self.store.delete_function(function_id, owner):
            raise NotFound(f"no function {function_id}")

    async def function_runs(self, owner: str, function_id: str) -> int:
        """How many handler runs were made of the function."""
        return await self.store.count_jobs_by_spec(owner, "function", function_id)
