"""The report page in headless Chromium (Playwright): loads without console errors, filters change the
list, a trajectory opens with its steps (diffs, screenshot, token mask), the comparison shows the
difference, learning curves and the no-signal note show. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import sync_playwright

from agentgym.report import ReportServer, build_report

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, tmp_path):
    pages = []

    def go(url: str):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.errors = []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("request", lambda r: page.errors.append(f"network request: {r.url}")
                if r.url.startswith(("http", "ws")) and not r.url.startswith(url) else None)
        page.goto(url)
        page.wait_for_selector("body[data-ready]")
        pages.append(page)
        return page

    yield go
    for p in pages:
        p.close()


@pytest.fixture(scope="module")
def report_file(report_runs, tmp_path_factory):
    runs = [report_runs[k] for k in ("random", "oracle", "crafted", "train")]
    return build_report(runs, tmp_path_factory.mktemp("html") / "report.html")


def test_summary_loads_without_console_errors(open_page, report_file, tmp_path):
    page = open_page(report_file.as_uri())
    assert page.locator(".card.group").count() == 3  # random, oracle, crafted (the train run has no trajectories)
    assert "100.0%" in page.locator(".card.group").nth(1).inner_text()
    assert page.locator(".card.group svg rect").count() > 0  # histograms drawn
    page.screenshot(path=str(tmp_path / "summary.png"), full_page=True)
    assert page.errors == []


def test_filters_change_the_list(open_page, report_file, tmp_path):
    page = open_page(report_file.as_uri() + "#episodes")
    page.select_option("#f-run", label="maze-oracle")
    assert page.locator("#episodes tbody tr").count() == 12
    page.select_option("#f-success", "0")
    assert page.locator("#episodes tbody tr").count() == 0 and page.inner_text("#f-count") == "0 of 12 episodes"
    page.select_option("#f-success", "")
    page.select_option("#f-run", label="crafted")
    page.select_option("#f-term", "timeout")
    assert page.locator("#episodes tbody tr").count() == 1
    page.select_option("#f-term", "")
    page.fill("#f-rmin", "0.5")
    assert page.locator("#episodes tbody tr").count() == 1
    page.fill("#f-rmin", "")
    page.fill("#f-task", "calc-2")
    rows = page.locator("#episodes tbody tr")
    assert rows.count() == 1 and "calc-2" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "episodes.png"))
    assert page.errors == []


def test_trajectory_opens_with_steps_diffs_screenshot_and_token_mask(open_page, report_file, tmp_path):
    page = open_page(report_file.as_uri() + "#episodes")
    page.select_option("#f-run", label="crafted")
    page.locator("#episodes tbody tr", has_text="calc-1").click()
    page.wait_for_selector("#steps .step")
    assert page.locator("#steps .step").count() == 2  # reset + one step
    step = page.locator("#steps .step").nth(1)
    assert "outcome 1" in step.locator(".head").inner_text()
    assert step.locator(".diff .add", has_text="return a + b").count() >= 1
    assert step.locator(".diff .del", has_text="return a - b").count() >= 1
    assert step.locator("img.shot").evaluate("img => img.complete && img.naturalWidth") == 4
    page.screenshot(path=str(tmp_path / "trajectory.png"), full_page=True)

    page.go_back()
    page.locator("#episodes tbody tr", has_text="calc-2").click()
    page.wait_for_selector(".tokmask")
    assert "4 of 6 completion tokens in the loss" in page.inner_text(".tokmask h3")
    assert page.locator(".tokmask .m1").count() == 4 and page.locator(".tokmask .m0:not(.prompt)").count() == 2
    assert page.errors == []


def test_comparison_shows_where_runs_differ(open_page, report_file, tmp_path):
    page = open_page(report_file.as_uri() + "#compare")
    page.select_option("#c-a", label="maze-random")
    page.select_option("#c-b", label="maze-oracle")
    assert page.inner_text("#c-score").startswith("12 tasks: A better on 0, B better on 12")
    assert page.locator("#compare .diffrow").count() == 12
    page.screenshot(path=str(tmp_path / "compare.png"))
    page.locator("#compare .diffrow td:nth-child(3) a").first.click()  # B's trajectory of that task
    page.wait_for_selector("#steps .step")
    assert "maze-oracle" in page.inner_text("#view-trajectory h2")
    assert page.errors == []


def test_training_curves_and_no_signal_note(open_page, report_file, tmp_path):
    page = open_page(report_file.as_uri() + "#training")
    for metric in ("agentgym/success", "kl", "entropy", "agentgym/tool_calls", "frac_reward_zero_std"):
        assert page.locator(f'.plot[data-metric="{metric}"] svg path').count() >= 1, metric
    assert "no learning signal" in page.inner_text("#view-training .note.warn")
    page.screenshot(path=str(tmp_path / "training.png"), full_page=True)
    assert page.errors == []


def test_view_server_page_has_no_console_errors(open_page, report_runs):
    server = ReportServer([report_runs["random"], report_runs["oracle"]], port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = open_page(server.url)
        page.click("#tabs button[data-view=episodes]")
        page.locator("#episodes tbody tr").first.click()
        page.wait_for_selector("#steps .step")
        assert page.errors == []
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
