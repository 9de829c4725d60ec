"""Maps the top-level folders environments/, sandboxes/, trainers/ onto agentgym.* packages.

Metadata lives in pyproject.toml; only the package list is computed here because
setuptools' automatic discovery cannot rename folders.
"""

from setuptools import find_packages, setup

MAPPED = {
    "agentgym": "agentgym",
    "agentgym.environments": "environments",
    "agentgym.sandboxes": "sandboxes",
    "agentgym.trainers": "trainers",
}

packages = set(MAPPED)
for pkg, folder in MAPPED.items():
    packages.update(f"{pkg}.{sub}" for sub in find_packages(folder))

setup(packages=sorted(packages), package_dir=MAPPED)
