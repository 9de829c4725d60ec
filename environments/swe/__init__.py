"""Software-engineering tasks in SWE-bench's format: a repository in a sandbox, bash and an editor, harness-exact grading.

    env = agentgym.make("swe/tasks")                          # the bundled, validated tasks
    env = agentgym.make("swe/tasks", tasks="rows.jsonl", sandbox="bwrap")
    agentgym eval swe/tasks --policy oracle
    agentgym swe generate --repo PATH --n 20 --seed 0 --out tasks.jsonl   # bugs by AST mutation, validated
    agentgym swe validate tasks.jsonl --runs 3
    agentgym swe export-predictions RUN_DIR                                 # the SWE-bench harness's predictions

Bundled: 56 validated tasks in two small libraries written for agentgym (``libraries/semverlite``,
``libraries/calendarlite``): hand-written bugs (:mod:`.bugs`) and generated ones (:mod:`.generate`).
Importing this package loads nothing heavy and starts nothing.
"""

from __future__ import annotations


def register_envs() -> None:
    """Registers ``swe/tasks`` with agentgym (the entry point of group ``agentgym.environments``)."""
    from agentgym.registry import register

    register("swe/tasks", "agentgym.environments.swe.env:SWEEnv",
             description="Fix a bug in a Python repository (SWE-bench rows) with bash and an editor; submit is "
                         "graded by the repository's tests in a fresh sandbox.",
             max_turns=30, tags=["swe", "coding", "sandbox"], requirements=["docker|bwrap"])


__all__ = ["register_envs"]
