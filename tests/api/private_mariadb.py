"""A MariaDB server of a test's own (its own data directory and port), for settings that must not
touch the shared server, such as a small max_allowed_packet."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_mariadb(workdir: Path, *options: str) -> Iterator[str]:
    """Start `mariadbd` with `options` (e.g. --max-allowed-packet=262144); yield the URL of an empty
    database `anpr` on it (root, no password, loopback only); stop it afterwards."""
    if shutil.which("mariadbd") is None or shutil.which("mariadb-install-db") is None:
        pytest.fail("mariadbd and mariadb-install-db are needed (Debian package mariadb-server)")
    data, user = workdir / "data", getpass.getuser()
    install = subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={data}", f"--user={user}", "--skip-test-db",
         "--auth-root-authentication-method=normal"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    port = _free_port()
    log = workdir / "mariadb.err"
    proc = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={workdir / 'sock'}", f"--port={port}",
         "--bind-address=127.0.0.1", f"--user={user}", f"--pid-file={workdir / 'pid'}", f"--log-error={log}",
         "--skip-log-bin", "--innodb-buffer-pool-size=16M", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="")
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"private MariaDB did not start:\n{log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE anpr CHARACTER SET utf8mb4")
        conn.close()
        yield f"mysql+aiomysql://root@127.0.0.1:{port}/anpr"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
