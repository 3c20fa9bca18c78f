"""The records service's one settings class, `API_*` (plus `ANPR_*` and `MQTT_*` via the base)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from anpr.settings import PLACEHOLDER_SECRETS, ServiceSettings, settings_config

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///state/api.db"
MIN_PASSPHRASE_LEN = 12
MIN_BLIND_INDEX_KEY_BYTES = 32
MIN_DEVICE_TOKEN_LEN = 24


def decode_key(text: str) -> bytes:
    """A key given as urlsafe or standard base64 (padding optional)."""
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


class ApiSettings(ServiceSettings):
    model_config = settings_config("API_")

    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy async URL")
    db_wait_s: float = Field(default=60.0, ge=0, description="how long start-up waits for the database")
    db_pool_size: int = Field(default=5, ge=1, le=100)

    # -- keys: the RSA private key never enters the database ---------------------------------------------
    private_key_file: Path = Field(default=Path("state/keys/api-rsa.pem"))
    key_passphrase: SecretStr | None = Field(default=None, description="unlocks the private key file")
    key_bits: int = Field(default=3072, ge=3072, le=8192, description="RSA modulus for new key pairs")
    key_scrypt_n: int = Field(
        default=2**15, ge=2**10, description="scrypt cost for new key files (power of 2)"
    )
    blind_index_key: SecretStr | None = Field(
        default=None, description="base64, >=32 bytes; HMAC key for search"
    )

    # -- HTTP ----------------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    docs: bool = Field(default=False, description="serve /docs and /openapi.json (public when on)")
    page_max: int = Field(default=500, ge=1, le=10_000, description="largest page a client may ask for")
    request_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="a request (headers and body) must arrive whole within this"
    )
    keep_alive_s: float = Field(default=5.0, gt=0, le=600, description="idle time between requests")
    max_connections: int = Field(
        default=256, ge=8, le=100_000, description="open connections; more are closed at once"
    )
    max_connections_per_address: int = Field(
        default=64, ge=2, le=100_000, description="open connections from one address; more are closed"
    )
    tls_certfile: Path | None = Field(default=None, description="PEM certificate: serve HTTPS (and HSTS)")
    tls_keyfile: Path | None = Field(default=None, description="its private key (PEM)")
    shutdown_timeout_s: int = Field(
        default=5,
        ge=1,
        le=60,
        description="on SIGTERM, how long open requests may finish (docker stop: 10 s)",
    )

    # -- auth ----------------------------------------------------------------------------------------------
    session_idle_minutes: float = Field(default=30.0, gt=0)
    session_max_hours: float = Field(default=12.0, gt=0)
    login_max_failures: int = Field(default=5, ge=1, description="failed logins per client per window")
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_s: float = Field(default=900.0, gt=0)
    device_token: SecretStr | None = Field(
        default=None, description="edge's token for HTTP ingest; unset: off"
    )

    # -- ingest and queries --------------------------------------------------------------------------------
    mqtt_ingest: bool = Field(default=True, description="consume events from the broker")
    max_stay_hours: float = Field(default=72.0, gt=0, description="an entry older than this is no visit")
    benchmark_plaintext: bool = Field(
        default=False,
        description="BENCHMARK ONLY: store sensitive fields unencrypted; refused outside development",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiSettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("set both API_TLS_CERTFILE and API_TLS_KEYFILE, or neither")
        return self

    @field_validator("key_scrypt_n")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError("must be a power of 2")
        return n

    @field_validator("blind_index_key")
    @classmethod
    def _valid_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(decode_key(key.get_secret_value())) < MIN_BLIND_INDEX_KEY_BYTES:
            raise ValueError(f"must decode to at least {MIN_BLIND_INDEX_KEY_BYTES} bytes")
        return key

    @property
    def blind_index_key_bytes(self) -> bytes | None:
        return decode_key(self.blind_index_key.get_secret_value()) if self.blind_index_key else None

    def unsafe_reasons(self) -> list[str]:
        reasons = super().unsafe_reasons()
        secret = self.key_passphrase.get_secret_value() if self.key_passphrase else None
        if secret is not None and (secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_PASSPHRASE_LEN):
            reasons.append(f"API_KEY_PASSPHRASE is a placeholder or shorter than {MIN_PASSPHRASE_LEN}")
        index_key = self.blind_index_key_bytes
        if index_key is not None and len(set(index_key)) < 8:
            reasons.append("API_BLIND_INDEX_KEY looks like a placeholder, not random bytes")
        if self.device_token is not None:
            token = self.device_token.get_secret_value()
            if token.lower() in PLACEHOLDER_SECRETS or len(token) < MIN_DEVICE_TOKEN_LEN:
                reasons.append(f"API_DEVICE_TOKEN is a placeholder or shorter than {MIN_DEVICE_TOKEN_LEN}")
        if self.benchmark_plaintext:
            reasons.append("API_BENCHMARK_PLAINTEXT stores plates unencrypted (benchmarks only)")
        if self.docs and self.common.environment != "development":
            reasons.append("API_DOCS exposes the API description without login")
        if self.key_scrypt_n < 2**14:
            reasons.append("API_KEY_SCRYPT_N below 2**14 is too cheap for a key file")
        return reasons
