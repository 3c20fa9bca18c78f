"""The lifecycle every edge service shares: settings, logging, broker, signals, graceful stop.

A service only says which messages it handles (`wire`); this module connects, subscribes,
serves until SIGTERM/SIGINT, and marks the service offline on the way out.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import ValidationError

from anpr.bus import Bus, MqttBus
from anpr.logs import setup_logging
from anpr.messages import ServiceState
from anpr.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")
log = logging.getLogger("anpr.service")


def load_settings(
    cls: type[S],
    name: str,
    argv: Sequence[str] | None = None,
    *,
    about: str = "",
    check: Callable[[S], object] | None = None,
) -> S:
    """Read and validate settings; print every problem and exit 2 when they are invalid.
    `--check-config` validates, runs `check` (what start-up does: models present and loadable), prints
    the effective settings without secrets, and exits 0 (2 when the check fails)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m services.{name}",
        description=about or None,
        epilog=settings_help(cls),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate settings and models as start-up does, print, exit",
    )
    args = parser.parse_args(argv)
    try:
        settings = cls()
    except ValidationError as exc:
        print(f"{name}: invalid settings:", file=sys.stderr)
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"]) or "<settings>"
            print(f"  {loc}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.check_config:
        if check is not None:
            build_stage(name, lambda: check(settings))
        print(settings.model_dump_json(indent=2))  # SecretStr fields print as '**********'
        raise SystemExit(0)
    setup_logging(settings.common.log_level, settings.common.log_json)
    return settings


def settings_help(cls: type[ServiceSettings]) -> str:
    """The service's own settings with their defaults, for --help."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    lines = ["settings (environment or .env; every one is described in .env.example):"]
    for field, info in cls.model_fields.items():
        if field in ("common", "mqtt"):
            continue
        default = (
            "required" if info.is_required() else f"default {info.get_default(call_default_factory=True)}"
        )
        text = f"  {prefix}{field.upper()} ({default})"
        lines.append(f"{text}: {info.description}" if info.description else text)
    lines.append(
        "  ANPR_* (topic prefix, time zone, logs) and MQTT_* (the broker) are shared by every service"
    )
    return "\n".join(lines)


class StartupError(RuntimeError):
    """A stage cannot start (a model or library is missing); the message names the fix."""


def build_stage(name: str, factory: Callable[[], T]) -> T:
    """Build a service's stage; on a StartupError print it and exit 2, like invalid settings."""
    try:
        return factory()
    except StartupError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(
    name: str, settings: ServiceSettings, wire: Callable[[Bus], None], *, persistent: bool = False
) -> None:
    """Connect to the broker, let `wire` subscribe, handle messages until a stop signal."""
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("%s: %s received, stopping after the current message", name, signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    bus = MqttBus(settings.mqtt, name, settings.common.topic_prefix, persistent=persistent)
    wire(bus)
    bus.connect()
    try:
        bus.serve(stop)
    finally:
        bus.close("stopped")
        log.info("%s: stopped", name)


__all__ = ["StartupError", "build_stage", "load_settings", "serve", "ServiceState"]
