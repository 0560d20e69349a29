"""The contract of airflow-providers-wherobots 1.8.1 (CLIENTS.md §C), without Airflow: every
answer is validated by the provider's own pydantic models, and its operator's log loop is
followed call by call over plain requests, as its hook makes them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from airflow_providers_wherobots.wherobots.models import LogsResponse, Run, RunStatus

from localrun import tls
from tests.conftest import Daemon, running_daemon
from tests.polling import wait_for

PRINTER = """
import sys, time
for k in range(60):
    print(f"row {k:02d} " + "x" * (k % 7), flush=True)
    if k % 10 == 0:
        time.sleep(0.3)
print("the end", file=sys.stderr, flush=True)
"""
FAILING = "import sys\nprint('about to fail', flush=True)\nsys.exit(3)\n"
SLEEPER = "import time\nprint('up', flush=True)\ntime.sleep(300)\n"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module, on one core: each test's runs end (or are cancelled) before
    it returns, so the next finds the core free."""
    base = tmp_path_factory.mktemp("airflow")
    made = tls.init(base / "tls", ["127.0.0.1", "localhost"])
    env = {
        "LOCALRUN_TLS_CERT": str(made.cert),
        "LOCALRUN_TLS_KEY": str(made.key),
        "REQUESTS_CA_BUNDLE": str(made.ca),
        "LOCALRUN_CORES": "1",
    }
    with running_daemon(base, env) as d:
        yield d


class Hook:
    """The calls of WherobotsRestAPIHook: https://host + endpoint, X-API-Key, no retries on
    POST, the provider's models on every answer."""

    def __init__(self, daemon: Daemon) -> None:
        self.base = daemon.url
        self.session = requests.Session()
        self.session.headers.update(
            {
                "X-API-Key": daemon.token,
                "User-Agent": "airflow-providers-wherobots/1.8.1 os/linux airflow/3.3.2",
                "X-Wherobots-Client": "client=airflow;ver=1.8.1",
            }
        )
        self.ca = daemon.env["REQUESTS_CA_BUNDLE"]  # per request: the environment's would win

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        answer = self.session.request(method, self.base + path, verify=self.ca, timeout=10, **kw)
        assert answer.status_code < 500, answer.text
        if not answer.ok:
            raise RuntimeError(f"HTTP error: {answer.status_code} with response: {answer.text}")
        return answer

    def create_run(self, payload: dict[str, Any]) -> Run:
        return Run.model_validate(self.call("POST", "/runs", json=payload).json())

    def get_run(self, run_id: str) -> Run:
        return Run.model_validate(self.call("GET", f"/runs/{run_id}").json())

    def get_run_logs(self, run_id: str, start: int, size: int = 500) -> LogsResponse:
        answer = self.call("GET", f"/runs/{run_id}/logs", params={"cursor": start, "size": size})
        return LogsResponse.model_validate(answer.json())

    def cancel_run(self, run_id: str) -> None:
        self.call("POST", f"/runs/{run_id}/cancel")

    def upload(self, key: str, text: str) -> str:
        grant = self.call("POST", f"/storage/user_files::local/file-upload-url/{key}").json()
        requests.put(grant["uploadUrl"], data=text.encode(), verify=self.ca, timeout=10)
        return str(grant["destination"])


def poll_and_display_logs(hook: Hook, run: Run, start: int, shown: list[str]) -> int:
    """WherobotsRunOperator.poll_and_display_logs, step for step."""
    page = hook.get_run_logs(run.ext_id, start)
    if not page.items:
        return int(page.current_page)
    items = page.items
    if items[0].timestamp == start:
        items = items[1:]
    shown.extend(item.raw for item in items)
    return int(page.next_page or page.items[-1].timestamp)


