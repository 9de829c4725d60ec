"""``agentgym train CONFIG.yaml [--resume] [--set key=value ...]`` (entry point group ``agentgym.commands``).

    agentgym train configs/maze-grpo-cpu.yaml --set trl.max_steps=20 --set reward.shaping=gated
    agentgym train configs/maze-grpo-cpu.yaml --resume        # continue from the newest checkpoint
"""

from __future__ import annotations

import argparse
import sys
import warnings


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train a local model on an agentgym env (GRPO/ARPO on TRL)",
                              description="Train with multi-turn GRPO or ARPO on TRL from a YAML config.")
    p.add_argument("config", help="YAML config (see configs/)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in output_dir")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="dotted override, repeatable (e.g. trl.max_steps=10)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--verbose", action="store_true",
                   help="show TRL/transformers output (per-step dicts, warnings) instead of writing it to train.log")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from agentgym.errors import ConfigError

    from .config import load_config

    try:
        with warnings.catch_warnings(record=True) as early:  # TRL's FutureWarnings: to train.log below
            warnings.simplefilter("always")
            config = load_config(args.config, args.overrides)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .training import train

    from pathlib import Path

    from agentgym.progress import quiet_libraries
    from agentgym.report import run_end_text

    with quiet_libraries(Path(config.output_dir) / "train.log", args.verbose):
        for w in early:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        train(config, resume=args.resume, progress=not args.no_progress, verbose=args.verbose)
    print(run_end_text(config.output_dir))
    return 0


__all__ = ["add_parser", "run"]
