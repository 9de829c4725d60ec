"""Our log parsing and resolution agree with the `swebench` package's own on real pytest and unittest logs."""

import subprocess
import sys
import textwrap

import pytest

from agentgym.environments.swe.logs import log_format, parse_log, resolution_report

PYTEST_MODULE = textwrap.dedent('''
    import pytest

    @pytest.fixture
    def broken():
        raise RuntimeError("fixture")

    def test_pass(): assert True
    def test_fail(): assert 1 == 2, "one - two"
    @pytest.mark.skip(reason="no")
    def test_skip(): pass
    @pytest.mark.xfail
    def test_xfail(): assert False
    @pytest.mark.xfail
    def test_xpass(): assert True
    def test_error(broken): pass
    @pytest.mark.parametrize("x", [1, "a-b", "c d"])
    def test_param(x): assert x != 1
    class TestGroup:
        def test_method(self): print("PASSED fake line"); assert True
''')
UNITTEST_MODULE = textwrap.dedent('''
    import unittest

    class T(unittest.TestCase):
        def test_ok(self): pass
        def test_fail(self): self.assertEqual(1, 2)
        def test_error(self): raise ValueError("x")
        @unittest.skip("no")
        def test_skip(self): pass
        def test_noisy(self):
            import sys; sys.stderr.write("noise\\n")

    if __name__ == "__main__":
        unittest.main(verbosity=2)
''')


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    (folder / "test_mod.py").write_text(PYTEST_MODULE)
    (folder / "ut_mod.py").write_text(UNITTEST_MODULE)
    pytest_log = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "test_mod.py"],
                                cwd=folder, capture_output=True, text=True, timeout=120).stdout
    unittest_log = subprocess.run([sys.executable, "-m", "unittest", "-v", "ut_mod"], cwd=folder,
                                  capture_output=True, text=True, timeout=120)
    return {"pytest": pytest_log, "unittest": unittest_log.stdout + unittest_log.stderr}


def test_pytest_parser_matches_swebench(logs):
    from swebench.harness.log_parsers.python import parse_log_pytest

    ours = parse_log(logs["pytest"], "pytest")
    assert ours == parse_log_pytest(logs["pytest"], None)
    assert ours["test_mod.py::test_pass"] == "PASSED" and ours["test_mod.py::test_fail"] == "FAILED"
    assert ours["test_mod.py::test_error"] == "ERROR" and ours["test_mod.py::test_xfail"] == "XFAIL"
    assert ours["test_mod.py::TestGroup::test_method"] == "PASSED"


def test_unittest_parser_matches_swebench(logs):
    from swebench.harness.log_parsers.python import parse_log_django

    ours = parse_log(logs["unittest"], "unittest")
    assert ours == parse_log_django(logs["unittest"], None)
    assert ours["test_ok (ut_mod.T.test_ok)"] == "PASSED" or ours.get("test_ok (ut_mod.T)") == "PASSED"
    assert "FAILED" in ours.values() and "ERROR" in ours.values() and "SKIPPED" in ours.values()


@pytest.mark.parametrize("f2p, p2p", [
    (["test_mod.py::test_pass"], ["test_mod.py::TestGroup::test_method"]),
    (["test_mod.py::test_pass"], ["test_mod.py::test_fail"]),
    (["test_mod.py::test_skip"], []),
    (["test_mod.py::test_xfail"], ["test_mod.py::test_skip"]),
    (["test_mod.py::test_missing"], []),
    (["test_mod.py::test_param[a-b]", "test_mod.py::test_param[1]"], []),
    (["test_mod.py::test_param[c"], ["test_mod.py::test_error"]),
    ([], []),
])
def test_resolution_matches_swebench(logs, f2p, p2p):
    from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS, ResolvedStatus
    from swebench.harness.grading import get_eval_tests_report, get_resolution_status

    statuses = parse_log(logs["pytest"], "pytest")
    theirs = get_eval_tests_report(statuses, {FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p})
    ours = resolution_report(statuses, f2p, p2p)
    assert (ours.f2p_success, ours.f2p_failure) == (theirs[FAIL_TO_PASS]["success"], theirs[FAIL_TO_PASS]["failure"])
    assert (ours.p2p_success, ours.p2p_failure) == (theirs[PASS_TO_PASS]["success"], theirs[PASS_TO_PASS]["failure"])
    assert ours.resolved == (get_resolution_status(theirs) == ResolvedStatus.FULL.value)


def test_log_format_from_command():
    assert log_format("python -m pytest -rA") == "pytest"
    assert log_format("python -m unittest -v") == "unittest"
    assert log_format("./tests/runtests.py --verbosity 2") == "unittest"
    with pytest.raises(ValueError, match="unknown log format"):
        parse_log("", "junit")
