"""SyncSandbox: the blocking facade of a Sandbox, for scripts and notebooks.

    sb = make_sandbox("bwrap").sync()
    print(sb.exec("echo hi").stdout)
    sb.close()

It drives the sandbox on a private event loop in a background thread, so it works from
plain code and from inside a running loop alike. Use either the async API or this
facade for one sandbox, not both.
"""

from __future__ import annotations

import asyncio
import threading

from .base import Sandbox


class SyncSandbox:
    """Same methods as Sandbox, blocking. Also a (sync) context manager."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"sandbox-{sandbox.id}", daemon=True)
        self._thread.start()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def start(self) -> SyncSandbox:
        self._run(self.sandbox.start())
        return self

    def exec(self, cmd, timeout=None, **kwargs):
        return self._run(self.sandbox.exec(cmd, timeout, **kwargs))

    def write_file(self, path, data, **kwargs):
        return self._run(self.sandbox.write_file(path, data, **kwargs))

    def read_file(self, path, **kwargs):
        return self._run(self.sandbox.read_file(path, **kwargs))

    def upload(self, local_dir, dest="."):
        return self._run(self.sandbox.upload(local_dir, dest))

    def download(self, path, local):
        return self._run(self.sandbox.download(path, local))

    def snapshot(self):
        return self._run(self.sandbox.snapshot())

    def restore(self, ref):
        return self._run(self.sandbox.restore(ref))

    def fork(self) -> SyncSandbox:
        return SyncSandbox(self._run(self.sandbox.fork()))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self.sandbox.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> SyncSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
