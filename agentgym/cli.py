"""The ``agentgym`` command line.

    agentgym list
    agentgym info toy/maze
    agentgym eval toy/maze --policy oracle --episodes 20 --out runs/maze-oracle
    agentgym eval my_envs:Guess --policy random          # your own env class (my_envs.py here)
    agentgym eval demo/guess --import my_envs --policy random   # a module that registers envs
    agentgym eval toy/maze --model gpt-4.1-mini --episodes 50 --concurrency 16 --out runs/maze-gpt
    agentgym eval toy/maze --model tiny --base-url http://127.0.0.1:8000/v1 --format tags --env-arg size=3

Subcommands of the families (``sandbox``, ``textworld``, ``train``, ...) plug in through the
entry-point group ``agentgym.commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from .errors import AgentGymError, ConfigError, EnvNotFoundError

COMMAND_GROUP = "agentgym.commands"
DEFAULT_EPISODES = 10


class _DefaultsHelp(argparse.HelpFormatter):
    """Help that shows each option's default, unless its help already explains it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default:" in text or action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}" if value is None
                                         else f"must be an integer >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (counts and limits: --episodes, --concurrency, --max-turns)."""
    return _integer(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (--seed, --retries)."""
    return _integer(text, 0)


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds > 0 (--timeout; omit the flag for no limit)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}; omit --timeout for no limit")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (--temperature)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def parse_env_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["size=5", "name=x", "opts={\\"a\\":1}"]`` → kwargs; values are JSON when they parse as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not key.strip().isidentifier():
            raise ConfigError(f"--env-arg expects key=value with a Python identifier as key, got {pair!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        key = key.strip()
        if key in out:
            raise ConfigError(f"--env-arg {key} is given twice ({out[key]!r}, then {parsed!r}): give it once")
        out[key] = parsed
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    from .registry import _plugin_errors, list_envs
    from .requirements import check

    _import_user_modules(args)
    if args.filter and args.tag:
        raise ConfigError("give a filter or --tag, not both")
    args.tag = args.tag or args.filter
    if args.tag and "/" in args.tag.rstrip("/") and any(s.id == args.tag for s in list_envs()):
        args.env_id, args.json, args.no_example, args.seed = args.tag, False, False, 0
        return _cmd_info(args)  # `agentgym list toy/maze`: the one env, in full
    specs = list_envs(args.tag)
    if args.tag and not specs:
        known = sorted({t for s in list_envs() for t in s.tags} | {s.id.split("/")[0] for s in list_envs()})
        raise ConfigError(f"no environment has tag or namespace {args.tag!r}; known: {', '.join(known)}")
    width = max((len(s.id) for s in specs), default=10)
    missing_any = False
    for s in specs:
        missing = [r for r in check(*s.requirements) if not r.installed]
        missing_any = missing_any or bool(missing)
        extra = f"  [missing: {', '.join(r.name for r in missing)}: {missing[0].pip}]" if missing else ""
        print(f"{s.id:<{width}}  {s.description}{extra}")
    if missing_any:
        print("(envs marked [missing: ...] need the extra named; `agentgym info ENV_ID` shows the details)")
    for name, err in _plugin_errors.items():
        print(f"warning: plugin {name!r} failed to load: {err}", file=sys.stderr)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .info import env_info, render

    _import_user_modules(args)
    env_id = _resolve_env_id(args.env_id)
    info = asyncio.run(env_info(env_id, example=not args.no_example, seed=args.seed))
    print(info.model_dump_json(indent=2) if args.json else render(info))
    return 0


def _import_user_modules(args: argparse.Namespace) -> None:
    from .user_envs import import_modules

    import_modules(getattr(args, "imports", None))


def _resolve_env_id(env: str) -> str:
    """An env id, or ``module:Class`` imported and registered (see :mod:`agentgym.user_envs`)."""
    from .registry import spec
    from .user_envs import resolve_env

    env_id = resolve_env(env)
    try:
        spec(env_id)  # unknown ids fail here (with close matches), before anything is written
    except EnvNotFoundError as e:
        raise EnvNotFoundError(f"{e}\nYour own env: `agentgym eval my_module:MyEnv` (my_module.py in this directory), "
                               "or `--import my_module` for a module that calls agentgym.register") from None
    return env_id


def _build_policy(args: argparse.Namespace, seed: int = 0):
    from .policies.simple import NoopPolicy, OraclePolicy, RandomPolicy

    if args.policy:
        return {"oracle": OraclePolicy, "noop": NoopPolicy, "random": lambda: RandomPolicy(seed=seed)}[args.policy]()
    from .policies.openai import LOCAL_HOSTS, OpenAIPolicy

    local = bool(args.base_url) and any(h in args.base_url for h in LOCAL_HOSTS)
    if not os.environ.get(args.api_key_env) and not local:
        raise ConfigError(f"no API key for {args.base_url or 'the OpenAI API'}: set the environment variable "
                          f"{args.api_key_env} (or name another variable with --api-key-env NAME)")
    sampling: dict[str, Any] = {}
    if args.temperature is not None:
        sampling["temperature"] = args.temperature
    if args.max_tokens is not None:
        sampling["max_tokens"] = args.max_tokens
    return OpenAIPolicy(args.model, base_url=args.base_url, api_key_env=args.api_key_env, **sampling)


def _cmd_eval(args: argparse.Namespace) -> int:
    from .engine import arun
    from .registry import check_kwargs
    from .run_config import read_config

    if args.resume and not args.out:
        raise ConfigError("--resume needs --out: the run directory to continue")
    _import_user_modules(args)
    env_kwargs = parse_env_args(args.env_arg)
    env: Any = _remote_factory(args, env_kwargs) if args.remote else None
    if env is None:
        if not args.env_id:
            raise ConfigError("give an ENV_ID, or --remote URL for an env served by `agentgym serve`")
        args.env_id = _resolve_env_id(args.env_id)
        check_kwargs(args.env_id, env_kwargs)  # and so do --env-arg keys the env does not take
    if args.format != "openai":
        env_kwargs["format"] = args.format
    if args.workers > 1 and (args.remote or args.executor != "local"):
        raise ConfigError("--workers spreads local envs over processes; with --remote the server runs the envs "
                          "(`agentgym serve --workers N`), with --executor ray the Ray actors do")
    if env is None and args.executor == "ray":
        env = _ray_factory(args, env_kwargs)
    saved = read_config(Path(args.out)) if args.resume else None
    first_seed = args.seed if args.seed is not None else ((saved or {}).get("seeds") or [0])[0]
    policy = _build_policy(args, first_seed)
    out = args.out or f"runs/{args.env_id.replace('/', '-')}-{getattr(policy, 'name', 'model').replace('/', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    episodes = args.episodes
    if episodes is None and not saved:
        episodes = DEFAULT_EPISODES  # on resume, omitting --episodes continues the directory's total
    if args.resume and not (Path(out) / "trajectories.jsonl").exists():
        print(f"note: {out} holds no run yet: starting a new one", file=sys.stderr)
    resume_cmd = _resume_command(args, out)
    try:
        summary = asyncio.run(arun(
            env or args.env_id, policy, episodes=episodes, seed=args.seed, concurrency=args.concurrency,
            max_turns=args.max_turns, timeout=args.timeout, retries=args.retries, out=out, resume=args.resume,
            progress=not args.no_progress, env_kwargs=env_kwargs, config={"base_url": args.base_url},
            warn_errors=False, workers=args.workers,
        ))
    except KeyboardInterrupt:
        if not (Path(out) / "trajectories.jsonl").exists():
            print("interrupted before the run started; nothing was written", file=sys.stderr)
        else:
            print(f"interrupted: finished episodes are saved in {out}\ncontinue with: {resume_cmd}", file=sys.stderr)
        return 130
    print(summary.table())
    print(f"run directory: {out}")
    print(f"look at it:    agentgym view {out}   (or: agentgym report {out} -o report.html)")
    if summary.errors:
        every = "every episode failed: " if summary.errors == summary.episodes else ""
        print(f"error: {every}{summary.error_line()}\n"
              f"  all errors: {out}/trajectories.jsonl (the `error` field)\n"
              f"  fix the cause, then redo the errored episodes with: {resume_cmd}"
              + ("" if args.allow_errors else "\n  or pass --allow-errors to exit 0 with errored episodes"),
              file=sys.stderr)
        return 0 if args.allow_errors else 1
    return 0


def _remote_factory(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> Any:
    """``--remote URL``: every episode is a RemoteEnv session on that server."""
    import os

    from .remote import RemoteEnv, fetch_schema

    if env_kwargs or args.format != "openai" or args.executor != "local":
        raise ConfigError("--remote runs the env the server was started with: --env-arg, --format and --executor "
                          "belong on `agentgym serve` (or on the server's own machines)")
    token = os.environ.get(args.token_env) or None
    served = fetch_schema(args.remote, token)["spec"]["id"]
    if args.env_id and args.env_id != served:
        raise ConfigError(f"{args.remote} serves {served}, not {args.env_id}: drop ENV_ID or point --remote elsewhere")
    args.env_id = served

    def factory() -> RemoteEnv:
        return RemoteEnv(args.remote, token, max_turns=args.max_turns)

    factory.__name__ = served
    return factory


def _ray_factory(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> Any:
    """``--executor ray``: envs held by Ray actors (``--ray-address``; a local Ray instance without it)."""
    from .executors import RayEnvPool

    pool = RayEnvPool(args.env_id, env_kwargs, actors=args.ray_actors, address=args.ray_address,
                      max_turns=args.max_turns)
    factory = pool.factory()
    factory.__name__ = args.env_id  # type: ignore[attr-defined]
    return factory


def _resume_command(args: argparse.Namespace, out: str) -> str:
    """The command line that continues this run: the user's own arguments plus ``--resume --out OUT``."""
    argv = list(getattr(args, "argv", None) or [])
    kept, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--resume", "--allow-errors"):
            continue
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            kept.append(a)
    return "agentgym " + shlex.join([*kept, "--resume", "--out", str(out)])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentgym", description="Build, evaluate and train LLM agents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list registered environments (and which need an extra installed)")
    p.add_argument("filter", nargs="?", help="a tag or namespace (textworld), or one env id (as `agentgym info`)")
    p.add_argument("--tag", help="filter by tag or namespace (e.g. textworld)")
    _add_import_option(p)
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="one environment: arguments, tools, formats, requirements, an example",
                       formatter_class=_DefaultsHelp)
    p.add_argument("env_id", help="a registered env id, or module:Class")
    p.add_argument("--json", action="store_true", help="print the details as JSON")
    p.add_argument("--no-example", action="store_true", help="do not reset the env for an example observation")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the example observation")
    _add_import_option(p)
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("eval", help="evaluate a model or baseline policy on an environment",
                       formatter_class=_DefaultsHelp,
                       description="Runs episodes of ENV_ID and writes a run directory (trajectories.jsonl, "
                                   "summary.json, config.json). Exits 1 when any episode errored (unless "
                                   "--allow-errors), 2 on bad input, 130 when interrupted.")
    p.add_argument("env_id", nargs="?", help="a registered env id (see `agentgym list`), or module:Class / path.py:Class "
                                             "for your own env class (optional with --remote)")
    _add_import_option(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", help="model name at an OpenAI-compatible endpoint")
    who.add_argument("--policy", choices=["oracle", "random", "noop"], help="a built-in baseline policy")
    p.add_argument("--base-url", help="OpenAI-compatible base URL (default: the OpenAI API)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--episodes", type=positive_int, default=None,
                   help=f"number of episodes (default: {DEFAULT_EPISODES}; with --resume: the total, "
                        "and omitted: the run directory's own total)")
    p.add_argument("--concurrency", type=positive_int, default=8, help="episodes run at once")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="processes the episodes are spread over (each plays up to concurrency/workers at once)")
    p.add_argument("--max-turns", type=positive_int, default=None, help="turn limit per episode (default: the env's own)")
    p.add_argument("--seed", type=non_negative_int, default=None,
                   help="first seed; episode i uses seed+i (default: 0; with --resume: the run directory's)")
    p.add_argument("--timeout", type=positive_seconds, default=None, help="seconds per episode (default: no limit)")
    p.add_argument("--retries", type=non_negative_int, default=4, help="retries of transient API errors per request")
    p.add_argument("--out", help="run directory (default: runs/<env>-<model>-<time>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out: same env, --env-arg, --format, policy/model, --max-turns and seeds")
    p.add_argument("--allow-errors", action="store_true", help="exit 0 even when some episodes errored")
    p.add_argument("--format", choices=["openai", "tags", "react"], default="openai",
                   help="action format: native tool calls, or text tags / ReAct for models without tools")
    p.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="env constructor argument, repeatable; VALUE is JSON when it parses as JSON")
    p.add_argument("--temperature", type=non_negative_float, help="sampling temperature (default: the server's)")
    p.add_argument("--max-tokens", type=positive_int,
                   help="completion token limit per turn (default: what fits the model's context, as the server decides)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--remote", metavar="URL", help="evaluate on the env served at URL (`agentgym serve`); ENV_ID optional")
    p.add_argument("--token-env", default="AGENTGYM_SERVER_TOKEN", help="environment variable holding --remote's token")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where envs run: this process, or Ray actors (agentgym[ray])")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (`auto`, ray://host:10001); "
                                                        "default: a local Ray instance")
    p.add_argument("--ray-actors", type=positive_int, default=2, help="Ray actors holding envs (--executor ray)")
    p.set_defaults(func=_cmd_eval)

    from .server.cli import add_parser as add_serve_command
    add_serve_command(sub)

    try:
        from .models.cli import add_parser as add_model_commands
    except ImportError:
        add_model_commands = None
    if add_model_commands is not None:
        add_model_commands(sub)

    from .report.cli import add_parsers as add_report_commands

    add_report_commands(sub)  # `agentgym report`, `agentgym view`

    for ep in sorted(metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as e:  # a family whose extra is missing keeps the others usable
            p = sub.add_parser(ep.name, help=f"(unavailable: {type(e).__name__})")
            p.set_defaults(func=lambda a, e=e, n=ep.name: _unavailable(n, e))
    return parser


def _add_import_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (a module, or path.py, that calls agentgym.register); repeatable")


def _unavailable(name: str, err: Exception) -> int:
    print(f"error: `agentgym {name}` is unavailable here: {err}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that left (`| head`) is a BrokenPipeError here
        return code
    except AgentGymError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `agentgym info ENV | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
