"""Imports point one way: environments/sandboxes/trainers → core, never back; importing is silent."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
UPPER = ("agentgym.environments", "agentgym.sandboxes", "agentgym.trainers")


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_never_imports_upper_layers():
    offenders = [(str(p.relative_to(ROOT)), m) for p in (ROOT / "agentgym").rglob("*.py")
                 for m in _imports(p) if m.startswith(UPPER)]
    assert offenders == []


def test_families_do_not_import_trainers():
    for folder in ("environments", "sandboxes"):
        offenders = [(str(p), m) for p in (ROOT / folder).rglob("*.py") for m in _imports(p)
                     if m.startswith("agentgym.trainers")]
        assert offenders == []


def test_import_has_no_side_effects(tmp_path):
    code = "import agentgym, agentgym.environments, agentgym.sandboxes, agentgym.trainers"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_repo_folders_shadow_no_installed_module():
    """Top-level data folders have no __init__.py: `python -m pytest` from the root puts the root
    on sys.path, and a docker/__init__.py made `import docker` load it instead of the Docker SDK."""
    packages = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
    assert packages == ["agentgym", "environments", "sandboxes", "trainers"]


def test_test_module_basenames_are_unique():
    """pytest's default import mode keys test modules outside packages by basename: two
    tests/*/test_x.py files abort collection ("import file mismatch"), which once turned CI red."""
    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if (path.parent / "__init__.py").exists():
            continue  # inside a package: imported under its dotted name
        rel = str(path.relative_to(ROOT))
        if path.name in seen:
            clashes.append((seen[path.name], rel))
        seen.setdefault(path.name, rel)
    assert clashes == []


def test_no_test_imports_a_conftest_by_name():
    """Every tests/*/conftest.py is the module `conftest`: `from conftest import x` gets whichever
    directory's conftest loaded first (CI failed on exactly this); helpers go in uniquely named modules."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py")
                 if any(m == "conftest" for m in _imports(p))]
    assert offenders == []
