"""A real browser on the real dashboard: `streamlit run dashboard.py` on 127.0.0.1 and a
free port, and headless Chromium driven by selenium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is missing."""
    browser = next((p for b in BROWSERS if (p := shutil.which(b))), None)
    driver = next((p for d in DRIVERS if (p := shutil.which(d) or
                                          (d if Path(d).is_file() else None))), None)
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dashboard_server(config: Path, log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """The dashboard served on 127.0.0.1; yields its URL."""
    port = free_port()
    env = {**os.environ, "TRADELOOP_CONFIG": str(config), "OMP_NUM_THREADS": "1",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health",  # noqa: S310
                                                timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log_path}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def chromium(browser: str, driver: str, width: int = 1366, height: int = 900
             ) -> Iterator[WebDriver]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(arg)
    web = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    try:
        yield web
    finally:
        web.quit()


DRAWN = """
const plots = [...document.querySelectorAll('.js-plotly-plot')];
const svgs = [...document.querySelectorAll("figure[data-testid='svg-chart']")];
const drawn = plots.filter(p => p.querySelector('.scatterlayer .trace')).length
  + svgs.filter(f => f.querySelector('polyline')).length;
const status = document.querySelector("[data-testid='stStatusWidget']");
// still streaming in: the status says so, or placeholders (skeletons) stand for elements
const running = (status !== null && status.innerText.includes('Running'))
  || document.querySelector("[data-testid='stSkeleton']") !== null;
return running ? -1 : drawn;
"""


def charts_drawn(web: WebDriver, n: int) -> bool:
    """At least ``n`` charts (plotly, or the first view's light SVG) have drawn their
    traces, and the script has finished."""
    return int(web.execute_script(DRAWN)) >= n


def texts(web: WebDriver, css: str) -> list[str]:
    """The visible text of every element matching ``css`` (read in one go, never stale)."""
    return list(web.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(e => (e.innerText ?? e.textContent ?? '').trim())",
        css))


def wait_for_charts(web: WebDriver, n: int, timeout: float = 60.0) -> float:
    """Seconds until ``n`` charts are drawn."""
    started = time.perf_counter()
    WebDriverWait(web, timeout, poll_frequency=0.05).until(lambda w: charts_drawn(w, n))
    return time.perf_counter() - started


def click_text(web: WebDriver, css: str, text: str, timeout: float = 30.0) -> None:
    """Click the first element matching ``css`` whose text is ``text`` (once it exists)."""
    WebDriverWait(web, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda w: w.execute_script(
            "const e = [...document.querySelectorAll(arguments[0])]"
            ".find(e => (e.innerText ?? e.textContent ?? '').trim() === arguments[1]);"
            "if (e) { e.click(); return true; } return false;", css, text))
