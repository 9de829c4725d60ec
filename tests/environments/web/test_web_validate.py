"""Every bundled web task is verified: its oracle solves it and a no-op agent does not (all 100,
through real Chromium, one reset per task, a few envs over one browser), and the oracle's element
ids are stable across page loads (the cached oracle equals a fresh replay)."""

import json

import pytest

import agentgym
from agentgym.environments.web import oracle as web_oracle
from agentgym.environments.web.validate import main, validate_tasks

pytestmark = pytest.mark.slow


def calls(messages):
    return [(m.tool_calls[0].name, json.loads(m.tool_calls[0].arguments)) for m in messages]


async def test_every_bundled_task_is_solved_by_its_oracle_and_not_by_a_noop():
    report = await validate_tasks(("shop", "forum", "calendar"), concurrency=2)
    assert len(report.checks) == 100 and len({c.task_id for c in report.checks}) == 100
    assert {c.task_id.split("-")[0] for c in report.checks} == {"shop", "forum", "calendar"}
    assert report.ok, report.table()
    assert all(c.oracle_success and not c.noop_success and c.steps >= 1 for c in report.checks)

    # the validation cached each oracle; a fresh replay on a new episode finds the same element ids
    env = agentgym.make("web/all", split="all")
    try:
        for task_id in ("shop-checkout-1", "forum-add_comment-2", "calendar-create-3"):
            await env.reset(task=task_id)
            key = env._oracle_key()
            cached = web_oracle.ORACLE_CACHE.pop(key)
            fresh = await env.oracle()                  # plays the script on a probe copy
            assert calls(fresh) == calls(cached), task_id
            assert key in web_oracle.ORACLE_CACHE
    finally:
        await env.close()


def test_validate_cli_rejects_bad_input(capsys):
    import argparse

    from agentgym.environments.web.validate import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["web", "validate", "shop", "--concurrency", "0"])   # `agentgym web validate`
    assert args.func(args) == 2
    assert main(["moon"]) == 2
    err = capsys.readouterr().err
    assert "concurrency must be a positive integer" in err and "unknown sites ['moon']" in err
