"""``web/tasks``: WebArena-style task JSON against any site — bring your own.

    env = agentgym.make("web/tasks", tasks="test.raw.json",            # WebArena / WebArena-Verified files
                        sites={"shopping": "http://127.0.0.1:7770"})   # __SHOPPING__ -> that URL
    env = agentgym.make("web/tasks", tasks="my.json", start_command="python app.py --port {port} --db {db}",
                        db_template="seed.sqlite")                     # a fresh server + DB copy per episode
    env = agentgym.make("web/tasks", tasks="my.json", sites={...}, reset_command="./reset.sh")   # shared backend

Isolation, best first: ``start_command`` (with ``{port}`` and ``{db}``, started per episode on a
copy of ``db_template``: parallel episodes and fork are isolated, ``db_state`` checks read the
copy), else ``reset_command`` (run before every episode: a shared backend, so run one episode at
a time). Observations, actions and evaluators are those of the bundled sites. WebArena's
``eval`` block is read as is; WebArena-Verified's evaluator list (``AgentResponseEvaluator``: the
answer is the JSON ``{"task_type", "status", "retrieved_data"}``; ``NetworkEventEvaluator``: a
request the browser made) is converted on load.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import socket
import subprocess
import time
import weakref
from pathlib import Path
from typing import Any

from agentgym.owner import MARK_VAR, kill_recorded, marked_env, stop_marked

from .browser import WebInfraError
from .env import WebEnv
from .server import SERVERS_PREFIX, owned_temp_dir


def load_task_file(source: str | Path | list | dict) -> list[dict[str, Any]]:
    """Reads WebArena (``test.raw.json``, one ``config_files/N.json``) or WebArena-Verified task files."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ValueError(f"task file {path} does not exist")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"task file {path} is not JSON: {e}") from None
    else:
        data = source
    items = data if isinstance(data, list) else [data]
    out = []
    for i, t in enumerate(items):
        if not isinstance(t, dict) or "intent" not in t:
            raise ValueError(f"task {i} has no `intent`; expected WebArena's task format (intent, start_url, eval)")
        t = dict(t)
        t["task_id"] = str(t.get("task_id", i))
        if "start_urls" in t and "start_url" not in t:
            t["start_url"] = (t["start_urls"] or [""])[0]
        t["start_url"] = str(t.get("start_url") or "").split(" |AND| ")[0]
        if isinstance(t.get("eval"), list):
            t["eval"] = convert_verified_eval(t["eval"])
        t.setdefault("eval", {"eval_types": []})
        t.setdefault("sites", [])
        t.setdefault("split", "test")
        t.setdefault("require_login", bool(t.get("login_as")))
        out.append(t)
    return out


