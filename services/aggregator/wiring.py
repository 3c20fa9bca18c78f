"""Bus wiring: reads of every camera in, events out (QoS 1), through the aggregator's outbox."""

from __future__ import annotations

import logging

from anpr.bus import Bus
from anpr.messages import EventMessage, Kind, ReadsMessage, topic
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator

log = logging.getLogger("aggregator.wiring")


def wire(bus: Bus, settings: AggregatorSettings, stage: Aggregator) -> None:
    prefix = settings.common.topic_prefix

    def on_reads(_topic: str, msg: ReadsMessage) -> None:
        stage.process(msg)
        publish_pending(bus, settings, stage)

    bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, on_reads, qos=1)
    # Events a previous run made but never saw confirmed: out again, same UUIDs. Over MQTT this runs
    # before the connection exists; paho queues them and sends them on connect, and they leave the
    # outbox with the next confirmed publish.
    if stage.pending():
        log.info("%d event(s) of a previous run never confirmed: publishing again", len(stage.pending()))
        publish_pending(bus, settings, stage)


def publish_pending(bus: Bus, settings: AggregatorSettings, stage: Aggregator) -> int:
    """Publish the outbox, oldest first; each event leaves it once the bus confirms it. Returns how
    many were confirmed. An unconfirmed event stays for the next try (redelivery is harmless: the
    records service keys events by UUID)."""
    events_topic = topic(settings.common.topic_prefix, Kind.EVENTS)
    confirmed = 0
    for event in stage.pending():
        if not _publish_confirmed(bus, events_topic, event, settings.publish_timeout_s):
            break  # keep the order: later events wait for this one
        stage.mark_published(event.event_id)
        confirmed += 1
    return confirmed


def _publish_confirmed(bus: Bus, topic_name: str, event: EventMessage, timeout_s: float) -> bool:
    if bus.publish_and_wait(topic_name, event, qos=1, timeout_s=timeout_s):
        return True
    log.warning("event %s not confirmed by the broker; it stays in the outbox", event.event_id)
    return False
