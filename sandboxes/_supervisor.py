"""The supervisor: pid 1 of a persistent bwrap sandbox, forking each command on request.

Standard library only, never imported by the host: the host runs this file's source
(read from an inherited pipe, see `BOOTSTRAP` in `_supervisor_client.py`) with
`python3 -I -S` as the last step of the bwrap command line (after the uid drop), and
talks to it over its stdin/stdout with frames of a 4-byte big-endian length followed by
UTF-8 JSON. Requests:

    {"op": "exec", "id": 7, "argv": [...], "env": {...}, "cwd": "/workspace", "timeout": 5.0,
     "stdin": "<base64>" | null, "cpu": 7}      # cpu: this command's RLIMIT_CPU (optional)
    {"op": "kill", "id": 7}          # kill that command's session (the host cancelled it)
    {"op": "kill_all", "id": 8}      # kill every process of the sandbox except this one
    {"op": "hello", "id": 0}         # answered with {"op": "ready"}: the sandbox is up

Each command runs in its own session with the sandbox's rlimits (set by util-linux
`prlimit`, which it is spawned through, or after a fork when there is none); stdout and stderr are
kept as head + tail (`output_bytes` each) and sent back with the exit status. When a
command's main process exits or its timeout hits, its whole session is killed. When no
command is left running, every other process in the sandbox is killed as well (so a
`setsid` double fork never outlives the exec that started it, unless another exec is
still running). Being pid 1 of the pid namespace, the supervisor cannot be signalled by
the commands (the kernel drops signals to a namespace init that has no handler), and
when it exits the kernel kills everything in the sandbox.
"""

import base64
import json
import os
import resource
import selectors
import signal
import struct
import sys
import time

HEADER = struct.Struct(">I")
MAX_REQUEST = 256 << 20
DRAIN_GRACE = 0.5  # seconds to wait for pipes after a command's session was killed
MAX_WAIT = 3600.0  # longest single select(): epoll refuses timeouts past ~24 days, and inf
RLIMITS = {"as": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE, "cpu": resource.RLIMIT_CPU,
           "core": resource.RLIMIT_CORE, "nproc": resource.RLIMIT_NPROC}


class Capped:
    """First `limit` bytes and the last `limit - limit // 2`, plus the total (rebuilt on the host)."""

    def __init__(self, limit):
        self.limit, self.head, self.tail, self.total = limit, bytearray(), bytearray(), 0

    def feed(self, chunk):
        self.total += len(chunk)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            keep = self.limit - self.limit // 2
            if len(self.tail) > keep:
                del self.tail[: len(self.tail) - keep]

    def wire(self):
        return [base64.b64encode(self.head).decode(), base64.b64encode(self.tail).decode(), self.total]


class Command:
    def __init__(self, req, pid, started, out_fd, err_fd, in_fd, stdin, limit):
        self.id, self.pid, self.started = req["id"], pid, started
        self.deadline = started + float(req["timeout"])
        self.buffers = {out_fd: Capped(limit), err_fd: Capped(limit)}
        self.out, self.err = self.buffers[out_fd], self.buffers[err_fd]
        self.open = {out_fd, err_fd}
        self.stdin_fd, self.stdin = in_fd, memoryview(stdin) if in_fd is not None else None
        self.status = None  # exit code once the main process was reaped
        self.timed_out = False
        self.drain_until = None


