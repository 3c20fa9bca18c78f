"""The message bus: MQTT through a broker, or in-process for the all-in-one run.

Both validate on receive: a payload that is not a valid message of the subscribed kind is logged
with its topic and dropped. A handler that raises is logged; the bus keeps running.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import paho.mqtt.client as mqtt

from anpr.messages import BadMessage, Kind, Message, ServiceState, StatusMessage, decode, encode, topic
from anpr.settings import MqttSettings

log = logging.getLogger("anpr.bus")

M = TypeVar("M", bound=Message)
Handler = Callable[[str, M], None]


class Bus(Protocol):
    def subscribe(self, topic_filter: str, model: type[M], handler: Handler[M], qos: int = 1) -> None: ...

    def publish(self, topic_name: str, message: Message, qos: int = 1, retain: bool = False) -> None: ...

    def publish_and_wait(
        self, topic_name: str, message: Message, qos: int = 1, timeout_s: float = 10
    ) -> bool:
        """Publish and report whether the broker confirmed it within `timeout_s`."""
        ...


class RetryLater(Exception):
    """Raised by a handler that could not do its work for a passing reason (the database is down):
    the message is kept, not acknowledged, and handed to the handler again after a pause."""


def _call_handler(handler: Handler[Any], topic_name: str, message: Message) -> bool:
    try:
        handler(topic_name, message)
        return True
    except RetryLater:
        raise
    except Exception:
        log.exception("handler failed on a message from %s; message dropped", topic_name)
        return False


@dataclass
class _Subscription:
    topic_filter: str
    model: type[Message]
    handler: Handler[Any]
    qos: int


class MemoryBus:
    """In-process bus: publish calls matching handlers at once, depth first, on the caller's thread.
    A frame is therefore fully processed by every stage before the next frame is read."""

    def __init__(self) -> None:
        self._subs: list[_Subscription] = []
        self.retained: dict[str, Message] = {}

    def subscribe(self, topic_filter: str, model: type[M], handler: Handler[M], qos: int = 1) -> None:
        self._subs.append(_Subscription(topic_filter, model, handler, qos))

    def publish(self, topic_name: str, message: Message, qos: int = 1, retain: bool = False) -> None:
        if retain:
            self.retained[topic_name] = message
        for sub in list(self._subs):
            if mqtt.topic_matches_sub(sub.topic_filter, topic_name):
                if not isinstance(message, sub.model):
                    log.warning(
                        "dropped a %s on %s: expected %s",
                        type(message).__name__,
                        topic_name,
                        sub.model.__name__,
                    )
                    continue
                _call_handler(sub.handler, topic_name, message)

    def publish_and_wait(
        self, topic_name: str, message: Message, qos: int = 1, timeout_s: float = 10
    ) -> bool:
        self.publish(topic_name, message, qos)
        return True  # delivered synchronously: published means handled


@dataclass
class _Delivery:
    sub: _Subscription
    topic_name: str
    payload: bytes
    mid: int
    qos: int


class MqttBus:
    """paho-mqtt 2 client. Messages are received on paho's network thread, queued, and handled on
    the thread that calls `serve()`, so a slow handler never stalls keep-alives. QoS 1 messages are
    acknowledged only after their handler returned (manual ack), so a crash mid-message means
    redelivery, not loss; consumers must therefore be idempotent.
    """

    def __init__(
        self,
        settings: MqttSettings,
        service: str,
        prefix: str,
        *,
        persistent: bool = False,
        queue_size: int = 64,
    ) -> None:
        self.service = service
        self.prefix = prefix
        self._settings = settings
        self._subs: list[_Subscription] = []
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(maxsize=queue_size)
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self.dropped = 0  # malformed messages dropped since start, for health reports and tests
        client_id = settings.client_id or f"{service}-{socket.gethostname()}"[:64]
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if settings.username:
            pw = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, pw)
        if settings.tls:
            self._client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        self._status_topic = topic(prefix, Kind.STATUS, service)
        offline = StatusMessage(service=service, state=ServiceState.OFFLINE, detail="connection lost")
        self._client.will_set(self._status_topic, encode(offline), qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._suback_mid: int | None = None
        self._on_ready: list[Callable[[], None]] = []

    # -- lifecycle -------------------------------------------------------------------------------
    def connect(self, timeout_s: float = 30.0) -> None:
        """Connect, retrying with back-off until `timeout_s`; the network loop runs in a thread."""
        deadline = time.monotonic() + timeout_s
        delay = 0.5
        while True:
            try:
                self._client.connect(self._settings.host, self._settings.port, self._settings.keepalive_s)
                break
            except OSError as exc:
                if time.monotonic() + delay > deadline:
                    raise ConnectionError(
                        f"MQTT broker {self._settings.host}:{self._settings.port} unreachable: {exc}"
                    ) from exc
                log.warning("broker not reachable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._client.loop_start()
        if not self._connected.wait(max(0.1, deadline - time.monotonic())):
            self._client.loop_stop()
            raise ConnectionError(
                f"MQTT broker {self._settings.host}:{self._settings.port} refused the session"
            )

    def close(self, detail: str = "stopped") -> None:
        self._stopping.set()
        if self._connected.is_set():
            info = self.publish_status(ServiceState.OFFLINE, detail)
            info.wait_for_publish(timeout=5)
        self._client.disconnect()
        self._client.loop_stop()

    def publish_status(self, state: ServiceState, detail: str = "") -> mqtt.MQTTMessageInfo:
        msg = StatusMessage(service=self.service, state=state, detail=detail)
        return self._client.publish(self._status_topic, encode(msg), qos=1, retain=True)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def when_connected(self, hook: Callable[[], None]) -> None:
        """Call `hook` (on the network thread) each time the session is up: first connect and reconnects."""
        self._on_ready.append(hook)

    # -- bus -----------------------------------------------------------------------------------------
    def subscribe(self, topic_filter: str, model: type[M], handler: Handler[M], qos: int = 1) -> None:
        sub = _Subscription(topic_filter, model, handler, qos)
        self._subs.append(sub)
        if self._connected.is_set():
            self._client.subscribe(topic_filter, qos)

    def publish(self, topic_name: str, message: Message, qos: int = 1, retain: bool = False) -> None:
        info = self._client.publish(topic_name, encode(message), qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            # paho queues QoS>0 messages while reconnecting; QoS 0 is lost by definition.
            log.warning("broker not connected; %s queued for %s", type(message).__name__, topic_name)

    def publish_and_wait(
        self, topic_name: str, message: Message, qos: int = 1, timeout_s: float = 10
    ) -> bool:
        info = self._client.publish(topic_name, encode(message), qos=qos)
        try:
            info.wait_for_publish(timeout=timeout_s)
        except (RuntimeError, ValueError) as exc:  # not connected, or paho's queue is full
            log.warning("publish to %s not confirmed: %s", topic_name, exc)
            return False
        return info.is_published()

    def serve(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """Handle queued messages on this thread until `stop` is set."""
        while not stop.is_set():
            try:
                delivery = self._queue.get(timeout=poll_s)
            except queue.Empty:
                continue
            if delivery is None:
                break
            self._dispatch(delivery)

    def serve_once(self, timeout_s: float) -> bool:
        """Handle at most one queued message; False when none came within `timeout_s`."""
        try:
            delivery = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return False
        if delivery is not None:
            self._dispatch(delivery)
        return True

    # -- paho callbacks (network thread); each is guarded so nothing can kill the loop ---------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        try:
            if reason.is_failure:
                log.error("broker refused connection: %s", reason)
                return
            if self._subs:
                # Online only once the broker confirmed the subscriptions: a message published
                # between CONNACK and SUBACK would otherwise pass this service by.
                _rc, self._suback_mid = client.subscribe([(s.topic_filter, s.qos) for s in self._subs])
            else:
                self._ready()
        except Exception:  # pragma: no cover - defensive
            log.exception("on_connect failed")

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        try:
            if mid != self._suback_mid:
                return
            for sub, code in zip(self._subs, codes, strict=False):
                if code.is_failure:
                    log.error("broker refused the subscription to %s: %s", sub.topic_filter, code)
            self._ready()
        except Exception:  # pragma: no cover - defensive
            log.exception("on_subscribe failed")

    def _ready(self) -> None:
        self.publish_status(ServiceState.ONLINE)
        self._connected.set()
        log.info("connected to %s:%s as %s", self._settings.host, self._settings.port, self.service)
        for hook in self._on_ready:
            try:
                hook()
            except Exception:
                log.exception("a connect hook failed")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("disconnected from broker (%s); paho reconnects with back-off", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            for sub in self._subs:
                if mqtt.topic_matches_sub(sub.topic_filter, msg.topic):
                    self._queue.put(_Delivery(sub, msg.topic, bytes(msg.payload), msg.mid, msg.qos))
                    return
            self._ack(msg.mid, msg.qos)
        except Exception:  # pragma: no cover - defensive
            log.exception("on_message failed for %s", msg.topic)

    def _dispatch(self, d: _Delivery) -> None:
        try:
            message = decode(d.sub.model, d.payload)
        except BadMessage as exc:
            self.dropped += 1
            log.warning("dropped a malformed message on %s (%d bytes): %s", d.topic_name, len(d.payload), exc)
        else:
            delay = 0.5
            while True:
                try:
                    _call_handler(d.sub.handler, d.topic_name, message)
                    break
                except RetryLater as exc:
                    if self._stopping.is_set():
                        return  # not acknowledged: the broker redelivers it to the next session
                    log.warning(
                        "handler asked to retry a message from %s in %.1fs: %s", d.topic_name, delay, exc
                    )
                    time.sleep(delay)
                    delay = min(delay * 2, 30.0)
        self._ack(d.mid, d.qos)

    def _ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self._client.ack(mid, qos)
