"""An OpenAI-compatible server for local transformers checkpoints (``agentgym serve-model``).

``POST /v1/chat/completions`` (messages, tools, tool_choice auto|none|required|named,
max_tokens / max_completion_tokens, temperature, top_p, seed, stop, logit_bias, logprobs),
``GET /v1/models`` (with ``max_model_len``), ``GET /health`` and ``GET /stats`` (engine counters).
Concurrent requests are batched (:mod:`.engine`: continuous batching, per-request sampling and
seeds); past ``max_waiting`` queued requests the answer is 429 with ``Retry-After``. A request
whose client disconnects is cancelled between decode steps. Bodies over ``max_body_bytes`` are
refused (413) before they are read. Every error is OpenAI-shaped JSON. Loopback by default.

    with ModelServer("models/tiny") as server:          # uvicorn in a thread, free port
        client = openai.OpenAI(base_url=server.url, api_key="x")
        client.chat.completions.create(model=server.model_name, messages=[...], tools=[...])

    serve("models/tiny", port=8000)                      # blocking, what the CLI runs
"""

from __future__ import annotations

import asyncio
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
from starlette.exceptions import HTTPException as StarletteHTTPException

from .chat import ChatGenerator
from .engine import QueueFullError
from .openai_schema import ChatCompletionRequest, RequestError, parse_json_body

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
ROUTES = "POST /v1/chat/completions, GET /v1/models, GET /health, GET /stats"

__all__ = ["ChatGenerator", "ModelServer", "RequestError", "create_app", "serve"]


