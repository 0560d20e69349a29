"""The page in a real headless Chromium (Debian's chromium and chromium-driver, via Selenium)
against the real daemon: log in, submit the example case from the form on 2 cores, watch its
progress move without a reload (on its page and in the list), read the step plot and the CPU
and memory plot, check the dark theme and a phone's width, read the estimator's table, stop a
run, log out. Screenshots go to $LOCALRUN_TEST_ARTIFACTS (default test-artifacts/);
4-run-page-dark.png is README's docs/run-page.png."""

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
from selenium.webdriver.support.ui import Select

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


WIDE = """return [...document.querySelectorAll('#main *')]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map((e) => e.tagName + '#' + e.id + '.' + e.className);"""


def dark(driver: webdriver.Chrome, on: bool) -> None:
    """The browser's colour scheme preference: headless Chromium asks for light."""
    features = [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})


def case_folder(tmp: Path, name: str, speed: float) -> Path:
    """The example case, slowed down so that its progress can be watched."""
    case = tmp / name
    case.mkdir()
    namelist = (EXAMPLE / "namelist.input").read_text()
    (case / "namelist.input").write_text(
        namelist + f"\n&localrun_simulator\n speed = {speed},\n/\n"
    )
    shutil.copy(EXAMPLE / "wrfinput_d01", case / "wrfinput_d01")
    return case


def value_of(driver: webdriver.Chrome, element_id: str) -> float:
    """A progress bar's value; -1 while the page swaps it for a newer one."""
    try:
        return float(driver.find_element(By.ID, element_id).get_attribute("value") or 0)
    except WebDriverException:
        return -1.0


def option_values(driver: webdriver.Chrome) -> list[str]:
    try:
        return [
            o.get_attribute("value") or ""
            for o in Select(driver.find_element(By.ID, "cores")).options
        ]
    except WebDriverException:
        return []


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


def test_log_in_submit_watch_read_the_plots_stop_and_log_out(
    daemon: Daemon, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(daemon.url + "/")
    browser.find_element(By.ID, "token").send_keys(daemon.token)
    shot(browser, "1-login")
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.find_elements(By.ID, "runs"), timeout=10)

    # the submit form: the example case folder, 2 cores from the estimator's options
    browser.find_element(By.ID, "nav-submit").click()
    wait_for(lambda: browser.find_elements(By.ID, "submit-form"), timeout=10)
    case = case_folder(tmp_path, "example-case", 1.5)
    browser.find_element(By.ID, "folder").send_keys(str(case))
    wait_for(lambda: option_values(browser) == ["1", "2"], timeout=20)
    cores = Select(browser.find_element(By.ID, "cores"))
    labels = [o.text for o in cores.options]
    assert all(" cores · " in label and "cost" in label for label in labels), labels
    cores.select_by_value("2")
    shot(browser, "2-submit")
    browser.find_element(By.ID, "start").click()
    wait_for(lambda: browser.find_elements(By.ID, "run-progress"), timeout=30)
    watched = browser.current_url.rsplit("/", 1)[-1]
    run = daemon.api("GET", f"/localrun/v1/runs/{watched}")
    assert run["name"] == "example-case" and run["cores"] == 2, run

    # its progress moves on its page and in the list, without a reload
    browser.execute_script("window.notReloaded = true;")
    wait_for(lambda: 0 < value_of(browser, "run-progress") < 100, timeout=60)
    first = value_of(browser, "run-progress")
    wait_for(lambda: value_of(browser, "run-progress") > first, timeout=60)
    assert browser.execute_script("return window.notReloaded === true;")
    browser.find_element(By.CSS_SELECTOR, "header .brand").click()
    wait_for(lambda: browser.find_elements(By.ID, "runs"), timeout=10)
    browser.execute_script("window.notReloaded = true;")
    wait_for(lambda: 0 < percent(browser, watched) < 100, timeout=60)
    first = percent(browser, watched)
    wait_for(lambda: percent(browser, watched) > first, timeout=60)
    assert browser.execute_script("return window.notReloaded === true;")
    shot(browser, "3-progress")

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
    assert browser.find_elements(By.CSS_SELECTOR, "#usage-plot polyline.cpu")
    assert browser.find_elements(By.CSS_SELECTOR, "#usage-plot polyline.mem")
    browser.set_window_size(900, 1500)
    shot(browser, "4-run-page")
    dark(browser, True)
    background = "return getComputedStyle(document.body).backgroundColor;"
    assert browser.execute_script(background) == "rgb(17, 20, 24)"
    shot(browser, "4-run-page-dark")
    dark(browser, False)
    browser.set_window_size(390, 844)  # a phone: nothing wider than the screen
    for path in (f"/ui/runs/{watched}", "/ui/submit", "/ui/estimate", "/"):
        browser.get(daemon.url + path)
        wait_for(lambda: browser.find_elements(By.ID, "main"), timeout=10)
        assert browser.execute_script(WIDE) == [], path
    shot(browser, "4-phone-list")
    browser.set_window_size(1280, 1000)

    # the estimator's table for a pasted namelist
    browser.find_element(By.ID, "nav-estimate").click()
    # pasted: the textarea gets the whole text at once (send_keys types it key by key, 8 s);
    # the page has no script on it, the form posts what the textarea holds
    pasted = (EXAMPLE / "namelist.input").read_text()
    area = browser.find_element(By.ID, "namelist")
    browser.execute_script("arguments[0].value = arguments[1];", area, pasted)
    assert area.get_attribute("value") == pasted
    browser.find_element(By.ID, "estimate").click()
    wait_for(lambda: browser.find_elements(By.ID, "estimate-table"), timeout=20)
    rows = browser.find_elements(By.CSS_SELECTOR, "#estimate-table tbody tr")
    assert [r.get_attribute("data-cores") for r in rows] == ["1", "2"]
    shot(browser, "5-estimate")

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
    shot(browser, "6-stopped")

    browser.find_element(By.ID, "logout").click()
    wait_for(lambda: browser.find_elements(By.ID, "token"), timeout=10)
    assert "example-case" not in browser.page_source
    shot(browser, "7-logged-out")
