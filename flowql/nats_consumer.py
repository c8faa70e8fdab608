"""Events from NATS JetStream into triggers: a durable pull consumer with explicit acks.

A message is acked only once `TriggerService.publish` has stored its occurrences. A crash
between receipt and storage leaves it unacked, JetStream redelivers it after `ack_wait`,
and the event id makes the second dispatch a no-op for what the first one finished. The
event id is the `Nats-Msg-Id` header, else the body's `id`, else the stream sequence
qualified by the stream's name and creation time (a recreated stream restarts its
sequences; the creation time keeps old ids from shadowing new events).

A malformed message (not JSON, not an object, no `type`, a payload too large) is acked,
logged and counted: retrying could never fix it. Any other failure naks it with a growing
delay, so an outage of the store redelivers rather than drops.

The durable consumer is created on first start with `deliver="all"` (default): a stream
that already held events dispatches its history once; `deliver="new"` starts at the end.
Later starts resume where the durable consumer stopped, whatever this option says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Literal

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import EventMessage
from flowql.engine.triggers import TriggerService

from .metrics import Metrics

log = logging.getLogger(__name__)

DEFAULT_STREAM = "FLOWQL_EVENTS"
DEFAULT_DURABLE = "flowql"
MAX_NAK_DELAY = 30.0


class Malformed(ValueError):
    """A message no redelivery could make valid."""


class NatsEventConsumer:
    """`start()` connects, ensures the stream and the durable consumer, and begins pulling;
    `stop()` finishes the messages in flight, hands the rest of the batch back, and closes."""

    def __init__(
        self,
        url: str,
        subject: str,
        triggers: TriggerService,
        *,
        metrics: Metrics | None = None,
        stream: str = DEFAULT_STREAM,
        durable: str = DEFAULT_DURABLE,
        batch: int = 64,
        concurrency: int = 64,
        ack_wait: float = 30.0,
        fetch_timeout: float = 1.0,
        deliver: Literal["all", "new"] = "all",
    ) -> None:
        self.url = url
        self.subject = subject
        self.stream = stream
        self.durable = durable
        self.metrics = metrics or Metrics()
        self._triggers = triggers
        self._batch = batch
        self._concurrency = concurrency
        self._ack_wait = ack_wait
        self._fetch_timeout = fetch_timeout
        self._deliver = DeliverPolicy.ALL if deliver == "all" else DeliverPolicy.NEW
        self._nc: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._id_prefix = ""

    async def start(self) -> None:
        self._stopping.clear()
        self._nc = await nats.connect(
            self.url,
            name="flowql",
            max_reconnect_attempts=-1,
            reconnected_cb=self._reconnected,
            disconnected_cb=self._disconnected,
            error_cb=self._error,
        )
        try:
            js = self._nc.jetstream()
            stream = await self._ensure_stream(js)
            subscription = await js.pull_subscribe(
                self.subject,
                durable=self.durable,
                stream=stream,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=self._deliver,
                    ack_wait=self._ack_wait,
                    filter_subject=self.subject,
                ),
            )
        except BaseException:
            await self._nc.close()
            raise
        self._task = asyncio.create_task(self._run(subscription), name="nats-consumer")
        log.info("NATS consumer started", extra={"subject": self.subject, "stream": stream})

    async def stop(self, *, grace: float = 10.0) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:  # the in-flight message is left unacked: redelivered later
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.flush(timeout=2)  # the last acks reach the server
            await self._nc.close()
        self._nc = None

    async def _ensure_stream(self, js: JetStreamContext) -> str:
        try:
            stream = await js.find_stream_name_by_subject(self.subject)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(name=self.stream, subjects=[self.subject])
                log.info("NATS stream created", extra={"stream": self.stream, "subject": self.subject})
            except nats.js.errors.BadRequestError:  # another replica created it first
                pass
            stream = await js.find_stream_name_by_subject(self.subject)
        info = await js.stream_info(stream)
        created = info.created.isoformat() if info.created is not None else ""
        self._id_prefix = f"nats:{stream}@{created}:"
        return stream

    async def _run(self, subscription: JetStreamContext.PullSubscription) -> None:
        """Fetch while earlier messages are still being handled: up to `concurrency` at once,
        each acked on its own. Dispatch is idempotent per event, so their order may vary."""
        slots = asyncio.Semaphore(self._concurrency)
        in_flight: set[asyncio.Task[None]] = set()

        async def handle(message: Msg) -> None:
            try:
                await self._handle(message)
            finally:
                slots.release()

        try:
            while not self._stopping.is_set():
                try:
                    messages = await subscription.fetch(self._batch, timeout=self._fetch_timeout)
                except (nats.errors.TimeoutError, TimeoutError):
                    continue
                except Exception:  # disconnected: nats-py reconnects, we poll again
                    log.warning("NATS fetch failed", exc_info=True)
                    await self._pause(1.0)
                    continue
                for index, message in enumerate(messages):
                    await slots.acquire()
                    if self._stopping.is_set():
                        slots.release()
                        await self._hand_back(messages[index:])
                        break
                    task = asyncio.create_task(handle(message))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            await asyncio.gather(*in_flight)
        except asyncio.CancelledError:  # abrupt stop: unacked messages come back after ack_wait
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            raise

    async def _handle(self, message: Msg) -> None:
        try:
            event = self.parse(message)
            await self._triggers.publish(event)
        except Malformed as exc:
            await self._drop(message, str(exc))
        except FlowqlError as exc:
            if exc.code is ErrorCode.VALIDATION:
                await self._drop(message, exc.message)
            else:
                await self._retry(message, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._retry(message, exc)
        else:
            await self._settle(message.ack())
            self.metrics.nats_messages.labels("dispatched").inc()

    def parse(self, message: Msg) -> EventMessage:
        try:
            body: Any = json.loads(message.data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise Malformed(f"not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise Malformed(f"not a JSON object but {type(body).__name__}")
        if not isinstance(body.get("type"), str) or not body["type"]:
            raise Malformed("missing event type")
        header_id = (message.headers or {}).get("Nats-Msg-Id")
        body["id"] = (
            header_id or _text(body.get("id")) or f"{self._id_prefix}{message.metadata.sequence.stream}"
        )
        try:
            return EventMessage.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise Malformed(f"{where}: {first['msg']}") from None

    async def _drop(self, message: Msg, reason: str) -> None:
        log.warning(
            "malformed NATS message acked and dropped",
            extra={"reason": reason, "subject": message.subject, "bytes": len(message.data)},
        )
        await self._settle(message.ack())
        self.metrics.nats_malformed.inc()
        self.metrics.nats_messages.labels("malformed").inc()

    async def _retry(self, message: Msg, exc: BaseException) -> None:
        delivered = _delivered(message)
        delay = min(MAX_NAK_DELAY, 0.5 * 2 ** min(delivered - 1, 16))
        log.error(
            "event dispatch failed; message naked for redelivery",
            exc_info=exc,
            extra={"delivered": delivered, "delay": delay},
        )
        await self._settle(message.nak(delay=delay))
        self.metrics.nats_messages.labels("failed").inc()

    async def _hand_back(self, messages: list[Msg]) -> None:
        """Fetched but not handled at stop: redeliver at once rather than after ack_wait."""
        for message in messages:
            await self._settle(message.nak())

    async def _settle(self, reply: Any) -> None:
        try:
            await reply
        except Exception:  # connection lost: the message is redelivered after ack_wait
            log.warning("NATS ack/nak not sent", exc_info=True)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _disconnected(self) -> None:
        log.warning("NATS disconnected", extra={"url": self.url})

    async def _reconnected(self) -> None:
        log.info("NATS reconnected", extra={"url": self.url})

    async def _error(self, exc: Exception) -> None:
        log.warning("NATS error: %s", exc)


def _text(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _delivered(message: Msg) -> int:
    try:
        return int(message.metadata.num_delivered)
    except Exception:
        return 1


__all__ = ["NatsEventConsumer"]
