"""python -m services.aggregator [--check-config]"""

from __future__ import annotations

from collections.abc import Sequence

from anpr.service import load_settings, serve
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.wiring import wire


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(AggregatorSettings, "aggregator", argv)
    stage = Aggregator(settings)
    # A persistent session: reads published while the aggregator restarts wait for it at the broker.
    serve("aggregator", settings, lambda bus: wire(bus, settings, stage), persistent=True)


if __name__ == "__main__":
    main()
