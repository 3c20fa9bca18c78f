"""Admin commands: key pair set-up and rotation, client management, audit log check, purge.
`python -m services.api -h`."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from services.api import audit, keyfile
from services.api.keyring import rotate
from services.api.retention import Purged, purge
from services.api.runtime import ConfigError, Runtime, audit_secret, load_pair
from services.api.settings import ApiSettings

T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.api", description="ANPR records service")
    parser.add_argument("--check-config", action="store_true", help="validate settings, print them, exit")
    sub = parser.add_subparsers(dest="command", metavar="{serve,keys,tls,clients,audit,purge}")
    sub.add_parser("serve", help="run the HTTP API and the MQTT consumer (default)")

    keys = sub.add_parser("keys", help="the RSA key pair file and other install secrets").add_subparsers(
        dest="action", required=True
    )
    init = keys.add_parser(
        "init", help="create the key pair file; print new blind-index key and device token"
    )
    init.add_argument("--force", action="store_true", help="replace an existing key file (its data is lost)")
    rot = keys.add_parser("rotate", help="new key pair; re-wrap every data key (rows are not re-encrypted)")
    rot.add_argument(
        "--keep-old", action="store_true", help="keep the retired key file as <file>.retired-v<N>"
    )

    tls = sub.add_parser("tls", help="HTTPS certificate").add_subparsers(dest="action", required=True)
    tls_init = tls.add_parser(
        "init", help="self-signed certificate for API_TLS_CERTFILE / API_TLS_KEYFILE (the Pi's names)"
    )
    tls_init.add_argument("names", nargs="+", help="host names and IP addresses clients use for the Pi")
    tls_init.add_argument("--force", action="store_true", help="replace existing files")

    clients = sub.add_parser("clients", help="API clients (token + TOTP)").add_subparsers(
        dest="action", required=True
    )
    create = clients.add_parser("create", help="new client: prints its token once, TOTP URI and QR code")
    create.add_argument("name")
    create.add_argument("--no-qr", action="store_true", help="do not draw the QR code")
    clients.add_parser("list", help="clients and their state")
    clients.add_parser("disable", help="refuse logins and end sessions").add_argument("name")
    clients.add_parser("delete", help="remove a client and its sessions").add_argument("name")
    audit_cmd = sub.add_parser("audit", help="the audit log").add_subparsers(dest="action", required=True)
    audit_cmd.add_parser("verify", help="check its hash chain: 'ok N entries' or the first broken entry")
    purge = sub.add_parser("purge", help="delete records and snapshots past API_RETENTION_*_DAYS now")
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    return parser


def load(check: bool) -> ApiSettings:
    try:
        settings = ApiSettings()
    except ValidationError as exc:
        print("api: invalid settings:", file=sys.stderr)
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"]) or "<settings>"
            print(f"  {loc}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    if check:
        print(settings.model_dump_json(indent=2))  # secrets print as '**********'
        raise SystemExit(0)
    return settings


async def _with_runtime(settings: ApiSettings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    runtime = Runtime(settings)
    try:
        await runtime.open_database()
        return await work(runtime)
    finally:
        await runtime.engine.dispose()


def keys_init(settings: ApiSettings, force: bool) -> int:
    if settings.key_passphrase is None:
        raise ConfigError("set API_KEY_PASSPHRASE (or /run/secrets/api_key_passphrase) first")
    path = settings.private_key_file
    pair = keyfile.generate(settings.key_bits)
    keyfile.write(path, pair, settings.key_passphrase.get_secret_value(), settings.key_scrypt_n, force=force)
    print(f"wrote {path} (RSA-{settings.key_bits}, fingerprint {pair.fingerprint[:16]}, owner-only)")
    extra = []
    if settings.blind_index_key is None:
        extra.append(f"API_BLIND_INDEX_KEY={base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}")
    if settings.audit_key is None:
        extra.append(f"API_AUDIT_KEY={base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}")
    if settings.device_token is None:
        extra.append(f"API_DEVICE_TOKEN={base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}")
    if extra and settings.common.environment == "development" and _append_env(extra):
        return 0
    if extra:
        print("\nNew secrets, shown once: put them in the Pi's .env (or /run/secrets); the device token")
        print("also goes in the edge's .env. Losing the blind-index key makes plate search impossible.\n")
        print("\n".join(extra))
    return 0


def _append_env(lines: list[str]) -> bool:
    """Development: keep the new secrets in the local .env (owner-only) that the next commands read, so
    the README's commands work pasted in order. False where that file cannot be written."""
    path = Path(os.environ.get("ANPR_ENV_FILE", ".env"))  # the file anpr.settings reads
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return False
    with os.fdopen(fd, "a") as fh:
        ends_open = path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
        fh.write("\n" * ends_open + "".join(f"{line}\n" for line in lines))
    names = ", ".join(line.split("=")[0] for line in lines)
    print(f"development: {names} appended to {path.resolve()} (owner-only), which the next commands read;")
    print("in production put them in the Pi's .env or /run/secrets instead.")
    return True


