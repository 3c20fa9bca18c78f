"""What a client on the LAN can do to the served API's sockets: unauthenticated and oversized uploads
are refused before their bodies are read, half-sent and idle connections are closed, a flood of
connections is capped, and the service keeps answering."""

from __future__ import annotations

import socket
import time

import httpx

from tests.api.http.conftest import DEVICE_TOKEN, MAX_CONNECTIONS, MAX_PER_ADDRESS, REQUEST_TIMEOUT_S, Served

MIB = 1024 * 1024


def connect(served: Served, source: str = "127.0.0.1") -> socket.socket:
    """A connection from `source`: any 127.x.y.z address is this host, seen as another client."""
    return socket.create_connection(("127.0.0.1", served.port), timeout=5, source_address=(source, 0))


def answer(sock: socket.socket, within_s: float) -> bytes:
    """What the server sends until it closes the connection or `within_s` passes."""
    sock.settimeout(0.1)
    data = b""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"still open after {within_s}s; got {data[:200]!r}")


def post_head(path: str, length: int, token: str | None = None) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: pi",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    if token:
        lines.append(f"X-Device-Token: {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_an_unauthenticated_huge_ingest_is_refused_before_its_body(served: Served) -> None:
    sock = connect(served)
    sock.sendall(post_head("/api/v1/ingest", 425 * MIB) + b"{" + b" " * 1023)
    started = time.monotonic()
    reply = answer(sock, within_s=5)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
    assert b"invalid device token" in reply and b"connection: close" in reply.lower()
    assert time.monotonic() - started < 2
    assert httpx.get(f"{served.base_url}/healthz", timeout=2).status_code == 200


def test_an_oversized_ingest_with_the_token_is_413_without_reading_it(served: Served) -> None:
    sock = connect(served)
    sock.sendall(post_head("/api/v1/ingest", 3 * MIB, DEVICE_TOKEN) + b"{")
    reply = answer(sock, within_s=5)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    # Without a length: counted as it arrives, refused once past the limit.
    sock = connect(served)
    head = (
        "POST /api/v1/ingest HTTP/1.1\r\nHost: pi\r\nContent-Type: application/json\r\n"
        f"X-Device-Token: {DEVICE_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sock.sendall(head)
    chunk = b"x" * (256 * 1024)
    try:
        for _ in range(12):  # 3 MiB
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = answer(sock, within_s=5)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    big_login = httpx.post(f"{served.base_url}/api/v1/auth/login", content=b"{" + b" " * 8192 + b"}")
    assert big_login.status_code == 413


def test_half_sent_idle_and_trickling_requests_are_closed(served: Served) -> None:
    half = connect(served)
    half.sendall(b"GET /healthz HTTP/1.1\r\nHost: pi\r\n")  # never finished
    idle = connect(served)  # never sends a byte
    body = connect(served)
    body.sendall(post_head("/api/v1/ingest", 1000, DEVICE_TOKEN) + b"{")  # body never completes
    limit = REQUEST_TIMEOUT_S + 2
    for sock in (half, idle, body):
        answer(sock, within_s=limit)
    trickle = connect(served)
    started = time.monotonic()
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: pi\r\nX-Slow: " + b"a" * 100:
            trickle.sendall(bytes([byte]))
            time.sleep(0.1)
        raise AssertionError("a trickled request head was still read after 10 s")
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert time.monotonic() - started < limit + 1


def test_a_flood_of_connections_is_capped_and_the_service_recovers(served: Served) -> None:
    # One address cannot take every slot: its connections beyond its own cap are closed at once...
    held = [connect(served, "127.0.0.2") for _ in range(MAX_PER_ADDRESS)]
    time.sleep(0.2)
    started = time.monotonic()
    assert answer(connect(served, "127.0.0.2"), within_s=2) == b""
    assert time.monotonic() - started < 1
    assert httpx.get(f"{served.base_url}/healthz", timeout=2).status_code == 200  # ...others get in
    # Many addresses together fill the whole cap: then every new connection is closed at once.
    held += [connect(served, "127.0.0.3") for _ in range(MAX_CONNECTIONS - MAX_PER_ADDRESS)]
    time.sleep(0.2)
    started = time.monotonic()
    assert answer(connect(served, "127.0.0.4"), within_s=2) == b""
    assert time.monotonic() - started < 1
    for sock in held:  # each is closed at its deadline, freeing its descriptor
        answer(sock, within_s=REQUEST_TIMEOUT_S + 2)
    assert httpx.get(f"{served.base_url}/healthz", timeout=2).status_code == 200
    log = served.log_text()
    assert log.count("connections from one address: closing its new ones") == 1
    assert log.count("connections open: closing new ones") == 1


def test_keep_alive_requests_still_work(served: Served) -> None:
    headers = served.session()
    with httpx.Client(base_url=served.base_url, headers=headers) as http:
        for _ in range(3):
            assert http.get("/api/v1/events").status_code == 200
            time.sleep(REQUEST_TIMEOUT_S / 2)
        assert http.get("/api/v1/auth/session").status_code == 200
