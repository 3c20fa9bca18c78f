"""Settings base shared by every service.

Each service has exactly one settings class, derived from `ServiceSettings`, read from the
environment and `.env`, validated at start-up. Unknown keys with the service's prefix fail loudly
(`extra="forbid"`), and unsafe values (placeholder secrets, anonymous access to a remote broker)
are refused unless `ANPR_ENVIRONMENT=development`.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from anpr.messages import DEFAULT_PREFIX

Environment = Literal["development", "production"]
PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "secret", "password", "admin", "test", ""})
SECRETS_DIR = "/run/secrets"


def _secrets_dir() -> str | None:
    # Compose `secrets:` land here; pydantic-settings reads a file per field name.
    return SECRETS_DIR if os.path.isdir(SECRETS_DIR) else None


def settings_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=os.environ.get("ANPR_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="forbid",
        secrets_dir=_secrets_dir(),
        validate_default=True,
    )


class _OwnKeysDotEnv(DotEnvSettingsSource):
    """One `.env` serves every service: keep only this class's keys (its prefix), so another
    service's keys are not 'extra', while a typo under this prefix still fails loudly."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        prefix = (self.env_prefix or "").lower()
        fields = self.settings_cls.model_fields
        return {k: v for k, v in data.items() if k in fields or (prefix and k.lower().startswith(prefix))}


# Variables with a settings prefix that belong to the scripts, not to a settings class.
NOT_SETTINGS = frozenset({"ANPR_ENV_FILE", "ANPR_SHARED_DATA", "ANPR_EXTRAS"})


class _TypoCatchingEnv(EnvSettingsSource):
    """pydantic-settings ignores unknown environment variables; a typo such as
    `DETECTOR_CONFIDENSE` would silently keep the default. Hand unknown prefixed names on as extras
    so `extra="forbid"` names them."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        prefix = (self.env_prefix or "").lower()
        if not prefix:
            return data
        known = {name.lower() for name in self.settings_cls.model_fields}
        for name, value in os.environ.items():
            low = name.lower()
            if (
                low.startswith(prefix)
                and name.upper() not in NOT_SETTINGS
                and low[len(prefix) :] not in known
            ):
                data[low] = value
        return data


class PrefixedSettings(BaseSettings):
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _TypoCatchingEnv(settings_cls),
            _OwnKeysDotEnv(  # keeps a `_env_file=` argument given to the constructor
                settings_cls,
                env_file=getattr(dotenv_settings, "env_file", None),
                env_file_encoding=getattr(dotenv_settings, "env_file_encoding", None),
            ),
            file_secret_settings,
        )


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CommonSettings(PrefixedSettings):
    """Settings every edge service shares: where the bus is and how it is named."""

    model_config = settings_config("ANPR_")

    environment: Environment = "production"
    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_/-]+$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    timezone: str = Field(default="America/Chicago", description="the lot's time zone, for what people read")

    @model_validator(mode="after")
    def _known_timezone(self) -> CommonSettings:
        import pytz

        try:
            pytz.timezone(self.timezone)
        except pytz.UnknownTimeZoneError as exc:
            raise ValueError(f"ANPR_TIMEZONE={self.timezone!r} is not a known time zone") from exc
        return self


class MqttSettings(PrefixedSettings):
    """The broker connection, `MQTT_*`. Each service has its own user on a production broker."""

    model_config = settings_config("MQTT_")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    client_id: str | None = Field(default=None, description="default: the service name plus a host suffix")
    keepalive_s: int = Field(default=30, ge=5, le=3600)

    def unsafe_reasons(self) -> list[str]:
        reasons = []
        if self.password is not None and self.password.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            reasons.append("MQTT_PASSWORD is a placeholder")
        if not is_loopback(self.host) and self.username is None:
            reasons.append(
                f"anonymous MQTT to a remote broker ({self.host}); set MQTT_USERNAME/MQTT_PASSWORD"
            )
        return reasons


class ServiceSettings(PrefixedSettings):
    """Base of each service's one settings class: the common part and the broker come along."""

    common: CommonSettings = Field(default_factory=CommonSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> ServiceSettings:
        reasons = self.unsafe_reasons()
        if reasons and self.common.environment != "development":
            raise ValueError(
                "unsafe settings (allowed only with ANPR_ENVIRONMENT=development): " + "; ".join(reasons)
            )
        return self

    def unsafe_reasons(self) -> list[str]:
        return self.mqtt.unsafe_reasons()