async def keys_rotate(settings: ApiSettings, keep_old: bool) -> int:
    old = load_pair(settings)
    assert settings.key_passphrase is not None
    new = keyfile.generate(settings.key_bits)
    path = settings.private_key_file
    staged = path.with_name(path.name + ".new")
    # The new file exists before the database changes, so an interruption never loses the new key.
    keyfile.write(staged, new, settings.key_passphrase.get_secret_value(), settings.key_scrypt_n, force=True)
    try:
        version, count = await _with_runtime(settings, lambda rt: _rotate(rt, old, new))
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    retired = path.with_name(f"{path.name}.retired-v{version - 1}")
    os.replace(path, retired)
    os.replace(staged, path)
    if not keep_old:
        retired.unlink()
    print(f"rotated to key version {version}: {count} data key(s) re-wrapped; {path} holds the new pair")
    if keep_old:
        print(f"the old pair is in {retired}: destroy it once no backup needs it")
    return 0


async def _rotate(rt: Runtime, old: keyfile.KeyPair, new: keyfile.KeyPair) -> tuple[int, int]:
    await rt.open_keys()  # the audit log records the rotation
    return await rotate(rt.sf, old, new)


async def audit_verify(settings: ApiSettings) -> int:
    verdict = await _with_runtime(settings, lambda rt: audit.verify(rt.sf, audit_secret(settings)))
    print(verdict.line(), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


async def purge_now(settings: ApiSettings, dry_run: bool) -> int:
    async def work(rt: Runtime) -> Purged:
        await rt.open_keys()
        return await purge(rt.sf, rt.retention_policy(), rt.clock(), actor=audit.CLI_ACTOR, dry_run=dry_run)

    print((await _with_runtime(settings, work)).line(dry_run))
    return 0


async def clients_cmd(settings: ApiSettings, args: argparse.Namespace) -> int:
    async def work(rt: Runtime) -> int:
        await rt.open_keys()
        admin = rt.client_admin()
        if args.action == "create":
            new = await admin.create(args.name)
            print(f"client {new.name} created.\n\nAPI token (shown once, store it safely):\n  {new.token}\n")
            print(f"TOTP provisioning URI (add to an authenticator app):\n  {new.provisioning_uri}\n")
            if not args.no_qr:
                _print_qr(new.provisioning_uri)
        elif args.action == "list":
            for c in await admin.list():
                last = c.last_login_at.isoformat(timespec="seconds") if c.last_login_at else "never"
                state = "disabled" if c.disabled else "active"
                print(f"{c.name:<24} {state:<9} created {c.created_at:%Y-%m-%d}  last login {last}")
        elif args.action == "disable":
            await admin.disable(args.name)
            print(f"client {args.name} disabled; its sessions are revoked")
        elif args.action == "delete":
            await admin.delete(args.name)
            print(f"client {args.name} deleted")
        return 0

    return await _with_runtime(settings, work)


def _print_qr(data: str) -> None:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    qr.print_ascii(out=sys.stdout, invert=True)


def serve(settings: ApiSettings) -> int:
    from services.api import server
    from services.api.app import create_app

    runtime = Runtime(settings)
    server.serve(create_app(settings, runtime), settings, on_exit=runtime.live.close_threadsafe)
    return 0


def tls_init(settings: ApiSettings, names: list[str], force: bool) -> int:
    from services.api.tls import write_pair

    if settings.tls_certfile is None or settings.tls_keyfile is None:
        raise ConfigError("set API_TLS_CERTFILE and API_TLS_KEYFILE (where the pair goes) first")
    fingerprint = write_pair(settings.tls_certfile, settings.tls_keyfile, names, force)
    print(f"wrote {settings.tls_certfile} and {settings.tls_keyfile} (owner-only) for {', '.join(names)}")
    print(f"SHA-256 fingerprint (compare it when a browser or the edge first connects):\n  {fingerprint}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from anpr.logs import setup_logging

    args = build_parser().parse_args(argv)
    settings = load(args.check_config)
    setup_logging(settings.common.log_level, settings.common.log_json)
    try:
        if args.command in (None, "serve"):
            return serve(settings)
        if args.command == "keys" and args.action == "init":
            return keys_init(settings, args.force)
        if args.command == "tls":
            return tls_init(settings, args.names, args.force)
        if args.command == "keys":
            return asyncio.run(keys_rotate(settings, args.keep_old))
        if args.command == "audit":
            return asyncio.run(audit_verify(settings))
        if args.command == "purge":
            return asyncio.run(purge_now(settings, args.dry_run))
        return asyncio.run(clients_cmd(settings, args))
    except (ConfigError, keyfile.KeyFileError, FileExistsError, ValueError, LookupError) as exc:
        print(f"api: {exc}", file=sys.stderr)
        return 1


__all__ = ["main", "build_parser"]
