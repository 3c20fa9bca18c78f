"""Container healthcheck of an edge service: is it connected to the broker and subscribed?

    python /opt/healthcheck.py <service>

Every service publishes a retained `<prefix>/status/<service>` = online once it has connected and
subscribed, and the broker replaces it with its last will (offline) when the connection dies. This
reads that retained message with the service's own credentials (MQTT_* and /run/secrets/mqtt_password,
the same settings the service uses) and exits 0 only when it says online.
"""

from __future__ import annotations

import sys
import threading

import paho.mqtt.client as mqtt

from anpr.messages import BadMessage, Kind, ServiceState, StatusMessage, decode, topic
from anpr.settings import CommonSettings, MqttSettings


def check(service: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    """(healthy, why) from the retained status of `service`."""
    settings = MqttSettings()
    status_topic = topic(CommonSettings().topic_prefix, Kind.STATUS, service)
    done = threading.Event()
    result: list[tuple[bool, str]] = []

    def on_connect(client: mqtt.Client, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
        if reason.is_failure:
            result.append((False, f"broker refused the healthcheck: {reason}"))
            done.set()
        else:
            client.subscribe(status_topic, qos=1)

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            status = decode(StatusMessage, msg.payload)
        except BadMessage as exc:
            result.append((False, f"unreadable status on {msg.topic}: {exc}"))
        else:
            ok = status.state is ServiceState.ONLINE
            result.append(
                (ok, f"{service} is {status.state.value} since {status.at.isoformat()} {status.detail}")
            )
        done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    if settings.username:
        client.username_pw_set(
            settings.username, settings.password.get_secret_value() if settings.password else None
        )
    if settings.tls:
        client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(settings.host, settings.port, keepalive=10)
    except OSError as exc:
        return False, f"broker {settings.host}:{settings.port} unreachable: {exc}"
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            return False, f"no status from {service} on {status_topic} within {timeout_s:.0f}s"
        return result[0]
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: healthcheck.py <service>", file=sys.stderr)
        return 2
    ok, why = check(argv[1])
    print(why)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
