"""An OpenAI-compatible server for local transformers checkpoints (``agentgym serve-model``).

``POST /v1/chat/completions`` (messages, tools, tool_choice auto|none|required|named,
max_tokens / max_completion_tokens, temperature, top_p, seed, stop, logprobs), ``GET /v1/models``
and ``GET /health``. Tool calls are read from the model's ``<tool_call>`` blocks with
:func:`agentgym.parsers.parse_hermes`. Generation runs on one worker thread, off the event
loop, one request at a time. Loopback only unless you pass another host.

    with ModelServer("models/tiny") as server:          # uvicorn in a thread, free port
        client = openai.OpenAI(base_url=server.url, api_key="x")
        client.chat.completions.create(model=server.model_name, messages=[...], tools=[...])

    serve("models/tiny", port=8000)                      # blocking, what the CLI runs
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ..errors import ConfigError, MissingDependencyError
from ..parsers import parse_hermes
from .openai_schema import ChatCompletionRequest, NamedToolChoice, TokenLogprob, completion_body, error_body

DEFAULT_MAX_TOKENS = 512
SMALL_MODEL_PARAMS = 20_000_000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RequestError(Exception):
    """A request the server refuses: becomes an OpenAI-shaped error response."""

    def __init__(self, message: str, status: int = 400, *, param: str | None = None, code: str | None = None,
                 type: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type

    def body(self) -> dict[str, Any]:
        return error_body(str(self), type=self.type, param=self.param, code=self.code)


class ChatGenerator:
    """A causal LM + its tokenizer turning chat requests into completions (blocking; one thread).

    Example::

        gen = ChatGenerator.load("models/tiny")
        body = gen.complete(ChatCompletionRequest(model="tiny", messages=[{"role": "user", "content": "hi"}]))
    """

    def __init__(self, model: Any, tokenizer: Any):
        import torch

        self.model, self.tokenizer, self._torch = model.eval(), tokenizer, torch
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("this tokenizer has no chat_template; serve a chat model (e.g. one from init_tiny)")
        self.max_positions = int(getattr(model.config, "max_position_embeddings", None) or tokenizer.model_max_length)
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        self.eos_ids = sorted({*eos, tokenizer.eos_token_id} - {None})
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentgym-generate")

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "cpu", threads: int | None = None) -> ChatGenerator:
        """Loads a checkpoint. ``threads`` sets torch's (process-wide) CPU thread count; 0 = auto:
        one thread for models under 20M parameters, whose ops are too small to split (on a busy
        machine extra threads only contend: ~10x slower on 2 shared cores)."""
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise MissingDependencyError(e.name or "transformers", "hf", "serving local models") from e
        if not (Path(path) / "config.json").exists():
            raise ConfigError(f"{path} is not a model directory (no config.json); build one with "
                                    "`agentgym model init-tiny DIR` or pass a save_pretrained() directory")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(device)
        if threads == 0:
            threads = 1 if sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMS else None
        if threads:
            torch.set_num_threads(threads)
        return cls(model, AutoTokenizer.from_pretrained(path))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ generation
    def complete(self, req: ChatCompletionRequest, model_name: str) -> dict[str, Any]:
        tok, torch = self.tokenizer, self._torch
        tools = [t.model_dump() for t in req.tools] if req.tools else None
        messages = [m.to_template() for m in req.messages]
        try:
            prompt_ids = list(tok.apply_chat_template(messages, tools=tools, add_generation_prompt=True,
                                                      tokenize=True, return_dict=True)["input_ids"])
        except Exception as e:  # jinja errors, malformed tool_calls
            raise RequestError(f"the chat template cannot render these messages: {e}", param="messages") from e
        prefill = self._prefill(req)
        prefill_ids = tok.encode(prefill, add_special_tokens=False) if prefill else []
        room = self.max_positions - len(prompt_ids) - len(prefill_ids)
        max_new = req.max_new_tokens or min(DEFAULT_MAX_TOKENS, room)
        if room < 1 or max_new > room:
            raise RequestError(
                f"This model's maximum context length is {self.max_positions} tokens. However, you requested "
                f"{len(prompt_ids) + len(prefill_ids) + max_new} tokens ({len(prompt_ids)} in the messages, "
                f"{max_new} in the completion). Please reduce the length of the messages or completion.",
                param="messages", code="context_length_exceeded")
        input_ids = torch.tensor([prompt_ids + prefill_ids], device=self.model.device)
        kwargs: dict[str, Any] = dict(
            attention_mask=torch.ones_like(input_ids), max_new_tokens=max_new, eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id, return_dict_in_generate=True, output_logits=req.logprobs,
        )
        if req.temperature > 0:
            kwargs.update(do_sample=True, temperature=req.temperature, top_p=req.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if req.stop_list:
            kwargs.update(stop_strings=req.stop_list, tokenizer=tok)
        with torch.inference_mode():
            if req.seed is not None:
                torch.manual_seed(req.seed)
            out = self.model.generate(input_ids, **kwargs)
        new = out.sequences[0, input_ids.shape[1]:].tolist()
        finish = "length"
        if new and new[-1] in self.eos_ids:
            new, finish = new[:-1], "stop"
        text = tok.decode(new, skip_special_tokens=True)
        cut = [i for i in (text.find(s) for s in req.stop_list) if i >= 0]
        if cut:
            text, finish = text[: min(cut)], "stop"
        message = self._message(prefill + text, req)
        if message.get("tool_calls"):
            finish = "tool_calls"
        logprobs = self._logprobs(out.logits, new, req.top_logprobs or 0) if req.logprobs else None
        return completion_body(model_name, message, finish, len(prompt_ids), len(prefill_ids) + len(new), logprobs)

    @staticmethod
    def _prefill(req: ChatCompletionRequest) -> str:
        """Forces a tool call by starting the reply for the model (tool_choice required / named).

        Prefills end where the template's own tokens split (``":`` then ``Ġ{"``), so the model
        continues from a token boundary it saw in training.
        """
        if isinstance(req.tool_choice, NamedToolChoice):
            return '<tool_call>\n{"name": ' + json.dumps(req.tool_choice.function["name"]) + ', "arguments":'
        if req.tool_choice == "required":
            return '<tool_call>\n{"name": "'
        return ""

    @staticmethod
    def _message(text: str, req: ChatCompletionRequest) -> dict[str, Any]:
        if req.tools and req.tool_choice != "none":
            parsed = parse_hermes(text)
            if parsed.tool_calls:
                return {"role": "assistant", "content": parsed.text or None,
                        "tool_calls": [c.to_openai() for c in parsed.tool_calls]}
        return {"role": "assistant", "content": text}

    def _logprobs(self, logits: Any, new: list[int], top: int) -> list[TokenLogprob]:
        result = []
        for step, token_id in enumerate(new):
            lp = self._torch.log_softmax(logits[step][0].float(), dim=-1)
            alts = []
            if top:
                values, ids = lp.topk(top)
                alts = [{"token": self.tokenizer.decode([i]), "logprob": float(v),
                         "bytes": list(self.tokenizer.decode([i]).encode())} for v, i in zip(values.tolist(), ids.tolist())]
            piece = self.tokenizer.decode([token_id])
            result.append(TokenLogprob(token=piece, logprob=float(lp[token_id]), bytes=list(piece.encode()),
                                       top_logprobs=alts))
        return result


def create_app(generator: ChatGenerator, *, model_name: str, api_key: str | None = None):
    """The FastAPI app serving ``generator`` as ``model_name``; ``api_key`` makes /v1/* require a bearer token."""
    app = FastAPI(title="agentgym serve-model", docs_url=None, redoc_url=None)

    def fail(err: RequestError) -> JSONResponse:
        return JSONResponse(status_code=err.status, content=err.body())

    def check_key(request: Request) -> RequestError | None:
        if api_key and request.headers.get("authorization") != f"Bearer {api_key}":
            return RequestError("Incorrect API key provided; send it as `Authorization: Bearer KEY`.", 401,
                                code="invalid_api_key")
        return None

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": model_name}

    @app.get("/v1/models")
    async def models(request: Request):
        if err := check_key(request):
            return fail(err)
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": int(time.time()),
                                            "owned_by": "agentgym"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        if err := check_key(request):
            return fail(err)
        try:
            payload = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as e:
            return fail(RequestError(f"the request body is not valid JSON: {e}"))
        if not isinstance(payload, dict):
            return fail(RequestError("the request body must be a JSON object with `model` and `messages`"))
        try:
            req = ChatCompletionRequest.model_validate(payload)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or None
            msg = first["msg"].removeprefix("Value error, ")
            return fail(RequestError(f"{where}: {msg}" if where else msg, param=where))
        if req.model not in (model_name,):
            return fail(RequestError(f"The model {req.model!r} does not exist; this server serves {model_name!r}.",
                                     404, param="model", code="model_not_found"))
        loop = asyncio.get_running_loop()
        try:
            body = await loop.run_in_executor(generator.executor, generator.complete, req, model_name)
        except RequestError as err:
            return fail(err)
        except Exception as e:  # a real failure of the model: report it, keep serving
            return fail(RequestError(f"generation failed: {type(e).__name__}: {e}", 500, type="server_error"))
        return body

    return app


class ModelServer:
    """Serves a checkpoint on a background thread (tests, notebooks); ``url`` is the ``/v1`` base URL."""

    def __init__(self, path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 0,
                 model_name: str | None = None, api_key: str | None = None):
        self.path, self.host, self.port, self.api_key = Path(path), host, port, api_key
        self.model_name = model_name or self.path.name
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.generator: ChatGenerator | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> ModelServer:
        import uvicorn

        self.generator = ChatGenerator.load(self.path)
        app = create_app(self.generator, model_name=self.model_name, api_key=self.api_key)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="agentgym-serve-model")
        self._thread.start()
        deadline = time.time() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.time() > deadline:
                raise RuntimeError(f"the model server did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.generator is not None:
            self.generator.close()
        self._server = self._thread = self.generator = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000, model_name: str | None = None,
          api_key: str | None = None, threads: int | None = 0) -> None:
    """Blocking: serves ``path`` until interrupted (what ``agentgym serve-model`` runs).

    ``threads``: torch CPU threads (0 = auto, see :meth:`ChatGenerator.load`; None = torch's default).
    """
    import uvicorn

    name = model_name or Path(path).name
    generator = ChatGenerator.load(path, threads=threads)
    try:
        uvicorn.run(create_app(generator, model_name=name, api_key=api_key), host=host, port=port,
                    log_level="info")
    finally:
        generator.close()
