"""The `patchlint` executable: hands `patchlint check` to a running `patchlint server`,
else runs the command line in this process.

b4 runs its per-patch check command once per patch, and git hooks once per mail. Most
of such a run is Python importing patchlint. A server (`patchlint server start`, or
`PATCHLINT_SERVER=auto` to start one on first use) holds the imports and the shipped
data already loaded and forks one child per check; this module is all a check process
imports before the child answers: os, sys, marshal and the socket extension. The client
passes its
own stdin, stdout and stderr (SCM_RIGHTS), its arguments, working directory and
environment, so the child reads and writes exactly what a local run would, and the
client exits with the child's status.

`PATCHLINT_SERVER=off` never uses a server. A server whose code or data changed on disk
refuses the request and stops; the client then runs the check itself.
"""

from __future__ import annotations

import marshal
import os
import sys

# typing costs more to import than the rest of this client
TYPE_CHECKING = False
if TYPE_CHECKING:
    from _socket import socket as Socket
    from collections.abc import Callable

PROTOCOL = 1
SWITCH = "PATCHLINT_SERVER"
# Replies of the server, one byte each, the last two followed by a 4-byte integer.
REFUSED, CHILD_PID, EXIT_STATUS = b"R", b"P", b"S"
# Commands a server runs; the others always run in this process.
SERVED_COMMANDS = frozenset({"check"})


def runtime_dir() -> str:
    """A folder only this user can enter, for the server's socket, lock and log."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isdir(base):
        return os.path.join(base, "patchlint")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"patchlint-{os.getuid()}")


def server_name() -> str:
    """One server per interpreter and patchlint installation."""
    import zlib

    key = f"{PROTOCOL}\0{sys.executable}\0{os.path.dirname(os.path.abspath(__file__))}"
    return f"server-{zlib.crc32(key.encode()):08x}"


def socket_path() -> str:
    return os.path.join(runtime_dir(), server_name() + ".sock")


def private_dir(path: str) -> bool:
    """Whether `path` is a directory of this user that nobody else may enter."""
    import stat

    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    )


def supported() -> bool:
    import _socket

    return hasattr(os, "fork") and hasattr(_socket, "AF_UNIX") and hasattr(_socket, "SCM_RIGHTS")


def main() -> None:
    argv = sys.argv[1:]
    mode = os.environ.get(SWITCH, "")
    if mode != "off" and argv[:1] and argv[0] in SERVED_COMMANDS:
        status = run_on_server(argv)
        if status is not None:
            sys.exit(status)
        if mode == "auto" and supported():
            start_in_background()
    from patchlint.cli import main as cli_main
    from patchlint.collector import tune_for_process

    tune_for_process()
    exit_without_teardown(_run_status(cli_main))


def _run_status(run: Callable[[], object]) -> int:
    """The exit status of ``run`` (a click command line, which ends in SystemExit)."""
    try:
        run()
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        sys.stderr.write(f"{stop.code}\n")
        return 1
    return 0


def exit_without_teardown(status: int) -> None:
    """End the process as Python's exit would, without tearing the heap down.

    A check leaves millions of objects (syntax nodes, lock states, knowledge) that the
    interpreter's shutdown would walk in a last garbage collection and free one by one:
    0.1-0.2 s of a 3-second run over 100 patches, for memory the OS takes back anyway.
    Exit handlers still run (multiprocessing's, tempfile's) and the standard streams
    are flushed; a failed flush of stdout ends with status 120, as Python's does.
    An uncaught exception never reaches here: it ends the run the usual way. Under a
    profiler or a debugger (``python -m cProfile``, which writes its output after the
    program returns) the process exits the usual way too.
    """
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(status)
    import atexit

    atexit._run_exitfuncs()
    for stream, failed_status in ((sys.stdout, 120), (sys.stderr, status)):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            status = status or failed_status
    os._exit(status)


def run_on_server(argv: list[str]) -> int | None:
    """The exit status of `argv` run by the server, or None when no server took it."""
    path = socket_path()
    if not os.path.exists(path) or not supported() or not private_dir(os.path.dirname(path)):
        return None
    # socket.py imports selectors and enum, half this client's cost; _socket is the
    # same socket object without them.
    import _socket

    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.connect(path)
        request = marshal.dumps((PROTOCOL, "run", argv, os.getcwd(), dict(os.environ)))
        data = len(request).to_bytes(4, "big") + request
        fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
        sent = client.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        client.sendall(data[sent:])
        reply = _receive(client, 1)
    except OSError:
        client.close()
        return None
    if reply != CHILD_PID:
        client.close()
        return None  # refused (stale server): stdin was not read, run here
    return _wait_for_child(client)


def _wait_for_child(client: Socket) -> int:
    # signal.py builds enums at import; _signal is the same calls without them
    import _signal  # type: ignore[import-not-found]  # no stub: CPython's C module

    child = int.from_bytes(_receive(client, 4), "big")

    def forward(signum: int, frame: object) -> None:
        try:
            os.kill(child, signum)
        except OSError:
            pass

    for signum in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP):
        _signal.signal(signum, forward)
    try:
        if _receive(client, 1) == EXIT_STATUS:
            return int.from_bytes(_receive(client, 4), "big", signed=True)
    except OSError:
        pass
    finally:
        client.close()
    sys.stderr.write("patchlint: the server's check process ended without a status\n")
    return 2


def _receive(client: Socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def start_in_background() -> None:
    """PATCHLINT_SERVER=auto: start a server for the next runs; this one runs here."""
    import subprocess

    try:
        subprocess.Popen(
            [sys.executable, "-m", "patchlint", "server", "start", "--quiet"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        pass