def operator_execute(
    hook: Hook, payload: dict[str, Any], on_running: Callable[[Run], None] | None = None
) -> tuple[Run, list[str]]:
    """WherobotsRunOperator.execute with poll_logs=True: wait out PENDING, stream while
    RUNNING, then tail until the cursor stops moving for the post-run wait."""
    shown: list[str] = []
    run = hook.create_run(payload)
    assert run.status.is_active()
    cursor = 0
    while run.status == RunStatus.PENDING:
        time.sleep(0.2)
        run = hook.get_run(run.ext_id)
    while run.status == RunStatus.RUNNING:
        if on_running:
            on_running(run)
            on_running = None
        cursor = poll_and_display_logs(hook, run, cursor, shown)
        time.sleep(0.2)
        run = hook.get_run(run.ext_id)
    settled_since: float | None = None
    while True:
        time.sleep(0.05)
        following = poll_and_display_logs(hook, run, cursor, shown)
        if following <= cursor:
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since >= 0.5:
                break
        else:
            cursor, settled_since = following, None
    return run, shown


def test_the_operator_loop_shows_every_line_once(daemon: Daemon) -> None:
    hook = Hook(daemon)
    uri = hook.upload("scripts/printer.py", PRINTER)
    payload = {"name": "localrun-airflow-1", "timeoutSeconds": 600, "runPython": {"uri": uri}}
    run, shown = operator_execute(hook, payload)
    assert run.status == RunStatus.COMPLETED and not run.is_timeout
    assert run.start_time is not None and run.end_time is not None
    assert shown == [f"row {k:02d} " + "x" * (k % 7) for k in range(60)] + ["the end"]


def test_failure_timeout_and_cancel_as_the_operator_reads_them(daemon: Daemon) -> None:
    hook = Hook(daemon)
    failing = {"uri": hook.upload("scripts/failing.py", FAILING)}
    run, shown = operator_execute(hook, {"name": "localrun-airflow-fail", "runPython": failing})
    assert run.status == RunStatus.FAILED and not run.is_timeout
    assert run.kube_app is not None and run.kube_app.events[0].code == "RUN_FAIL_EXEC"
    assert shown == ["about to fail"]

    sleeper = {"uri": hook.upload("scripts/sleeper.py", SLEEPER)}
    short = {"name": "localrun-airflow-timeout", "timeoutSeconds": 2, "runPython": sleeper}
    run, shown = operator_execute(hook, short)
    assert run.status == RunStatus.FAILED and run.is_timeout
    assert shown == ["up"]

    long = hook.create_run({"name": "localrun-airflow-cancel", "runPython": sleeper})
    wait_for(lambda: hook.get_run(long.ext_id).status == RunStatus.RUNNING, 30)
    hook.cancel_run(long.ext_id)
    wait_for(lambda: hook.get_run(long.ext_id).status == RunStatus.CANCELLED, 15)
    assert hook.get_run(long.ext_id).kube_app is None


def test_a_queued_run_has_an_empty_log_page_that_echoes_the_cursor(daemon: Daemon) -> None:
    hook = Hook(daemon)
    sleeper = {"uri": hook.upload("scripts/sleeper.py", SLEEPER)}
    first = hook.create_run({"name": "localrun-airflow-holder", "runPython": sleeper})
    wait_for(lambda: hook.get_run(first.ext_id).status == RunStatus.RUNNING, 30)
    queued = hook.create_run({"name": "localrun-airflow-queued", "runPython": sleeper})
    assert hook.get_run(queued.ext_id).status == RunStatus.PENDING  # one core, and it is taken
    for cursor in (0, 7):
        page = hook.get_run_logs(queued.ext_id, cursor)
        assert page.items == [] and page.current_page == cursor and page.next_page == cursor
    hook.cancel_run(queued.ext_id)
    hook.cancel_run(first.ext_id)
    wait_for(lambda: hook.get_run(first.ext_id).status == RunStatus.CANCELLED, 15)
    assert hook.get_run(queued.ext_id).status == RunStatus.CANCELLED


def test_client_mistakes_are_4xx_that_the_hook_reports(daemon: Daemon) -> None:
    hook = Hook(daemon)
    for method, path, body in (
        ("GET", "/runs/nope", None),
        ("GET", "/runs/nope/logs?cursor=x", None),
        ("POST", "/runs", {"name": "bad name!", "runPython": {"uri": "s3://localrun/x"}}),
        ("POST", "/runs", {"name": "localrun-airflow-x", "runPython": {"uri": "s3://else/x"}}),
    ):
        with pytest.raises(RuntimeError, match=r"HTTP error: 4\d\d"):
            hook.call(method, path, json=body)