class Supervisor:
    def __init__(self, config):
        self.limits = {RLIMITS[k]: v for k, v in config["rlimits"].items()}
        self.prlimit = config.get("prlimit") if os.access(config.get("prlimit") or "/", os.X_OK) else None
        self.prlimit_args = [f"--{name}={value}" for name, value in config["rlimits"].items()]
        self.output_bytes = int(config["output_bytes"])
        self.sel = selectors.DefaultSelector()
        self.commands = {}  # id -> Command
        self.by_pid = {}  # pid -> Command
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.sweeping = False
        wake_r, self.wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(wake_r, selectors.EVENT_READ, "wake")
        os.set_blocking(0, False)
        os.set_blocking(1, False)
        self.sel.register(0, selectors.EVENT_READ, "requests")

    # ---- main loop ---------------------------------------------------------------------
    def run(self):
        while True:
            now = time.monotonic()
            wait = [c.deadline for c in self.commands.values() if c.status is None and not c.timed_out]
            wait += [c.drain_until for c in self.commands.values() if c.drain_until is not None]
            timeout = min(MAX_WAIT, max(0.0, min(wait) - now)) if wait else None
            for key, events in self.sel.select(timeout):
                if self.sel.get_map().get(key.fd) is not key:
                    continue  # closed (or its number reused) by an earlier event of this batch
                if key.data == "requests":
                    if not self.read_requests():
                        return  # the host closed the pipe: exit, the kernel kills the namespace
                elif key.data == "wake":
                    try:
                        while os.read(key.fd, 4096):
                            pass
                    except BlockingIOError:
                        pass
                elif key.data == "reply":
                    self.flush()
                elif events & selectors.EVENT_WRITE:
                    self.feed_stdin(key.data)
                else:
                    self.read_output(key.data, key.fd)
            self.reap()
            self.check_deadlines()

    def read_requests(self):
        try:
            chunk = os.read(0, 1 << 20)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.inbox += chunk
        while len(self.inbox) >= HEADER.size:
            (size,) = HEADER.unpack_from(self.inbox)
            if size > MAX_REQUEST:
                sys.exit("agentgym supervisor: oversized request frame")
            if len(self.inbox) < HEADER.size + size:
                break
            body = bytes(self.inbox[HEADER.size: HEADER.size + size])
            del self.inbox[: HEADER.size + size]
            try:
                req = json.loads(body)
            except ValueError:
                continue  # unanswerable without an id; the host's watchdog gives up on it
            self.handle_safely(req)
        return True

    def handle_safely(self, req):
        """Handle one request; a bad one is answered with an error result, never fatal to the sandbox."""
        try:
            self.handle(req)
        except Exception as exc:  # noqa: BLE001 - one bad request must not end every command
            ident = req.get("id") if isinstance(req, dict) else None
            if isinstance(ident, int) and req.get("op") == "exec" and ident not in self.commands:
                self.fail(req, time.monotonic(), 126, f"agentgym supervisor refused the request: "
                                                      f"{type(exc).__name__}: {exc}")

    def handle(self, req):
        op = req.get("op")
        if op == "exec":
            self.spawn(req)
        elif op == "kill":
            command = self.commands.get(req["id"])
            if command is not None:
                kill_session(command.pid)
        elif op == "kill_all":
            self.sweep()
            self.send({"op": "killed", "id": req["id"]})
        elif op == "hello":
            self.send({"op": "ready", "id": req["id"]})

    # ---- commands ----------------------------------------------------------------------
    def spawn(self, req):
        started = time.monotonic()
        check_request(req)  # before any fd exists: a bad request leaks nothing
        stdin = base64.b64decode(req["stdin"], validate=True) if req.get("stdin") is not None else None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if stdin is not None else (os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC), None)
        try:
            pid = self.start_child(req, in_r, out_w, err_w)
        except ChildError as exc:
            for fd in (out_r, err_r, in_w):
                if fd is not None:
                    os.close(fd)
            return self.fail(req, started, exc.code, exc.message)
        finally:
            for fd in (out_w, err_w, in_r):
                os.close(fd)
        command = Command(req, pid, started, out_r, err_r, in_w, stdin, self.output_bytes)
        self.commands[command.id] = command
        self.by_pid[pid] = command
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, command)
        if in_w is not None:
            if len(command.stdin):
                os.set_blocking(in_w, False)
                self.sel.register(in_w, selectors.EVENT_WRITE, command)
            else:
                os.close(in_w)
                command.stdin_fd = None

    def start_child(self, req, in_r, out_w, err_w):
        """The command's pid; ChildError(exit code, message) when it cannot start."""
        try:
            os.chdir(req["cwd"])  # inherited by the child; we are single-threaded
        except OSError as exc:
            raise ChildError(1, f"Can't chdir to {req['cwd']}: {exc.strerror}") from None
        try:
            if self.prlimit is None:
                return self.fork_child(req, in_r, out_w, err_w)
            # posix_spawn (vfork) of `prlimit <limits> -- argv` is much cheaper than forking this process
            args = self.prlimit_args if req.get("cpu") is None else \
                [a for a in self.prlimit_args if not a.startswith("--cpu=")] + [f"--cpu={req['cpu']}"]
            argv = [self.prlimit, *args, "--", *req["argv"]]
            actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
            return os.posix_spawn(self.prlimit, argv, req["env"], file_actions=actions, setsid=True,
                                  setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD))
        except OSError as exc:
            raise ChildError(126, f"cannot start the command: {exc.strerror}") from None
        except (ValueError, TypeError) as exc:  # NUL or unencodable text in argv/env (the host refuses these)
            raise ChildError(126, f"cannot start the command: {exc}") from None
        finally:
            os.chdir("/")

    def fork_child(self, req, in_r, out_w, err_w):
        report_r, report_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(report_r)
            os.close(report_w)
            raise
        if pid == 0:  # the child: never returns
            self.exec_child(req, in_r, out_w, err_w, report_w)
        os.close(report_w)
        report = b""
        while chunk := os.read(report_r, 65536):  # EOF at exec (close-on-exec), or why it failed
            report += chunk
        os.close(report_r)
        if report:  # exec failed: the child wrote why and exits
            os.waitpid(pid, 0)
            raise ChildError(*json.loads(report))
        return pid

    def exec_child(self, req, in_r, out_w, err_w, report_w):
        try:
            os.setsid()
            for name in ("SIGPIPE", "SIGXFSZ", "SIGCHLD"):  # Python ignores some; commands expect defaults
                signal.signal(getattr(signal, name), signal.SIG_DFL)
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            limits = dict(self.limits)
            if req.get("cpu") is not None:
                limits[resource.RLIMIT_CPU] = req["cpu"]
            for which, value in limits.items():
                resource.setrlimit(which, (value, value))
            argv = req["argv"]
            try:
                os.execvpe(argv[0], argv, req["env"])
            except OSError as exc:
                code = 127 if isinstance(exc, FileNotFoundError) else 126
                raise ChildError(code, f"cannot start the command: failed to execute {argv[0]}: {exc.strerror}")
        except ChildError as exc:
            os.write(report_w, json.dumps([exc.code, exc.message]).encode())
        except BaseException as exc:  # noqa: BLE001 - anything else is reported, never raised in the child
            os.write(report_w, json.dumps([126, f"cannot start the command: {exc}"]).encode())
        finally:
            os._exit(127)

    def fail(self, req, started, code, message):
        err = Capped(self.output_bytes)
        err.feed((message + "\n").encode())
        if not self.commands:
            self.sweep()
        self.send({"op": "result", "id": req["id"], "exit_code": code, "timed_out": False,
                   "stdout": Capped(self.output_bytes).wire(), "stderr": err.wire(),
                   "duration": time.monotonic() - started})

    def feed_stdin(self, command):
        if command.stdin_fd is None:
            return
        try:
            sent = os.write(command.stdin_fd, command.stdin[:65536])
            command.stdin = command.stdin[sent:]
            if len(command.stdin):
                return
        except BlockingIOError:
            return
        except OSError:  # the command closed its stdin
            pass
        self.close_stdin(command)

    def close_stdin(self, command):
        if command.stdin_fd is not None:
            self.sel.unregister(command.stdin_fd)
            os.close(command.stdin_fd)
            command.stdin_fd = None

    def read_output(self, command, fd):
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            command.buffers[fd].feed(chunk)
            return
        self.sel.unregister(fd)
        os.close(fd)
        command.open.discard(fd)
        self.maybe_finish(command)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            command = self.by_pid.pop(pid, None)
            if command is not None:
                command.status = os.waitstatus_to_exitcode(status)
                if command.status < 0:  # killed by a signal: report as a shell does (128 + n)
                    command.status = 128 - command.status
                kill_session(command.pid)  # background jobs of the command die with it
                if len(self.commands) == 1:  # and, if nothing else runs, whatever escaped its session
                    self.sweep()
                command.drain_until = time.monotonic() + DRAIN_GRACE
                self.close_stdin(command)
                self.maybe_finish(command)

    def check_deadlines(self):
        now = time.monotonic()
        for command in list(self.commands.values()):
            if command.status is None and not command.timed_out and now >= command.deadline:
                command.timed_out = True
                kill_session(command.pid)
            if command.drain_until is not None and now >= command.drain_until:
                self.finish(command)

    def maybe_finish(self, command):
        if command.status is not None and not command.open:
            self.finish(command)

    def finish(self, command):
        if self.commands.pop(command.id, None) is None:
            return
        for fd in list(command.open):
            self.sel.unregister(fd)
            os.close(fd)
        self.close_stdin(command)
        if not self.commands:  # nothing else runs: nothing of this command may survive it
            self.sweep()
        self.send({"op": "result", "id": command.id, "exit_code": 124 if command.timed_out else command.status,
                   "timed_out": command.timed_out, "stdout": command.out.wire(), "stderr": command.err.wire(),
                   "duration": time.monotonic() - command.started})

    def sweep(self):
        if not self.sweeping:  # reap() may finish commands, whose finish() would sweep again
            self.sweeping = True
            try:
                sweep(self.reap)
            finally:
                self.sweeping = False

    # ---- replies -----------------------------------------------------------------------
    def send(self, message):
        body = json.dumps(message).encode()
        was_empty = not self.outbox
        self.outbox += HEADER.pack(len(body)) + body
        if was_empty:
            self.flush()

    def flush(self):
        while self.outbox:
            try:
                sent = os.write(1, self.outbox)
            except BlockingIOError:
                break
            del self.outbox[:sent]
        registered = 1 in self.sel.get_map()
        if self.outbox and not registered:
            self.sel.register(1, selectors.EVENT_WRITE, "reply")
        elif not self.outbox and registered:
            self.sel.unregister(1)


