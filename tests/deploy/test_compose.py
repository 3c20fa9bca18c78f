"""The rules the two compose files must keep: restart policy, healthchecks, start order, secrets as
files, no anonymous broker, MariaDB unreachable from the host, memory for a 1 GB Pi; and that
docker-compose itself accepts them with the example env file."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
COMPOSE = {"jetson": REPO / "docker-compose.jetson.yml", "pi": REPO / "docker-compose.pi.yml"}
EDGE_SERVICES = ("capture", "detector", "ocr", "aggregator")
STATEFUL = {"jetson": ("mosquitto", "aggregator"), "pi": ("mariadb", "api")}
SECRET_NAME = re.compile(r"(PASSWORD|PASSPHRASE|SECRET|TOKEN|BLIND_INDEX_KEY|DATABASE_URL)$")
PI_MEMORY_BUDGET_MB = 640  # of 1 GB: the OS, Docker and the page cache need the rest


def load(host: str) -> dict:
    return yaml.safe_load(COMPOSE[host].read_text())


def running(host: str) -> dict[str, dict]:
    """The services `docker compose up` starts (tools behind a profile are run by hand)."""
    return {n: s for n, s in load(host)["services"].items() if not s.get("profiles")}


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: str(v) for k, v in env.items()}


def megabytes(limit: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg])b?", str(limit).lower())
    assert m, f"unreadable memory limit {limit!r}"
    return float(m.group(1)) * {"k": 1 / 1024, "m": 1, "g": 1024}[m.group(2)]


@pytest.mark.parametrize("host", COMPOSE)
def test_every_service_restarts_unless_stopped(host: str) -> None:
    for name, service in running(host).items():
        assert service.get("restart") == "unless-stopped", f"{host}/{name}"


@pytest.mark.parametrize("host", COMPOSE)
def test_every_service_has_a_healthcheck(host: str) -> None:
    services = running(host)
    for name in STATEFUL[host]:
        assert name in services, f"{host}: stateful service {name} missing"
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test and test != ["NONE"], f"{host}/{name} has no healthcheck"


@pytest.mark.parametrize("host", COMPOSE)
def test_dependencies_wait_until_healthy(host: str) -> None:
    services = running(host)
    for name, service in services.items():
        deps = service.get("depends_on") or {}
        assert isinstance(deps, dict), f"{host}/{name}: depends_on must name a condition"
        for dep, rule in deps.items():
            assert rule == {"condition": "service_healthy"}, f"{host}/{name} -> {dep}: {rule}"
            assert "healthcheck" in services[dep], f"{host}/{name} waits on {dep}, which has no healthcheck"


def test_start_order() -> None:
    jetson, pi = running("jetson"), running("pi")
    for name in EDGE_SERVICES:
        assert "mosquitto" in jetson[name]["depends_on"], name
    # Frames published before their consumers subscribed would be lost.
    assert set(jetson["capture"]["depends_on"]) >= {"detector", "ocr", "aggregator"}
    assert "mariadb" in pi["api"]["depends_on"]


def test_mariadb_is_not_reachable_from_the_host() -> None:
    for host in COMPOSE:
        for name, service in load(host)["services"].items():
            assert service.get("network_mode") != "host", f"{host}/{name} shares the host's network"
    db = load("pi")["services"]["mariadb"]
    assert "ports" not in db, "MariaDB must not publish a port"
    assert db["image"].split(":")[0] == "mariadb"  # the official image (multi-arch, arm64 included)
    assert any(v.endswith(":/var/lib/mysql") for v in db["volumes"]), "MariaDB data must live on a volume"
    assert env_of(db)["MARIADB_PASSWORD_FILE"].startswith("/run/secrets/")
    assert env_of(db)["MARIADB_ROOT_PASSWORD_FILE"].startswith("/run/secrets/")


def test_no_compose_file_or_broker_config_allows_anonymous_access() -> None:
    texts = {
        p: p.read_text()
        for p in [*COMPOSE.values(), *(REPO / "docker" / "mosquitto").rglob("*")]
        if p.is_file()
    }
    for path, text in texts.items():
        assert not re.search(r"allow_anonymous\s+true", text, re.I), f"{path} allows anonymous access"
        assert "MOSQUITTO_ALLOW_ANONYMOUS" not in text.upper(), path
    conf = (REPO / "docker" / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "allow_anonymous false" in conf
    assert "password_file /mosquitto/auth/passwd" in conf
    assert "acl_file /mosquitto/auth/acl" in conf
    # Global security settings: a listener added in conf.d (TLS) inherits password and ACL.
    assert "per_listener_settings false" in conf
    for extra in (REPO / "docker" / "mosquitto" / "conf.d").iterdir():
        assert "per_listener_settings" not in extra.read_text(), extra
    broker = load("jetson")["services"]["mosquitto"]
    assert broker["image"].split(":")[0] == "eclipse-mosquitto"
    assert "./docker/mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in broker["volumes"]
    assert broker["command"][-2:] == ["-c", "/mosquitto/config/mosquitto.conf"]


def test_the_broker_persists_on_a_volume() -> None:
    broker = load("jetson")["services"]["mosquitto"]
    conf = (REPO / "docker" / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "persistence true" in conf and "persistence_location /mosquitto/data/" in conf
    assert "mosquitto-data:/mosquitto/data" in broker["volumes"]


def test_each_edge_service_logs_in_as_its_own_user() -> None:
    services = running("jetson")
    acl_users = re.findall(
        r"^user (\S+)$", (REPO / "docker" / "mosquitto" / "acl.template").read_text(), re.M
    )
    for name in EDGE_SERVICES:
        env = env_of(services[name])
        assert env["MQTT_USERNAME"] == name and env["MQTT_HOST"] == "mosquitto", name
        assert name in acl_users
        assert {"source": f"mqtt_{name}_password", "target": "mqtt_password"} in services[name]["secrets"]
    api = running("pi")["api"]
    assert env_of(api)["MQTT_USERNAME"] == "api" and "api" in acl_users
    # Persistent sessions survive container re-creation only with a fixed client id.
    assert env_of(services["aggregator"])["MQTT_CLIENT_ID"] and env_of(api)["MQTT_CLIENT_ID"]


@pytest.mark.parametrize("host", COMPOSE)
def test_secrets_are_files_not_variables(host: str) -> None:
    doc = load(host)
    for name, service in doc["services"].items():
        for key, value in env_of(service).items():
            if SECRET_NAME.search(key):
                pytest.fail(f"{host}/{name}: secret {key} set in the environment ({value!r}); use secrets:")
    for name, secret in doc["secrets"].items():
        assert secret["file"].startswith("${DEPLOY_SECRETS_DIR:-./secrets}/"), f"{host}: secret {name}"


def test_the_env_example_holds_no_secret_values() -> None:
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key = line.split("=", 1)[0]
            assert not SECRET_NAME.search(key), f".env.example sets the secret {key}"


def test_required_variables_fail_with_a_message() -> None:
    jetson, pi = COMPOSE["jetson"].read_text(), COMPOSE["pi"].read_text()
    assert "${CAPTURE_SOURCE:?" in jetson and "${DEPLOY_CAMERA_DEVICE:?" in jetson
    assert "${MQTT_HOST:?" in pi


def test_the_jetson_services_get_their_devices() -> None:
    services = running("jetson")
    assert services["detector"]["runtime"] == "nvidia"
    assert services["capture"]["runtime"] == "nvidia"
    assert "/tmp/argus_socket:/tmp/argus_socket" in services["capture"]["volumes"]
    assert any(d.endswith(":/dev/video0") for d in services["capture"]["devices"])
    export = load("jetson")["services"]["detector-export"]
    assert "format=engine" in export["command"] and "half=True" in export["command"]
    models = [v for v in services["detector"]["volumes"] if ":/models" in v]
    assert models and env_of(services["detector"])["DETECTOR_MODEL"].endswith("/models/yolo11n.engine}")
    aggregator = services["aggregator"]
    assert "aggregator-state:/app/state" in aggregator["volumes"]
    assert "aggregator-output:/app/output" in aggregator["volumes"]
    assert env_of(aggregator)["AGGREGATOR_STATE_FILE"].startswith("/app/state/")


def test_memory_limits_fit_a_raspberry_pi_3() -> None:
    services = running("pi")
    limits = {name: megabytes(s["mem_limit"]) for name, s in services.items()}
    assert set(limits) == set(services), "every Pi service needs a memory limit"
    assert sum(limits.values()) <= PI_MEMORY_BUDGET_MB, limits


def _closure(requirement: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Installed distributions a requirement pulls in, following extras (from installed metadata)."""
    seen: set[str] = set()
    todo = [(Requirement(requirement).name, set(extras) or Requirement(requirement).extras)]
    while todo:
        name, wanted = todo.pop()
        key = name.lower().replace("_", "-")
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (wanted or {""})):
                continue
            dep = req.name.lower().replace("_", "-")
            if dep not in seen:
                seen.add(dep)
                todo.append((req.name, req.extras))
        seen.add(key)
    return seen


