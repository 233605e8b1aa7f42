"""`patchlint server`: keep patchlint loaded and fork one child per check.

The client side is patchlint/launch.py. The server listens on a UNIX socket in a
folder only its user can enter, accepts requests from that user only (SO_PEERCRED),
and for each one forks: the child takes the client's stdin/stdout/stderr, working
directory, environment and arguments, runs the command line exactly as a local run
would, and reports its exit status. A fork per check keeps checks apart (nothing one
check loads or configures reaches the next) and lets several run at once.

Before each request the server compares its code and data on disk with what it
loaded; when they differ it refuses (the client runs the check itself) and stops, so
an upgrade or an edited rules file never meets an old server. It also stops after
`idle` seconds without a request.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import marshal
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from patchlint.launch import (
    CHILD_PID,
    EXIT_STATUS,
    PROTOCOL,
    REFUSED,
    private_dir,
    runtime_dir,
    server_name,
    socket_path,
    supported,
)

DEFAULT_IDLE = 30 * 60.0
_MAX_REQUEST = 16 << 20


class ServerError(Exception):
    pass


@dataclass(frozen=True)
class ServerFiles:
    socket: Path
    lock: Path
    log: Path


def server_files() -> ServerFiles:
    folder = Path(runtime_dir())
    name = server_name()
    return ServerFiles(Path(socket_path()), folder / f"{name}.lock", folder / f"{name}.log")


def watched_roots() -> list[Path]:
    """The code and the shipped data a server has loaded."""
    from patchlint.knowledge import data_dir

    package = Path(__file__).resolve().parent
    roots = [package, data_dir()]
    return [root for root in roots if root.is_dir()]


def fingerprint(roots: list[Path]) -> int:
    """Changes when a file under `roots` is added, removed or rewritten."""
    entries: list[tuple[str, int, int]] = []
    for root in roots:
        for path, size, mtime in _walk(str(root)):
            entries.append((path, size, mtime))
    return hash(tuple(sorted(entries)))


def _walk(top: str) -> Iterator[tuple[str, int, int]]:
    with os.scandir(top) as listing:
        for entry in listing:
            if entry.name == "__pycache__" or entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path)
            elif entry.is_file():
                info = entry.stat()
                yield entry.path, info.st_size, info.st_mtime_ns


# A patch touching C, checked once at start so that every module a check imports on
# the way (rules, analysis, reports) is loaded before the first fork.
WARM_UP = b"""From: Warm Up <warm-up@example.org>
Subject: [PATCH] lib: warm up
Date: Mon, 3 Mar 2025 10:00:00 +0100
Message-ID: <warm-up@example.org>

lib: warm up

Signed-off-by: Warm Up <warm-up@example.org>
---
diff --git a/lib/warm_up.c b/lib/warm_up.c
index 1111111..2222222 100644
--- a/lib/warm_up.c
+++ b/lib/warm_up.c
@@ -1,4 +1,5 @@
 int warm_up(int x)
 {
+\tx++;
 \treturn x;
 }
"""


def preload() -> None:
    """Import what a check needs and read the shipped data once: run one check of a
    built-in patch without a tree and render it in every format. Nothing of the
    user's (configuration, tree, caches of results) is read here."""
    import importlib

    import patchlint.commands.check  # noqa: F401 - click, the pipeline, the reports
    import patchlint.config  # noqa: F401
    from patchlint.mail import iter_messages
    from patchlint.pipeline import CheckOptions, run_check
    from patchlint.report import FORMATS, render
    from patchlint.rules.engine import all_rules, load_rule

    for meta in all_rules():
        load_rule(meta)
    for optional in ("difflib", "patchlint.simulate", "patchlint.source.tree"):
        with contextlib.suppress(ImportError):
            importlib.import_module(optional)
    messages = iter_messages(io.BytesIO(WARM_UP), name="warm-up")
    result = run_check(messages, CheckOptions(jobs=1), ["warm-up"])
    for name, output in FORMATS.items():
        if output.check is not None:
            # best effort: a format that fails here fails again, visibly, in a check
            with contextlib.suppress(Exception):
                render(result, name)


def ping() -> bool:
    """Whether a server answers on this user's socket."""
    path = str(server_files().socket)
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        try:
            client.connect(path)
            request = marshal.dumps((PROTOCOL, "ping", [], "", {}))
            client.sendall(len(request).to_bytes(4, "big") + request)
            return client.recv(1) == b"K"
        except OSError:
            return False


def stop() -> bool:
    """Ask the running server to stop; False when none answered."""
    path = str(server_files().socket)
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        try:
            client.connect(path)
            request = marshal.dumps((PROTOCOL, "stop", [], "", {}))
            client.sendall(len(request).to_bytes(4, "big") + request)
            return client.recv(1) == b"K"
        except OSError:
            return False


