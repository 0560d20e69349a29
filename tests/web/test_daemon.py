"""The page and /metrics on the real daemon: served from the installed package, and an open
event stream does not hold up a SIGTERM."""

from __future__ import annotations

import re
import signal
import threading

import requests
from prometheus_client.parser import text_string_to_metric_families

from localrun.web.auth import SESSION
from tests.conftest import Daemon


def test_the_daemon_serves_the_page_and_metrics_and_stops_with_a_stream_open(
    daemon: Daemon,
) -> None:
    session = requests.Session()
    login = session.get(daemon.url + "/", timeout=10)
    assert login.status_code == 200 and "text/html" in login.headers["Content-Type"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf
    css = re.search(r'href="(/ui/static/style.css[^"]*)"', login.text)
    assert css and session.get(daemon.url + css.group(1), timeout=10).status_code == 200
    done = session.post(
        daemon.url + "/ui/login",
        data={"token": daemon.token, "csrf": csrf.group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 303 and SESSION in session.cookies
    names = {
        f.name
        for f in text_string_to_metric_families(
            requests.get(daemon.url + "/metrics", timeout=10).text
        )
    }
    assert {"localrun_runs_queued", "localrun_cores_free", "localrun_http_requests"} <= names
    stream = session.get(daemon.url + "/ui/live", stream=True, timeout=30)
    assert stream.status_code == 200
    first = next(stream.iter_lines())
    assert first.startswith(b"retry:")
    reader = threading.Thread(target=lambda: list(stream.iter_lines()), daemon=True)
    reader.start()
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.wait(timeout=30)  # open event streams do not hold the shutdown
