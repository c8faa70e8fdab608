"""Formance's orchestration events out to NATS JetStream (`--nats-url`, `--events-subject`).

Each event is published with `Nats-Msg-Id` set to its id (`{instance}:{seq}:{type}`), so a
republish after a crash is dropped by JetStream's duplicate window instead of stored twice.
JetStream publishing waits for the stream's acknowledgement: an event counts as published
only once stored. The stream is created when no stream captures the subject yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import nats
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from flowql.engine.events import OutgoingEvent
from flowql.engine.outbox import OutboxPublisher
from flowql.engine.runtime import Engine

log = logging.getLogger(__name__)

DEFAULT_STREAM = "FLOWQL_ORCHESTRATION"


class NatsEventSink:
    def __init__(self, js: JetStreamContext, subject: str) -> None:
        self._js = js
        self.subject = subject

    async def publish(self, events: Sequence[OutgoingEvent]) -> None:
        for event in events:
            await self._js.publish(self.subject, event.body(), headers={"Nats-Msg-Id": event.id})


class NatsEventsOut:
    """The publisher loop over the engine's outbox, with its own NATS connection."""

    def __init__(self, url: str, subject: str, engine: Engine, *, stream: str = DEFAULT_STREAM) -> None:
        self.url = url
        self.subject = subject
        self.stream = stream
        self._engine = engine
        self._nc: Client | None = None
        self.publisher: OutboxPublisher | None = None

    async def start(self) -> None:
        self._nc = await nats.connect(self.url, name="flowql-events", max_reconnect_attempts=-1)
        js = self._nc.jetstream()
        try:
            await js.find_stream_name_by_subject(self.subject)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(name=self.stream, subjects=[self.subject])
                log.info("NATS stream created", extra={"stream": self.stream, "subject": self.subject})
            except nats.js.errors.BadRequestError:  # created meanwhile by another replica
                pass
        self.publisher = OutboxPublisher(self._engine.store, NatsEventSink(js, self.subject))
        self._engine.bus.add_listener(lambda _transition: self._notify())
        self.publisher.start()
        log.info("orchestration events out", extra={"subject": self.subject})

    def _notify(self) -> None:
        if self.publisher is not None:
            self.publisher.notify()

    async def stop(self) -> None:
        if self.publisher is not None:
            await self.publisher.stop()
        if self._nc is not None:
            await self._nc.close()


__all__ = ["NatsEventSink", "NatsEventsOut"]
