"""Fixtures of the aggregator tests: settings with a state file of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from tests.aggregator.helpers import Feed


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(**overrides: object) -> AggregatorSettings:
        values: dict[str, object] = {"state_file": tmp_path / "state" / "aggregator.json"}
        values.update(overrides)
        return AggregatorSettings(**values)

    return make


@pytest.fixture
def aggregator(make_settings) -> Aggregator:
    return Aggregator(make_settings())


@pytest.fixture
def feed(aggregator: Aggregator) -> Feed:
    return Feed(aggregator)