def test_the_pi_image_installs_no_torch() -> None:
    dockerfile = (REPO / "docker" / "api" / "Dockerfile").read_text()
    installs = re.findall(r'pip install[^\n]*"/src\[([^\]]*)\]"', dockerfile)
    assert installs == ["api"], installs
    pulled = _closure("anpr-lot[api]")
    assert "fastapi" in pulled and "cryptography" in pulled  # the closure is real
    assert not pulled & {"torch", "torchvision", "ultralytics", "opencv-python", "opencv-python-headless"}


DOCKER_COMPOSE = shutil.which("docker-compose")


def _compose_config(host: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        DOCKER_COMPOSE or "docker-compose",
        "--env-file",
        str(env_file),
        "-f",
        str(COMPOSE[host]),
        "config",
        "-q",
    ]
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "DEPLOY_ENV_FILE": str(env_file)}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose not installed (deploy/check.sh installs it)"
)
@pytest.mark.parametrize("host", COMPOSE)
def test_docker_compose_accepts_the_file_with_the_example_env(host: str) -> None:
    proc = _compose_config(host, REPO / ".env.example")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose not installed (deploy/check.sh installs it)"
)
def test_docker_compose_refuses_a_missing_required_variable(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    lines = (REPO / ".env.example").read_text().splitlines()
    env_file.write_text("\n".join(line for line in lines if not line.startswith("CAPTURE_SOURCE=")) + "\n")
    proc = _compose_config("jetson", env_file)
    assert proc.returncode != 0
    assert "set CAPTURE_SOURCE in .env" in proc.stderr
