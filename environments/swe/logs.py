"""Test-log parsing and resolution, with the SWE-bench harness's semantics (swebench 5.x).

    statuses = parse_log(log, "pytest")        # {"tests/test_x.py::test_y": "PASSED", ...}
    report = resolution_report(statuses, task.fail_to_pass, task.pass_to_pass)
    report.resolved                             # every FAIL_TO_PASS passed and no PASS_TO_PASS regressed

``pytest`` reads the ``-rA`` summary lines (``PASSED id``, ``FAILED id - message``, ...);
``unittest`` reads ``name (module.Class) ... ok|FAIL|ERROR|skipped`` lines and
``FAIL:``/``ERROR:`` headers (the harness's Django-style parser). A test absent from the log
counts as failed; a skipped FAIL_TO_PASS test is a failure, a skipped PASS_TO_PASS test is
not a regression. tests/environments/swe/test_logs.py checks all of this against the
``swebench`` package's own parsers on the same logs.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

STATUSES = ("FAILED", "PASSED", "SKIPPED", "ERROR", "XFAIL")
PASSING = ("PASSED", "XFAIL")
_SKIP_SUMMARY_COUNT = re.compile(r"^\[\d+\]$")


def parse_log_pytest(log: str) -> dict[str, str]:
    """Test id -> status from pytest ``-rA`` output (later lines win, as in the harness)."""
    statuses: dict[str, str] = {}
    for line in log.split("\n"):
        if not line.startswith(STATUSES):
            continue
        if line.startswith("FAILED"):
            line = line.replace(" - ", " ")
        parts = line.split()
        if len(parts) <= 1:
            continue
        if parts[0] == "SKIPPED" and _SKIP_SUMMARY_COUNT.match(parts[1]):
            continue  # "SKIPPED [1] path:line: reason" names no test
        statuses[parts[1]] = parts[0]
    return statuses


def parse_log_unittest(log: str) -> dict[str, str]:
    """Test name -> status from unittest's verbose output (``test_x (pkg.Class) ... ok``)."""
    statuses: dict[str, str] = {}
    previous = None
    for line in log.split("\n"):
        line = line.strip()
        if " ... " in line:
            previous = line.split(" ... ")[0]
        for suffix in (" ... ok", " ... OK", " ...  OK"):
            if line.endswith(suffix):
                statuses[line.rsplit(suffix, 1)[0]] = "PASSED"
                break
        if " ... skipped" in line:
            statuses[line.split(" ... skipped")[0]] = "SKIPPED"
        if line.endswith(" ... FAIL"):
            statuses[line.split(" ... FAIL")[0]] = "FAILED"
        if line.startswith("FAIL:"):
            statuses[line.split()[1].strip()] = "FAILED"
        if line.endswith(" ... ERROR"):
            statuses[line.split(" ... ERROR")[0]] = "ERROR"
        if line.startswith("ERROR:"):
            statuses[line.split()[1].strip()] = "ERROR"
        if line.startswith("ok") and previous is not None:
            statuses[previous] = "PASSED"  # output between "..." and "ok"
    return statuses


PARSERS = {"pytest": parse_log_pytest, "unittest": parse_log_unittest}


def log_format(test_cmd: str) -> str:
    """``pytest`` unless the command runs unittest (``-m unittest``, Django's ``runtests.py``)."""
    return "unittest" if re.search(r"-m\s+unittest|runtests\.py|manage\.py\s+test", test_cmd) else "pytest"


def parse_log(log: str, fmt: str = "pytest") -> dict[str, str]:
    if fmt not in PARSERS:
        raise ValueError(f"unknown log format {fmt!r}; choose one of {', '.join(PARSERS)}")
    return PARSERS[fmt](log)


def _resolve_case(case: str, statuses: dict[str, str]) -> str | None:
    """The status key for ``case``; truncated parametrized ids match by prefix when unambiguous."""
    if case in statuses:
        return case
    if case.count("[") > case.count("]"):
        matches = [k for k in statuses if k.startswith(case)]
        if matches and len({statuses[k] in PASSING for k in matches}) == 1:
            return matches[0]
    return None


def test_passed(case: str, statuses: dict[str, str]) -> bool:
    key = _resolve_case(case, statuses)
    return key is not None and statuses[key] in PASSING


def test_failed(case: str, statuses: dict[str, str]) -> bool:
    key = _resolve_case(case, statuses)
    return key is None or statuses[key] in ("FAILED", "ERROR", "SKIPPED")


def test_maintained(case: str, statuses: dict[str, str]) -> bool:
    key = _resolve_case(case, statuses)
    return test_passed(case, statuses) or (key is not None and statuses[key] == "SKIPPED")


test_passed.__test__ = test_failed.__test__ = test_maintained.__test__ = False  # not pytest tests


class TestsReport(BaseModel):
    """Which FAIL_TO_PASS / PASS_TO_PASS tests succeeded, as the harness's report."""

    __test__ = False
    f2p_success: list[str] = Field(default_factory=list)
    f2p_failure: list[str] = Field(default_factory=list)
    p2p_success: list[str] = Field(default_factory=list)
    p2p_failure: list[str] = Field(default_factory=list)

    @property
    def resolved(self) -> bool:
        """The harness's RESOLVED_FULL: both rates are 1 (an empty list counts as 1)."""
        return not self.f2p_failure and not self.p2p_failure


def resolution_report(statuses: dict[str, str], fail_to_pass: list[str], pass_to_pass: list[str]) -> TestsReport:
    report = TestsReport()
    for case in fail_to_pass:
        if test_passed(case, statuses):
            report.f2p_success.append(case)
        elif test_failed(case, statuses):
            report.f2p_failure.append(case)
    for case in pass_to_pass:
        if test_maintained(case, statuses):
            report.p2p_success.append(case)
        elif test_failed(case, statuses):
            report.p2p_failure.append(case)
    return report