def check_request(req):
    """ValueError unless `req` is a well-formed exec request (the host sends only those)."""
    argv, env, cwd, timeout = req.get("argv"), req.get("env"), req.get("cwd"), req.get("timeout")
    if not isinstance(req.get("id"), int) or isinstance(req.get("id"), bool):
        raise ValueError("the request has no integer id")
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) and "\0" not in a for a in argv)):
        raise ValueError("argv must be a non-empty list of strings without NUL")
    if not (isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) and "\0" not in k + v
                                          for k, v in env.items())):
        raise ValueError("env must map strings to strings without NUL")
    if not isinstance(cwd, str) or "\0" in cwd:
        raise ValueError("cwd must be a string without NUL")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number > 0, got {timeout!r}")
    cpu = req.get("cpu")
    if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, int) or not 0 < cpu < 1 << 40):
        raise ValueError(f"cpu must be a positive integer of seconds, got {cpu!r}")
    if req.get("stdin") is not None and not isinstance(req["stdin"], str):
        raise ValueError("stdin must be base64 text or null")


class ChildError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def kill_session(sid):
    """SIGKILL the session `sid`: its process group, then any member that moved to another group."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or entry == "1":
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def sweep(reap, rounds=2000):
    """Kill every process in the sandbox but this one, and reap them (bounded, ~2 s)."""
    for _ in range(rounds):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        reap()
        time.sleep(0.001)


def main():
    if os.getpid() != 1:  # kill(-1) outside a private pid namespace would hit the host
        sys.exit("agentgym supervisor: refusing to run outside its own pid namespace (pid is not 1)")
    os.closerange(3, 1 << 16)  # nothing inherited from bwrap reaches a command
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: commands (same uid) cannot ptrace or read our /proc
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with bwrap (the uid drop cleared it)
    except Exception:  # noqa: BLE001 - best effort; stdin EOF also ends the supervisor
        pass
    Supervisor(json.loads(sys.argv[-1])).run()


if __name__ == "__main__":
    main()
