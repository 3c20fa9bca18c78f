"""Bus wiring: reads of every camera in, events out (QoS 1), through the aggregator's outbox.

Over MQTT an event leaves the outbox when the records service acknowledges it (forwarder.py). On
the in-process bus of the all-in-one run there is no records service: an event handled by the
bus's subscribers is done.
"""

from __future__ import annotations

import logging

from anpr.bus import Bus, MqttBus
from anpr.messages import EventMessage, Kind, ReadsMessage, topic
from services.aggregator.forwarder import Forwarder
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator

log = logging.getLogger("aggregator.wiring")


def wire(bus: Bus, settings: AggregatorSettings, stage: Aggregator) -> None:
    prefix = settings.common.topic_prefix
    if isinstance(bus, MqttBus):
        forwarder = Forwarder(bus, settings, stage)

        def on_reads(_topic: str, msg: ReadsMessage) -> None:
            if stage.process(msg):
                forwarder.wake()

        bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, on_reads, qos=1)
        forwarder.attach()  # events of a previous run go out again on connect, same UUIDs
        return

    def on_reads_in_process(_topic: str, msg: ReadsMessage) -> None:
        stage.process(msg)
        publish_pending(bus, settings, stage)

    bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, on_reads_in_process, qos=1)
    if stage.pending():
        log.info("%d event(s) of a previous run never handled: publishing again", len(stage.pending()))
        publish_pending(bus, settings, stage)


def publish_pending(bus: Bus, settings: AggregatorSettings, stage: Aggregator) -> int:
    """In-process: publish the outbox, oldest first; each event leaves it once the bus took it.
    Returns how many did. One not taken stays for the next try, and later ones wait behind it."""
    events_topic = topic(settings.common.topic_prefix, Kind.EVENTS)
    confirmed = 0
    for event in stage.pending():
        if not _publish_confirmed(bus, events_topic, event, settings.publish_timeout_s):
            break
        stage.acknowledged(event.event_id)
        confirmed += 1
    return confirmed


def _publish_confirmed(bus: Bus, topic_name: str, event: EventMessage, timeout_s: float) -> bool:
    if bus.publish_and_wait(topic_name, event, qos=1, timeout_s=timeout_s):
        return True
    log.warning("event %s not taken by the bus; it stays in the outbox", event.event_id)
    return False