def fail(err: RequestError) -> JSONResponse:
    headers = dict(err.headers)
    if err.status == 413:
        headers["Connection"] = "close"  # the rest of the body is never read
    return JSONResponse(status_code=err.status, content=err.body(), headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` (Content-Length or streamed)."""
    too_big = RequestError(f"the request body is over this server's limit of {limit} bytes; send a smaller "
                           "request (or start serve-model with a larger --max-body-bytes)", 413,
                           code="request_too_large")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(f"invalid Content-Length header: {declared[:40]!r}")
        if int(declared) > limit:
            raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def wait_for_disconnect(request: Request) -> None:
    """Returns when the client closes the connection (uvicorn sends ``http.disconnect``)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def create_app(generator: ChatGenerator, *, model_name: str, api_key: str | None = None,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
    """The FastAPI app serving ``generator`` as ``model_name``; ``api_key`` makes /v1/* require a bearer token."""
    app = FastAPI(title="agentgym serve-model", docs_url=None, redoc_url=None, openapi_url=None)
    engine = generator.engine
    prepare_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="agentgym-prepare")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            return fail(RequestError(f"Invalid URL ({where}): this server has {ROUTES}", 404, code="not_found"))
        if exc.status_code == 405:
            return fail(RequestError(f"Method not allowed ({where}): this server has {ROUTES}", 405,
                                     code="method_not_allowed"))
        return fail(RequestError(str(exc.detail), exc.status_code))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        return fail(RequestError(f"internal error: {type(exc).__name__}: {exc}", 500, type="server_error"))

    def check_key(request: Request) -> None:
        if api_key and request.headers.get("authorization") != f"Bearer {api_key}":
            raise RequestError("Incorrect API key provided; send it as `Authorization: Bearer KEY`.", 401,
                               code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": model_name}

    @app.get("/stats")
    async def stats(request: Request):
        try:
            check_key(request)
        except RequestError as err:
            return fail(err)
        return engine.stats().model_dump()

    @app.get("/v1/models")
    async def models(request: Request):
        try:
            check_key(request)
        except RequestError as err:
            return fail(err)
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": int(time.time()),
                                            "owned_by": "agentgym", "max_model_len": generator.max_positions}]}

    @app.api_route("/v1/completions", methods=["GET", "POST"])
    async def legacy_completions():
        return fail(RequestError("POST /v1/completions (legacy text completions) is not served: this server serves "
                                 "only chat completions; send `messages` to POST /v1/chat/completions", 404,
                                 code="unsupported_endpoint"))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            check_key(request)
            req = parse_request(await read_body(request, max_body_bytes))
            if req.model != model_name:
                raise RequestError(f"The model {req.model!r} does not exist; this server serves {model_name!r}.",
                                   404, param="model", code="model_not_found")
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(prepare_pool, generator.prepare, req)
            try:
                job = engine.submit(prepared.prompt_ids, prepared.params, prepared.constraint)
            except QueueFullError as e:
                raise RequestError(f"The server is overloaded: {e}; retry after {e.retry_after} s.", 429,
                                   type="server_error", code="server_overloaded",
                                   headers={"Retry-After": str(e.retry_after)}) from None
        except RequestError as err:
            return fail(err)
        result = asyncio.wrap_future(job.future)
        gone = asyncio.ensure_future(wait_for_disconnect(request))
        try:
            await asyncio.wait({result, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not result.done():  # the client went away (or the server is stopping): stop generating
                engine.cancel(job)
            gone.cancel()
        if not result.done():
            return JSONResponse(status_code=499, content=RequestError("client closed the request", 499).body())
        try:
            return generator.render(prepared, result.result(), model_name)
        except Exception as e:  # a real failure of the model: report it, keep serving
            return fail(RequestError(f"generation failed: {type(e).__name__}: {e}", 500, type="server_error"))

    app.state.prepare_pool = prepare_pool
    return app


def parse_request(raw: bytes) -> ChatCompletionRequest:
    """Body bytes → a validated request, or a 400 RequestError naming the field."""
    payload = parse_json_body(raw)
    if not isinstance(payload, dict):
        raise RequestError("the request body must be a JSON object with `model` and `messages`")
    try:
        return ChatCompletionRequest.model_validate(payload)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or None
        msg = first["msg"].removeprefix("Value error, ")
        raise RequestError(f"{where}: {msg}" if where else msg, param=where) from None
    except RecursionError:
        raise RequestError("the request body is nested too deeply") from None


class ModelServer:
    """Serves a checkpoint on a background thread (tests, notebooks); ``url`` is the ``/v1`` base URL.

    ``engine`` is the running :class:`~.engine.BatchEngine` (``engine.stats()``, ``engine.pause()``).
    """

    def __init__(self, path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 0,
                 model_name: str | None = None, api_key: str | None = None, max_batch_size: int = 64,
                 max_waiting: int = 256, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_model_len: int | None = None):
        self.path, self.host, self.port, self.api_key = Path(path), host, port, api_key
        self.max_model_len = max_model_len
        self.model_name = model_name or self.path.name
        self.max_batch_size, self.max_waiting, self.max_body_bytes = max_batch_size, max_waiting, max_body_bytes
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._app: Any = None
        self.generator: ChatGenerator | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def engine(self):
        assert self.generator is not None, "start() the server first"
        return self.generator.engine

    def start(self) -> ModelServer:
        import uvicorn

        self.generator = ChatGenerator.load(self.path, max_batch_size=self.max_batch_size,
                                            max_waiting=self.max_waiting, max_model_len=self.max_model_len)
        app = self._app = create_app(self.generator, model_name=self.model_name, api_key=self.api_key,
                                     max_body_bytes=self.max_body_bytes)
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
        if self._app is not None:
            self._app.state.prepare_pool.shutdown(wait=False, cancel_futures=True)
        if self.generator is not None:
            self.generator.close()
        self._server = self._thread = self.generator = self._app = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000, model_name: str | None = None,
          api_key: str | None = None, threads: int | None = 0, max_batch_size: int = 64, max_waiting: int = 256,
          max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_model_len: int | None = None) -> None:
    """Blocking: serves ``path`` until interrupted (what ``agentgym serve-model`` runs).

    ``threads``: torch CPU threads (0 = auto, see :meth:`ChatGenerator.load`; None = torch's default).
    """
    import uvicorn

    name = model_name or Path(path).name
    generator = ChatGenerator.load(path, threads=threads, max_batch_size=max_batch_size, max_waiting=max_waiting,
                                   max_model_len=max_model_len)
    app = create_app(generator, model_name=name, api_key=api_key, max_body_bytes=max_body_bytes)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        app.state.prepare_pool.shutdown(wait=False, cancel_futures=True)
        generator.close()
