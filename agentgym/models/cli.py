"""CLI commands for local models: ``agentgym model init-tiny`` and ``agentgym serve-model``.

    agentgym model init-tiny models/tiny --arch qwen2 --hidden-size 128 --layers 4
    agentgym serve-model models/tiny --port 8000          # OpenAI-compatible, 127.0.0.1 only, batched
    agentgym eval toy/maze --model tiny --base-url http://127.0.0.1:8000/v1

Heavy imports (torch, transformers) happen when a command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import ConfigError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``model`` (with ``init-tiny``) and ``serve-model`` to the ``agentgym`` command line."""
    p = subparsers.add_parser("model", help="build local models (tiny random models for tests and demos)")
    sub = p.add_subparsers(dest="model_command", metavar="COMMAND")
    init = sub.add_parser("init-tiny", help="build a ~1M-parameter model with a local tokenizer and tool chat template")
    init.add_argument("out", help="output directory (save_pretrained layout)")
    init.add_argument("--arch", choices=["qwen2", "llama"], default="qwen2")
    init.add_argument("--hidden-size", type=int, default=128)
    init.add_argument("--layers", type=int, default=4)
    init.add_argument("--heads", type=int, default=4)
    init.add_argument("--kv-heads", type=int, default=2)
    init.add_argument("--intermediate-size", type=int, default=None, help="default: 4 x hidden size")
    init.add_argument("--vocab-size", type=int, default=2048, help="BPE vocabulary target (an upper bound)")
    init.add_argument("--max-positions", type=int, default=4096)
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--corpus", action="append", default=[], metavar="FILE",
                      help="extra UTF-8 text file to train the tokenizer on (repeatable)")
    init.add_argument("--overwrite", action="store_true", help="replace a model already in OUT")
    init.set_defaults(func=_cmd_init_tiny)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    s = subparsers.add_parser("serve-model", help="serve a local checkpoint over an OpenAI-compatible HTTP API")
    s.add_argument("path", help="a save_pretrained() directory with a chat template (e.g. from `model init-tiny`)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    s.add_argument("--model-name", default=None, help="the name clients pass as `model` (default: directory name)")
    s.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="require `Authorization: Bearer $VAR` on /v1/* (read from this environment variable)")
    s.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads; 0 = auto (1 for models under 20M parameters, else torch's default)")
    s.add_argument("--max-batch-size", type=int, default=64,
                   help="requests decoded together (continuous batching); default 64")
    s.add_argument("--max-waiting", type=int, default=256,
                   help="requests allowed to wait for a batch slot; past it: HTTP 429 with Retry-After (default 256)")
    s.add_argument("--max-body-bytes", type=int, default=4 * 1024 * 1024,
                   help="larger request bodies are refused with HTTP 413 before being read (default 4 MiB)")
    s.add_argument("--max-model-len", type=int, default=None,
                   help="context length served (prompt + completion); default: the model's max_position_embeddings")
    s.set_defaults(func=_cmd_serve_model)


def _cmd_init_tiny(args: argparse.Namespace) -> int:
    from .tiny import init_tiny

    corpus = []
    for f in args.corpus:
        try:
            with open(f, encoding="utf-8") as fh:
                corpus.append(fh.read())
        except OSError as e:
            raise ConfigError(f"--corpus {f}: cannot read it ({e.strerror})") from e
    try:
        path = init_tiny(
            args.out, arch=args.arch, hidden_size=args.hidden_size, layers=args.layers, heads=args.heads,
            kv_heads=args.kv_heads, intermediate_size=args.intermediate_size, vocab_size=args.vocab_size,
            max_positions=args.max_positions, seed=args.seed, corpus=corpus, overwrite=args.overwrite,
        )
    except FileExistsError as e:
        raise ConfigError(str(e).replace("overwrite=True (CLI: --overwrite)", "--overwrite")) from e
    from .tiny import load_build_info

    info = load_build_info(path)
    print(json.dumps({"path": str(path), "parameters": info.num_parameters if info else None,
                      "arch": args.arch}))
    return 0


def _cmd_serve_model(args: argparse.Namespace) -> int:
    import os

    from .server import LOOPBACK, serve

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ConfigError(f"--api-key-env {args.api_key_env}: that environment variable is empty or unset")
    if args.host not in LOOPBACK:
        auth = "with an API key" if api_key else "WITHOUT authentication (use --api-key-env)"
        print(f"warning: serving on {args.host}, reachable from other machines, {auth}", file=sys.stderr)
    if args.threads < 0:
        raise ConfigError(f"--threads must be >= 0 (0 = auto), got {args.threads}")
    for flag in ("max_batch_size", "max_waiting", "max_body_bytes"):
        if getattr(args, flag) < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    serve(args.path, host=args.host, port=args.port, model_name=args.model_name, api_key=api_key,
          threads=args.threads or 0, max_batch_size=args.max_batch_size, max_waiting=args.max_waiting,
          max_body_bytes=args.max_body_bytes, max_model_len=args.max_model_len)
    return 0
