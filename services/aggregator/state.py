"""The aggregator's persisted state and the file that holds it.

The file is rewritten atomically (temp file, fsync, os.replace) whenever the state changes, so a
crash leaves either the old or the new state, never half of one. Entries that do not validate (a
camera clock at year 1 written by an older version) are dropped one by one, each camera, car,
sighting or event on its own, and a copy of the file is kept aside; a file that cannot be read or
parsed at all is moved aside and the service starts with an empty state. Either way there is an
error in the log and the evidence stays on disk for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anpr.messages import CameraId, EventMessage, PlateRead, Timestamp

log = logging.getLogger("aggregator.state")

STATE_VERSION: Literal[1] = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sighting(_Model):
    """Reads of one plate on one camera, each less than the window after the one before."""

    camera: CameraId
    first_seen: Timestamp
    last_seen: Timestamp
    read_count: int = Field(ge=1)
    best: PlateRead = Field(description="the most confident read; the event is made from it")
    votes: dict[str, float] = Field(description="normalised text -> summed confidence of its reads")
    tracks: list[int] = Field(default_factory=list, description="detector track ids of its reads")


class Inside(_Model):
    """A plate whose last event was an entry. The key of `State.inside` is the plate's identity."""

    since: Timestamp
    camera: CameraId
    event_id: uuid.UUID


class CameraClock(_Model):
    clock: Timestamp | None = Field(default=None, description="latest capture time seen")
    recent: list[tuple[int, Timestamp]] = Field(
        default_factory=list, description="(seq, captured_at) of recent messages, to skip redeliveries"
    )
    stream: tuple[int, Timestamp, int, Timestamp] | None = Field(
        default=None,
        description="(seq, captured_at) of the first and the newest message handled in this stream",
    )


class State(_Model):
    version: Literal[1] = STATE_VERSION
    inside: dict[str, Inside] = Field(default_factory=dict)
    open: list[Sighting] = Field(default_factory=list)
    outbox: list[EventMessage] = Field(
        default_factory=list,
        description="made, not yet in the outbox database (services/aggregator/outbox.py)",
    )
    cameras: dict[str, CameraClock] = Field(default_factory=dict)


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> State:
        """The saved state; an empty one when there is no file or when it is unusable (moved aside)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            log.info("no state file at %s; starting with nobody inside", self.path)
            return State()
        except OSError as exc:
            return self._set_aside(f"cannot be read ({exc})")
        try:
            state = State.model_validate_json(raw)
        except ValidationError as exc:
            pruned = self._pruned(raw, exc)
            if pruned is None:
                return self._set_aside(
                    f"is not a valid state ({exc.error_count()} error(s), first: {_first(exc)})"
                )
            state = pruned
        log.info(
            "state loaded from %s: %d inside, %d open sighting(s), %d event(s) to publish",
            self.path,
            len(state.inside),
            len(state.open),
            len(state.outbox),
        )
        return state

    def save(self, state: State) -> None:
        """Replace the file atomically; raises OSError when the disk refuses."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = state.model_dump_json().encode()
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())  # the rename must not land before the data on a power cut
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.path.parent)

    def _pruned(self, raw: bytes, exc: ValidationError) -> State | None:
        """The state without the entries `exc` names; None when an error is not inside one entry."""
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        doomed: dict[str, set[Any]] = {}
        for err in exc.errors(include_url=False, include_input=False):
            loc = err.get("loc", ())
            if len(loc) < 2 or loc[0] not in _ENTRIES or not isinstance(data, dict):
                return None
            doomed.setdefault(str(loc[0]), set()).add(loc[1])
        for part, keys in doomed.items():
            entries = data[part]
            if isinstance(entries, list):
                data[part] = [e for i, e in enumerate(entries) if i not in keys]
            else:
                data[part] = {k: v for k, v in entries.items() if k not in keys}
        try:
            state = State.model_validate(data)
        except ValidationError:
            return None
        copy = self._aside_name()
        with contextlib.suppress(OSError):
            shutil.copyfile(self.path, copy)
        dropped = ", ".join(f"{len(keys)} of {part}" for part, keys in sorted(doomed.items()))
        log.error(
            "state file %s: dropped unusable entries (%s; first: %s); the rest is kept, the original copied to %s",
            self.path,
            dropped,
            _first(exc),
            copy,
        )
        return state

    def _aside_name(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")  # a file name, not aggregation time
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        return target

    def _set_aside(self, reason: str) -> State:
        target = self._aside_name()
        try:
            os.replace(self.path, target)
        except OSError as exc:
            log.error(
                "state file %s %s, and it could not be moved aside (%s); starting with nobody inside",
                self.path,
                reason,
                exc,
            )
        else:
            log.error(
                "state file %s %s; moved aside to %s; starting with nobody inside and no open sightings",
                self.path,
                reason,
                target,
            )
        return State()


#: The parts of the state made of independent entries: one bad entry costs only itself.
_ENTRIES = ("inside", "open", "outbox", "cameras")


def _first(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
    return f"{where}: {err['msg']}"


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform or file system allows it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
