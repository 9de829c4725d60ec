"""Maps the top-level folders environments/, sandboxes/, trainers/ onto agentgym.* packages.

Metadata lives in pyproject.toml; only the package list is computed here because
setuptools' automatic discovery cannot rename folders. configs/ and docker/ ship as data
folders agentgym/configs and agentgym/dockerfiles (no __init__.py: a docker/__init__.py would
shadow the Docker SDK whenever the repo root is on sys.path), so an installed wheel finds the
train configs by name and the sandbox Dockerfiles without a source checkout.
"""

from setuptools import find_namespace_packages, setup

MAPPED = {
    "agentgym": "agentgym",
    "agentgym.environments": "environments",
    "agentgym.sandboxes": "sandboxes",
    "agentgym.trainers": "trainers",
}

DATA = {"agentgym.configs": "configs", "agentgym.dockerfiles": "docker"}  # their file patterns: pyproject.toml

packages = set(MAPPED) | set(DATA)
# every subfolder, data folders (swe/data, docker/swe, ...) included: setuptools warns about any it is not told of
for pkg, folder in {**MAPPED, **DATA}.items():
    packages.update(f"{pkg}.{sub}" for sub in find_namespace_packages(folder) if "__pycache__" not in sub)

setup(packages=sorted(packages), package_dir={**MAPPED, **DATA})