def start(idle: float = DEFAULT_IDLE, foreground: bool = False) -> int | None:
    """Start a server; its pid, or None when one runs already."""
    if not supported() or not hasattr(socket, "SO_PEERCRED"):
        raise ServerError(
            "a server needs fork(), UNIX sockets with descriptor passing and SO_PEERCRED"
        )
    files = server_files()
    folder = files.socket.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not private_dir(str(folder)):
        raise ServerError(f"{folder} must be a folder of this user that nobody else can enter")
    if foreground:
        return _serve_locked(files, idle, ready=None)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writer)
        with os.fdopen(reader, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        if answer.startswith(b"started "):
            return int(answer.split()[1])
        if answer == b"running":
            return None
        raise ServerError(answer.decode(errors="replace") or "the server did not start")
    os.close(reader)
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _detach(files.log)
        _serve_locked(files, idle, ready=writer)
    except BaseException:  # noqa: BLE001 - the daemon reports, never returns
        with contextlib.suppress(OSError):
            os.write(writer, traceback.format_exc().encode())
        os._exit(1)
    os._exit(0)


def _detach(log: Path) -> None:
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)


def _serve_locked(files: ServerFiles, idle: float, ready: int | None) -> int | None:
    lock = os.open(str(files.lock), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        if ready is not None:
            os.write(ready, b"running")
            os.close(ready)
        return None
    try:
        roots = watched_roots()
        loaded = fingerprint(roots)
        preload()
        # The preloaded objects live as long as the server: kept out of the collector,
        # a child's first collection does not walk (and copy, page by page) them all.
        gc.collect()
        gc.freeze()
        with contextlib.suppress(FileNotFoundError):
            files.socket.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(files.socket))
        os.chmod(files.socket, 0o600)
        listener.listen(64)
        if ready is not None:
            os.write(ready, f"started {os.getpid()}".encode())
            os.close(ready)
        try:
            _loop(listener, roots, loaded, idle)
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                files.socket.unlink()
        return os.getpid()
    finally:
        os.close(lock)


def _loop(listener: socket.socket, roots: list[Path], loaded: int, idle: float) -> None:
    children: set[int] = set()
    last = time.monotonic()
    while True:
        _reap(children)
        timeout = max(0.0, idle - (time.monotonic() - last)) if not children else 1.0
        ready, _, _ = select.select([listener], [], [], timeout)
        if not ready:
            _reap(children)
            if not children and time.monotonic() - last >= idle:
                return
            continue
        connection, _ = listener.accept()
        last = time.monotonic()
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(connection.close)
            request = _read_request(connection)
            if request is None:
                continue
            kind, argv, cwd, env, fds = request
            cleanup.callback(_close_all, fds)
            if kind == "ping":
                connection.sendall(b"K")
                continue
            if kind == "stop":
                connection.sendall(b"K")
                return
            if fingerprint(roots) != loaded:
                connection.sendall(REFUSED)  # code or data changed: the client runs it
                return
            if kind == "run" and len(fds) == 3:
                children.add(_fork_child(listener, connection, argv, cwd, env, fds))


def _reap(children: set[int]) -> None:
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if not done:
                continue
        children.discard(pid)


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


Request = tuple[str, list[str], str, dict[str, str], list[int]]


def _read_request(connection: socket.socket) -> Request | None:
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
    )
    _, uid, _ = struct.unpack("3i", credentials)
    if uid != os.getuid():
        return None
    connection.settimeout(10.0)
    try:
        data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
        if len(data) < 4:
            _close_all(fds)
            return None
        size = int.from_bytes(data[:4], "big")
        if size > _MAX_REQUEST:
            _close_all(fds)
            return None
        body = bytearray(data[4:])
        while len(body) < size:
            chunk = connection.recv(size - len(body))
            if not chunk:
                break
            body += chunk
        loaded = marshal.loads(bytes(body))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        connection.settimeout(None)
    if not (isinstance(loaded, tuple) and len(loaded) == 5 and loaded[0] == PROTOCOL):
        _close_all(fds)
        return None
    _, kind, argv, cwd, env = loaded
    if not (isinstance(kind, str) and isinstance(argv, list) and isinstance(env, dict)):
        _close_all(fds)
        return None
    return kind, [str(arg) for arg in argv], str(cwd), {str(k): str(v) for k, v in env.items()}, fds


def _fork_child(
    listener: socket.socket,
    connection: socket.socket,
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    fds: list[int],
) -> int:
    pid = os.fork()
    if pid:
        return pid
    status = 70  # EX_SOFTWARE, should the child fail before running the command
    try:
        listener.close()
        connection.sendall(CHILD_PID + os.getpid().to_bytes(4, "big"))
        status = _run_command(argv, cwd, env, fds)
        connection.sendall(EXIT_STATUS + status.to_bytes(4, "big", signed=True))
    except BaseException:  # noqa: BLE001 - a child never returns into the server loop
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _run_command(argv: list[str], cwd: str, env: dict[str, str], fds: list[int]) -> int:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), errors="surrogateescape"
    )
    sys.stdout = _text_output(1)
    sys.stderr = _text_output(2, errors="backslashreplace")
    sys.argv = ["patchlint", *argv]
    from patchlint.cli import main

    try:
        main.main(args=argv, prog_name="patchlint", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        sys.stderr.write(f"{code}\n")
        return 1


def _text_output(fd: int, errors: str = "strict") -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    interactive = raw.isatty()
    buffered = io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, errors=errors, line_buffering=interactive)