def convert_verified_eval(evaluators: list[dict[str, Any]]) -> dict[str, Any]:
    """WebArena-Verified's evaluator list as an agentgym ``eval`` block."""
    ev: dict[str, Any] = {"eval_types": [], "agent_response": None, "network_events": []}
    for e in evaluators:
        if e.get("evaluator") == "AgentResponseEvaluator":
            ev["eval_types"].append("agent_response")
            ev["agent_response"] = e.get("expected") or {}
        elif e.get("evaluator") == "NetworkEventEvaluator":
            if "network_event" not in ev["eval_types"]:
                ev["eval_types"].append("network_event")
            ev["network_events"].append({**(e.get("expected") or {}),
                                         "ignored_query_params": list(e.get("ignored_query_params") or [])
                                         + list(e.get("ignored_query_params_patterns") or [])})
        else:
            ev["eval_types"].append(str(e.get("evaluator")))
    return ev


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TaskFileEnv(WebEnv):
    """Your tasks on your site (see the module docstring).

    Args:
        tasks: a task JSON file (or the parsed list).
        sites: site name -> base URL (``{"shopping": "http://127.0.0.1:7770"}``); ``__SHOPPING__`` is replaced.
        start_command: shell command starting one site instance; ``{port}`` and ``{db}`` are filled in.
        db_template: SQLite file copied per episode for ``start_command`` (``{db}``).
        reset_command: shell command run before every episode (shared backends).
        site: the name ``start_command``'s instance serves (default: the tasks' first site, else ``site``).
    """

    def __init__(self, *, tasks: Any = None, sites: dict[str, str] | None = None, start_command: str | None = None,
                 db_template: str | None = None, reset_command: str | None = None, site: str | None = None,
                 split: str = "all", max_obs_chars: int = 6000, screenshot: bool = False,
                 action_timeout: float = 5.0, nav_timeout: float = 10.0, start_timeout: float = 20.0,
                 history: str = "full"):
        if tasks is None:  # the shipped example: bundled shop and forum tasks in WebArena's format
            tasks = Path(__file__).parent / "data" / "example_tasks.json"
        self.bundled = not sites and not start_command   # the tasks name bundled sites (__SHOP__, __FORUM__)
        for url in (sites or {}).values():
            if not str(url).startswith(("http://", "https://")):
                raise ValueError(f"site URLs must start with http:// or https://, got {url!r}")
        if db_template and not Path(db_template).exists():
            raise ValueError(f"db_template {db_template} does not exist")
        self.file_tasks = load_task_file(tasks)
        super().__init__(sites=["shop"], split=split, max_obs_chars=max_obs_chars, screenshot=screenshot,
                         action_timeout=action_timeout, nav_timeout=nav_timeout, history=history)
        self._web_kwargs = dict(tasks=self.file_tasks, sites=sites, start_command=start_command,
                                db_template=db_template, reset_command=reset_command, site=site, split=split,
                                max_obs_chars=max_obs_chars, screenshot=screenshot, action_timeout=action_timeout,
                                nav_timeout=nav_timeout, start_timeout=start_timeout, history=history)
        self.site_urls, self.start_command, self.db_template = dict(sites or {}), start_command, db_template
        self.reset_command, self.site_name, self.start_timeout = reset_command, site, start_timeout
        self.procs: list[tuple[subprocess.Popen, Path, str]] = []  # (shell, its folder, its marker)
        weakref.finalize(self, _stop_servers, self.procs)  # also at interpreter exit, when close() was never called
        self._tmp: str | None = None

    def task_pool(self) -> list[dict[str, Any]]:
        return [t for t in self.file_tasks if self.split == "all" or t.get("split") == self.split]

    def _prepare_sites(self, t: dict[str, Any], source: dict[str, Any] | None = None) -> list[dict]:
        if self.bundled:
            from .sites import SITES

            unknown = [s for s in t.get("sites") or [] if s not in SITES]
            if unknown or not t.get("sites"):
                raise ValueError(f"task {t['task_id']} names sites {t.get('sites')}; pass sites={{name: url}} or "
                                 f"start_command=... for sites other than the bundled {', '.join(SITES)}")
            return super()._prepare_sites(t, source)
        self.urls = dict(self.site_urls)
        if self.reset_command and source is None:
            r = subprocess.run(self.reset_command, shell=True, capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise WebInfraError(f"reset_command failed ({r.returncode}): {r.stderr[-500:]}")
        if self.start_command:
            name = self.site_name or (t.get("sites") or ["site"])[0]
            self._tmp = self._tmp or str(owned_temp_dir(SERVERS_PREFIX))
            db = os.path.join(self._tmp, f"{name}-{_free_port()}.sqlite")
            src = (source or {}).get(name) or self.db_template
            if src:
                shutil.copyfile(src, db)
            port = _free_port()
            cmd = self.start_command.format(port=port, db=shlex.quote(db))
            # whatever it starts carries a marker: stopped at close, or by the next run's reclaim if this one is killed
            env = marked_env(Path(self._tmp))
            proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True, env=env)
            self.procs.append((proc, Path(self._tmp), env[MARK_VAR]))
            deadline = time.time() + self.start_timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        err = proc.stderr.read().decode(errors="replace")[-500:] if proc.poll() is not None else ""
                        raise WebInfraError(f"start_command did not serve 127.0.0.1:{port} within "
                                            f"{self.start_timeout:g} s: {err}")
                    time.sleep(0.05)
            self.urls[name] = f"http://127.0.0.1:{port}"
            self.dbs[name] = db
        return list(t.get("cookies") or [])

    def _oracle_key(self) -> tuple | None:
        return super()._oracle_key() if self.bundled else None   # your site's pages may change: no cache

    def _release_sites(self) -> None:
        if self.bundled:
            super()._release_sites()
            return
        _stop_servers(self.procs)
        for path in self.dbs.values():
            try:
                os.unlink(path)
            except OSError:
                pass
        self.dbs = {}
        self.token = None

    async def _close(self) -> None:
        await super()._close()
        if self._tmp:
            folder = Path(self._tmp)

            def remove() -> None:  # a server not stopped yet is killed first (its record goes with the folder)
                kill_recorded(folder)
                shutil.rmtree(folder, ignore_errors=True)

            await asyncio.to_thread(remove)


def _stop_servers(procs: list[tuple[subprocess.Popen, Path, str]]) -> None:
    """Stops the ``start_command`` servers and forgets them: every process carrying a server's marker and
    the members of its shell's process group (a server that rewrote its environment, as setproctitle
    does, keeps the group), SIGTERM, then SIGKILL after 5 s."""
    for proc, folder, marker in procs:
        # the group id is the shell's pid, which cannot be reused while the shell is unreaped
        stop_marked(folder, marker, group=proc.pid if proc.returncode is None else None)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    procs.clear()
