"""The ``agentgym`` command line.

    agentgym list
    agentgym eval toy/maze --policy oracle --episodes 20 --out runs/maze-oracle
    agentgym eval toy/maze --model gpt-4.1-mini --episodes 50 --concurrency 16 --out runs/maze-gpt
    agentgym eval toy/maze --model tiny --base-url http://127.0.0.1:8000/v1 --format tags --env-arg size=3

Subcommands of the families (``sandbox``, ``textworld``, ``train``, ...) plug in through the
entry-point group ``agentgym.commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from importlib import metadata
from typing import Any, Sequence

from .errors import AgentGymError, ConfigError

COMMAND_GROUP = "agentgym.commands"


def parse_env_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["size=5", "name=x", "opts={\\"a\\":1}"]`` → kwargs; values are JSON when they parse as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not key.strip().isidentifier():
            raise ConfigError(f"--env-arg expects key=value with a Python identifier as key, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    from .registry import _plugin_errors, list_envs

    specs = list_envs(args.tag)
    width = max((len(s.id) for s in specs), default=10)
    for s in specs:
        extra = f"  [needs: {', '.join(s.requirements)}]" if s.requirements else ""
        print(f"{s.id:<{width}}  {s.description}{extra}")
    for name, err in _plugin_errors.items():
        print(f"warning: plugin {name!r} failed to load: {err}", file=sys.stderr)
    return 0


def _build_policy(args: argparse.Namespace):
    from .policies.simple import NoopPolicy, OraclePolicy, RandomPolicy

    if args.policy:
        return {"oracle": OraclePolicy, "noop": NoopPolicy, "random": lambda: RandomPolicy(seed=args.seed)}[args.policy]()
    from .policies.openai import OpenAIPolicy

    sampling: dict[str, Any] = {}
    if args.temperature is not None:
        sampling["temperature"] = args.temperature
    if args.max_tokens is not None:
        sampling["max_tokens"] = args.max_tokens
    return OpenAIPolicy(args.model, base_url=args.base_url, api_key_env=args.api_key_env, **sampling)


def _cmd_eval(args: argparse.Namespace) -> int:
    from .engine import arun
    from .registry import check_kwargs, spec

    spec(args.env_id)  # unknown ids fail here, before anything is written
    env_kwargs = parse_env_args(args.env_arg)
    check_kwargs(args.env_id, env_kwargs)  # and so do --env-arg keys the env does not take
    if args.format != "openai":
        env_kwargs["format"] = args.format
    policy = _build_policy(args)
    out = args.out or f"runs/{args.env_id.replace('/', '-')}-{getattr(policy, 'name', 'model').replace('/', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    summary = asyncio.run(arun(
        args.env_id, policy, episodes=args.episodes, seed=args.seed, concurrency=args.concurrency,
        max_turns=args.max_turns, timeout=args.timeout, out=out, resume=args.resume,
        progress=not args.no_progress, env_kwargs=env_kwargs,
        config={"format": args.format, "base_url": args.base_url},
    ))
    print(summary.table())
    print(f"run directory: {out}")
    if summary.episodes and summary.errors == summary.episodes:
        print(f"error: every episode failed; first error: {summary.first_error}\n"
              f"fix the cause, then continue with --resume --out {out}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentgym", description="Build, evaluate and train LLM agents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list registered environments")
    p.add_argument("--tag", help="filter by tag or namespace (e.g. textworld)")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("eval", help="evaluate a model or baseline policy on an environment")
    p.add_argument("env_id")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", help="model name at an OpenAI-compatible endpoint")
    who.add_argument("--policy", choices=["oracle", "random", "noop"], help="a built-in baseline policy")
    p.add_argument("--base-url", help="OpenAI-compatible base URL (default: the OpenAI API)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-turns", type=int, default=None, help="default: the env's own limit")
    p.add_argument("--seed", type=int, default=0, help="first seed; episode i uses seed+i")
    p.add_argument("--timeout", type=float, default=None, help="seconds per episode")
    p.add_argument("--out", help="run directory (default runs/<env>-<model>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--format", choices=["openai", "tags", "react"], default="openai",
                   help="action format: native tool calls, or text tags / ReAct for models without tools")
    p.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="env constructor argument")
    p.add_argument("--temperature", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_eval)

    try:
        from .models.cli import add_parser as add_model_commands
    except ImportError:
        add_model_commands = None
    if add_model_commands is not None:
        add_model_commands(sub)

    for ep in sorted(metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as e:  # a family whose extra is missing keeps the others usable
            p = sub.add_parser(ep.name, help=f"(unavailable: {type(e).__name__})")
            p.set_defaults(func=lambda a, e=e, n=ep.name: _unavailable(n, e))
    return parser


def _unavailable(name: str, err: Exception) -> int:
    print(f"error: `agentgym {name}` is unavailable here: {err}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except AgentGymError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; continue with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
