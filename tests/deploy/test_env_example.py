""".env.example lists every setting of every service under its real name, names nothing that does
not exist, and its active values are accepted by the settings classes; the compose files only set
variables that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from anpr.settings import CommonSettings, MqttSettings, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = REPO / ".env.example"
LINE = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$")
COMPOSE_ONLY = "DEPLOY_"


def service_settings() -> list[type[ServiceSettings]]:
    """The one settings class of each service, found in services/*/settings.py."""
    classes = []
    for path in sorted((REPO / "services").glob("*/settings.py")):
        module = importlib.import_module(f"services.{path.parent.name}.settings")
        found = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, ServiceSettings)
            and obj is not ServiceSettings
            and obj.__module__ == module.__name__
        ]
        assert len(found) == 1, f"{path}: expected one settings class, found {found}"
        classes.append(found[0])
    return classes


def all_classes() -> list[type[BaseSettings]]:
    return [CommonSettings, MqttSettings, *service_settings()]


def env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config["env_prefix"]
    return {f"{prefix}{name}".upper() for name in cls.model_fields if name not in ("common", "mqtt")}


def example_names() -> dict[str, str]:
    names = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if m := LINE.match(line):
            names[m.group(1)] = m.group(2)
    return names


def active_lines() -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if LINE.match(line) and not line.startswith("#")
    )


def test_every_setting_is_listed() -> None:
    listed = set(example_names())
    for cls in all_classes():
        missing = env_names(cls) - listed
        assert not missing, f"{cls.__name__} settings missing from .env.example: {sorted(missing)}"


def test_nothing_unknown_is_listed() -> None:
    known = set().union(*(env_names(c) for c in all_classes()))
    prefixes = tuple(c.model_config["env_prefix"] for c in all_classes())
    for name in example_names():
        if name.startswith(COMPOSE_ONLY):
            assert not name.startswith(prefixes), name
            continue
        assert name in known, f".env.example lists {name}, which no settings class has"


def test_every_listed_setting_has_a_comment_above() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        if LINE.match(line):
            j = i - 1
            while j >= 0 and LINE.match(lines[j]):
                j -= 1  # a group of related settings shares one comment
            assert j >= 0 and lines[j].startswith("#") and not LINE.match(lines[j]), f"no comment for {line}"


@pytest.mark.parametrize("cls", all_classes()[2:], ids=lambda c: c.__name__)
def test_the_active_example_values_are_valid(
    cls: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a deployment gives a service: .env.example, plus its user and password from compose."""
    for key in list(__import__("os").environ):
        if key.startswith(
            ("ANPR_", "MQTT_", "CAPTURE_", "DETECTOR_", "OCR_", "AGGREGATOR_", "API_", "PIPELINE_")
        ):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MQTT_USERNAME", "some-service")
    monkeypatch.setenv("MQTT_PASSWORD", "a-generated-password-from-a-secret-file")
    for key, value in active_lines().items():
        monkeypatch.setenv(key, value)
    settings = cls(_env_file=str(ENV_EXAMPLE))
    assert settings.common.environment == "production"


def test_compose_sets_only_variables_that_exist() -> None:
    by_prefix: dict[str, set[str]] = {}
    for cls in all_classes():
        by_prefix.setdefault(cls.model_config["env_prefix"], set()).update(env_names(cls))
    for host in ("jetson", "pi"):
        for name, service in yaml.safe_load((REPO / f"docker-compose.{host}.yml").read_text())[
            "services"
        ].items():
            for key in service.get("environment") or {}:
                for prefix, names in by_prefix.items():
                    if key.startswith(prefix):
                        assert key in names, f"{host}/{name} sets {key}, which no settings class reads"


def test_secret_files_given_to_a_service_are_read_by_it() -> None:
    """A compose secret lands in /run/secrets/<target>; the settings read a file named after a field
    (e.g. mqtt_password), or the service is pointed at its path; anything else would be ignored."""
    fields = {n.lower() for c in all_classes() for n in env_names(c)}
    for host in ("jetson", "pi"):
        doc = yaml.safe_load((REPO / f"docker-compose.{host}.yml").read_text())
        for name, service in doc["services"].items():
            text = yaml.safe_dump(service)
            for secret in service.get("secrets", []):
                target = secret["target"] if isinstance(secret, dict) else secret
                used = (
                    target in fields
                    or f"/run/secrets/{target}" in text
                    or (name == "mosquitto" and target == "mosquitto_passwd")
                )
                assert used, f"{host}/{name}: secret {target} is mounted but nothing reads it"
