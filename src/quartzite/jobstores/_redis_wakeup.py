"""Wake-up over Redis pub/sub: a thread that listens on the store's channel.

Every change made through a :class:`~quartzite.jobstores.redis.RedisJobStore` (a job added,
modified, removed; a run asked for) publishes an empty message on ``<jobs_key>.changes``. A
scheduler sharing the store watches that channel so that it looks at the store again at once
instead of sleeping until its next due time.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis import Redis

_logger = logging.getLogger("quartzite.jobstores")

#: How long one wait for a message lasts: also the most ``stop()`` waits for the thread.
POLL_SECONDS = 1.0
#: Back-off after a failed connection, doubling up to the maximum.
MIN_BACKOFF, MAX_BACKOFF = 0.5, 10.0


class ChangeWatcher:
    """Calls ``callback`` (from its own daemon thread) for each message on ``channel``.

    The pub/sub connection is its own (taken from the client's pool and not returned while
    subscribed). After a lost connection it reconnects with back-off and calls ``callback``
    once, since changes may have been missed meanwhile.
    """

    def __init__(self, client: Redis, channel: str, callback: Callable[[], None]) -> None:
        self._client = client
        self._channel = channel
        self._callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"quartzite-redis-watch-{channel}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2 * POLL_SECONDS + 1) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _notify(self) -> None:
        try:
            self._callback()
        except Exception:  # the watcher must outlive a failing callback
            _logger.exception("The wake-up callback of the Redis store failed")

    def _loop(self) -> None:
        backoff = MIN_BACKOFF
        reconnected = False
        while not self._stop.is_set():
            pubsub: Any = None
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                if reconnected:
                    self._notify()  # what changed while the connection was down is unknown
                backoff = MIN_BACKOFF
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=POLL_SECONDS) is not None:
                        self._notify()
            except (RedisError, OSError) as exc:
                if self._stop.is_set():
                    break
                _logger.warning(
                    "Lost the Redis connection that watches %s (%s) -- reconnecting in %.1f s",
                    self._channel,
                    exc,
                    backoff,
                )
                reconnected = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # closing a broken connection may fail too
                        pass
