"""python -m services.aggregator [--check-config]"""

from __future__ import annotations

from collections.abc import Sequence

from anpr.service import load_settings, serve
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.wiring import wire

ABOUT = """Consumes <prefix>/reads/+ (ReadsMessage); publishes <prefix>/events (EventMessage, QoS 1): one entry or
exit per sighting, by the 30-second rule (AGGREGATOR_WINDOW_S). Who is inside survives a restart in
AGGREGATOR_STATE_FILE."""


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(AggregatorSettings, "aggregator", argv, about=ABOUT, check=Aggregator)
    stage = Aggregator(settings)
    # A persistent session: reads published while the aggregator restarts wait for it at the broker.
    try:
        serve("aggregator", settings, lambda bus: wire(bus, settings, stage), persistent=True)
    finally:
        stage.save_unsaved()


if __name__ == "__main__":
    main()
