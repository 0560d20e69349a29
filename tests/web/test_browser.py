"""The page in a real headless Chromium (Debian's chromium and chromium-driver, via Selenium)
against the real daemon: log in, watch progress move without a reload, read the step plot,
stop a run, log out. Screenshots go to $LOCALRUN_TEST_ARTIFACTS (default test-artifacts/)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from localrun.client import Client
from tests.conftest import EXAMPLE, REPO, Daemon
from tests.polling import wait_for

ARTIFACTS = Path(os.environ.get("LOCALRUN_TEST_ARTIFACTS", REPO / "test-artifacts")) / "browser"


def binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
        )
        if found:
            return found
    pytest.fail(f"none of {names} is installed: scripts/system-packages installs them")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = binary("chromium", "chromium-browser")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(binary("chromedriver")), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def shot(driver: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def start(daemon: Daemon, name: str, speed: float, tmp: Path) -> str:
    case = tmp / name
    case.mkdir()
    namelist = (EXAMPLE / "namelist.input").read_text()
    (case / "namelist.input").write_text(
        namelist + f"\n&localrun_simulator\n speed = {speed},\n/\n"
    )
    shutil.copy(EXAMPLE / "wrfinput_d01", case / "wrfinput_d01")
    run = daemon.api("POST", "/localrun/v1/runs", {"name": name})
    client = Client(daemon.url, daemon.token, timeout=30)
    client.upload(run["id"], [case / "namelist.input", case / "wrfinput_d01"])
    client.start(run["id"], cores=1)
    run_id: str = run["id"]
    return run_id


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    """The element's text; "" while the page swaps it for a newer one."""
    try:
        found: str = driver.find_element(By.ID, element_id).text
    except WebDriverException:
        return ""
    return found


def percent(driver: webdriver.Chrome, run_id: str) -> float:
    try:
        rows = driver.find_elements(By.CSS_SELECTOR, f'tr[data-id="{run_id}"] progress')
        return float(rows[0].get_attribute("value") or 0) if rows else -1.0
    except WebDriverException:  # the row was replaced by a newer one meanwhile
        return -1.0


def test_log_in_watch_read_the_plot_stop_and_log_out(
    daemon: Daemon, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(daemon.url + "/")
    browser.find_element(By.ID, "token").send_keys(daemon.token)
    shot(browser, "1-login")
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.find_elements(By.ID, "runs"), timeout=10)

    watched = start(daemon, "watched", 1.0, tmp_path)
    browser.execute_script("window.notReloaded = true;")
    wait_for(lambda: 0 < percent(browser, watched) < 100, timeout=60)
    first = percent(browser, watched)
    wait_for(lambda: percent(browser, watched) > first, timeout=60)
    assert browser.execute_script("return window.notReloaded === true;")
    shot(browser, "2-progress")

    def ended() -> bool:
        state: str = daemon.api("GET", f"/localrun/v1/runs/{watched}")["state"]
        return state == "succeeded"

    wait_for(ended, timeout=240, interval=0.5)
    browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{watched}"] a').click()
    wait_for(lambda: browser.find_elements(By.ID, "step-plot"), timeout=20)
    log = daemon.api("GET", f"/localrun/v1/runs/{watched}/logs?name=rsl.out.0000")["text"]
    steps = len(re.findall(r"^Timing for main", log, re.MULTILINE))
    points = browser.find_elements(By.CSS_SELECTOR, "#step-plot circle.step")
    assert steps > 0 and len(points) == steps
    shot(browser, "3-run-page")

    doomed = start(daemon, "doomed", 0.1, tmp_path)
    wait_for(
        lambda: daemon.api("GET", f"/localrun/v1/runs/{doomed}")["state"] == "running",
        timeout=60,
        interval=0.3,
    )
    browser.get(f"{daemon.url}/ui/runs/{doomed}")
    browser.find_element(By.CSS_SELECTOR, "details.stop summary").click()
    browser.find_element(By.ID, "stop").click()
    wait_for(lambda: text_of(browser, "run-state") == "cancelled", timeout=60, interval=0.5)
    shot(browser, "4-stopped")

    browser.find_element(By.ID, "logout").click()
    wait_for(lambda: browser.find_elements(By.ID, "token"), timeout=10)
    assert "watched" not in browser.page_source
    shot(browser, "5-logged-out")
