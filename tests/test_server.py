"""`patchlint server` and the launcher: a check handed to a running server gives the
same output and exit status as a local run, without the launcher importing patchlint's
command line; a server whose code or data changed refuses and the check runs locally."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchlint.launch import private_dir, supported
from patchlint.server import fingerprint

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "mail"

pytestmark = pytest.mark.skipif(not supported(), reason="needs fork() and UNIX sockets")


def _env(runtime: Path, mode: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "XDG_RUNTIME_DIR": str(runtime),
            "PATCHLINT_SERVER": mode,
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    return env


def _patchlint(
    runtime: Path, mode: str, *args: str, stdin: bytes = b"", importtime: bool = False
) -> subprocess.CompletedProcess[bytes]:
    python = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "patchlint"]
    return subprocess.run(
        [*python, *args], input=stdin, capture_output=True, env=_env(runtime, mode), timeout=300
    )


def _imported_cli(run: subprocess.CompletedProcess[bytes]) -> bool:
    return b"| patchlint.cli\n" in run.stderr


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    yield folder
    _patchlint(folder, "off", "server", "stop")


CHECK = ["check", "--no-tree", "--format", "checkpatch", "--terse", "--no-summary", "-"]


def test_a_served_check_is_the_local_check(runtime: Path) -> None:
    # The idle limit outlasts a slow local run between two served checks (a loaded CI
    # machine); the fixture stops the server at the end anyway.
    started = _patchlint(runtime, "off", "server", "start", "--idle", "30")
    assert started.returncode == 0 and b"started" in started.stdout, started.stderr
    assert _patchlint(runtime, "off", "server", "status").returncode == 0
    for fixture in ("missing-signoff.eml", "doc-only.patch", "seed-v9-thread.mbox"):
        mail = (FIXTURES / fixture).read_bytes()
        local = _patchlint(runtime, "off", *CHECK, stdin=mail)
        served = _patchlint(runtime, "on", *CHECK, stdin=mail, importtime=True)
        assert served.stdout == local.stdout and served.returncode == local.returncode
        assert not _imported_cli(served), "the launcher ran the check itself"
    # A second start finds the first server; stop ends it.
    assert b"already running" in _patchlint(runtime, "off", "server", "start").stdout
    assert _patchlint(runtime, "off", "server", "stop").stdout.strip() == (
        b"patchlint server: stopped"
    )
    assert _patchlint(runtime, "off", "server", "status").returncode == 1
    # No server: the launcher runs the check itself, same result.
    mail = (FIXTURES / "missing-signoff.eml").read_bytes()
    alone = _patchlint(runtime, "on", *CHECK, stdin=mail, importtime=True)
    assert _imported_cli(alone) and alone.returncode == 1


def test_a_server_whose_files_changed_refuses_and_stops(runtime: Path, tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    (watched / "rules.toml").write_text("a = 1\n")
    script = (
        "import sys; from pathlib import Path; import patchlint.server as server\n"
        f"server.watched_roots = lambda: [Path({str(watched)!r})]\n"
        "server.start(120.0, foreground=True)\n"
    )
    daemon = subprocess.Popen(
        [sys.executable, "-c", script], env=_env(runtime, "off"), stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while _patchlint(runtime, "off", "server", "status").returncode != 0:
            assert daemon.poll() is None and time.monotonic() < deadline, daemon.stderr
            time.sleep(0.2)
        mail = (FIXTURES / "missing-signoff.eml").read_bytes()
        served = _patchlint(runtime, "on", *CHECK, stdin=mail, importtime=True)
        assert not _imported_cli(served) and served.returncode == 1
        (watched / "rules.toml").write_text("a = 2\n")
        refused = _patchlint(runtime, "on", *CHECK, stdin=mail, importtime=True)
        assert _imported_cli(refused), "a stale server ran the check"
        assert refused.stdout == served.stdout and refused.returncode == 1
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def test_fingerprint_follows_additions_and_rewrites(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    first = fingerprint([tmp_path])
    assert fingerprint([tmp_path]) == first
    (tmp_path / "b.toml").write_text("")
    second = fingerprint([tmp_path])
    assert second != first
    (tmp_path / "a.py").write_text("x = 22\n")
    assert fingerprint([tmp_path]) != second
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"")
    assert fingerprint([tmp_path]) == fingerprint([tmp_path])


def test_only_a_private_folder_is_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "sockets"
    folder.mkdir(mode=0o700)
    assert private_dir(str(folder))
    folder.chmod(0o755)
    assert not private_dir(str(folder))
    assert not private_dir(str(tmp_path / "missing"))
