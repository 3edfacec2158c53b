"""The metrics page in a real headless browser (Debian's chromium, driven by Playwright's
protocol client; no browser download): it loads with no console error, makes no request
(its Content-Security-Policy would report one), and shows every chart with data. The
screenshot is kept in ``test-artifacts/`` (or ``$STACKFLOW_TEST_ARTIFACTS``).

Skips only where chromium is absent and ``CI`` is not set; in CI a missing browser fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.clock import utc_iso

from .history import BASE, STACKS, History

CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
ARTIFACTS = Path(
    os.environ.get("STACKFLOW_TEST_ARTIFACTS") or Path(__file__).parents[2] / "test-artifacts"
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""What works on these machines (see the machine notes): without the background-networking
flags chromium keeps trying the closed network."""

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (apt-get install chromium); CI installs it",
)


def test_metrics_page_in_chromium(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert CHROMIUM is not None, "CI must install chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "metrics.html"
    argv = ["metrics", "--root", str(history.root), "--since", utc_iso(BASE)]
    assert main([*argv, "-o", str(page_path)]) == 0
    capsys.readouterr()
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            charts = page.locator("figure.chart")
            assert charts.count() == 4 * len(STACKS)
            for i in range(charts.count()):
                chart = charts.nth(i)
                assert chart.locator("svg").is_visible()
                box = chart.locator("svg").bounding_box()
                assert box is not None
                assert box["width"] > 100
                assert box["height"] > 100
                key = (chart.get_attribute("data-scope"), chart.get_attribute("data-metric"))
                drawn = (chart.locator(".datum").count(), chart.locator(".no-data").count())
                # staging never failed, so it has nothing to restore; every other chart has data
                assert drawn == ((0, 1) if key == ("staging", "time_to_restore") else (drawn[0], 0))
                assert key == ("staging", "time_to_restore") or drawn[0] > 0, key
            assert page.locator(".band").count() > 0
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "metrics-page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requests == [page_path.as_uri()]
    assert shot.stat().st_size > 10_000
