"""Maps the top-level folders environments/, sandboxes/, trainers/ onto agentgym.* packages.

Metadata lives in pyproject.toml; only the package list is computed here because
setuptools' automatic discovery cannot rename folders. configs/ and docker/ ship as data
folders agentgym/configs and agentgym/dockerfiles (no __init__.py: a docker/__init__.py would
shadow the Docker SDK whenever the repo root is on sys.path), so an installed wheel finds the
train configs by name and the sandbox Dockerfiles without a source checkout.
"""

import subprocess
from pathlib import Path

from setuptools import find_namespace_packages, setup

MAPPED = {
    "agentgym": "agentgym",
    "agentgym.environments": "environments",
    "agentgym.sandboxes": "sandboxes",
    "agentgym.trainers": "trainers",
}

DATA = {"agentgym.configs": "configs", "agentgym.dockerfiles": "docker"}  # their file patterns: pyproject.toml


def subfolders(folder: str) -> set[str]:
    """Every subfolder of ``folder`` as a dotted name, data folders (swe/data, docker/swe) included: setuptools
    warns about any it is not told of. In a git checkout only folders holding tracked files count, so a run
    directory or scratch file left in the tree never ships; elsewhere (an sdist) every folder does."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", folder], capture_output=True, check=True,
                             cwd=Path(__file__).parent).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    files = [Path(f).relative_to(folder) for f in out.split("\0") if f]
    if not files:
        return {sub for sub in find_namespace_packages(folder) if "__pycache__" not in sub}
    return {".".join(parent.parts) for f in files for parent in f.parents
            if parent.parts and (Path(folder) / parent).is_dir()}  # a tracked folder deleted here is no package


packages = set(MAPPED) | set(DATA)
for pkg, folder in {**MAPPED, **DATA}.items():
    packages.update(f"{pkg}.{sub}" for sub in subfolders(folder))

setup(packages=sorted(packages), package_dir={**MAPPED, **DATA})
