"""Bounds on one HTTP request, for the arXiv and the model clients alike: a deadline, a size cap.

Neither `requests` nor the `openai` SDK's httpx client has a deadline for a whole
request: their timeouts bound each wait on the socket, so a server that sends a byte
every few seconds keeps a request going for ever. And both read a reply whole before
anything looks at it, however large. Here each request gets:

- a deadline, `timeout` seconds after it starts, for connecting, the status line and
  headers, and the body alike. Each wait on the socket gets at most what is left of
  it, and a watchdog shuts the connection down the moment it passes, so a read waiting
  on a server that trickles its headers or its body a byte at a time ends then, not
  one timeout later. Past the deadline the request fails as a timeout of its own
  client, which retries it within `retries`. The watchdog reaches the socket before
  the headers through each client's own extension point: httpcore's `trace` callback
  (which sees the connection made) for the model, urllib3's connection class (whose
  `getresponse` reads the headers) for arXiv.
- a size cap on the body, counted as it arrives (after decompression for arXiv; the
  model is asked not to compress): over it, the connection is dropped and the reply
  refused with `RefusedReplyError` before anything parses it.

This module imports `httpx2` and `requests` at its top; the client factories import it
when they make a client, so it costs nothing to a build that never needs the network.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

import httpcore2
import httpx2
import requests
import urllib3
from requests.adapters import HTTPAdapter

from mkdocs_arxiv_digest.errors import RefusedReplyError

_CHUNK = 64 * 1024
_DEADLINE = "arxiv_digest.deadline"
"""Key of a request's `Deadline` in the httpx request extensions (httpcore ignores unknown keys)."""


class Deadline:
    """The moment a request is given up: ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.end


class _Watchdog:
    """Calls ``shutdown`` at the deadline unless disarmed first; ends a read blocked on the socket."""

    def __init__(self, deadline: Deadline, shutdown: Callable[[], None]) -> None:
        self._shutdown = shutdown
        self._armed = True
        # Disarming and firing exclude each other: a connection whose reply was read
        # whole goes back to the pool, and must not be shut down there.
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline.remaining(), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self._armed = False
            with contextlib.suppress(OSError, RuntimeError, ValueError):  # already closed or released
                self._shutdown()

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
        self._timer.cancel()


def _bounded(
    chunks: Iterable[bytes],
    deadline: Deadline,
    max_bytes: int,
    *,
    errors: tuple[type[Exception], ...],
    timed_out: Callable[[], Exception],
) -> Iterator[bytes]:
    """``chunks`` as they arrive, until the cap or the deadline is passed.

    A read the watchdog ended surfaces as one of the client's ``errors`` (the peer seems
    to have closed): past the deadline, that is a timeout.
    """
    received = 0
    iterator = iter(chunks)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except errors as error:
            if deadline.passed():
                raise timed_out() from error
            raise
        received += len(chunk)
        if received > max_bytes:
            raise RefusedReplyError(f"the reply is larger than {_size(max_bytes)}; refused")
        if deadline.passed():
            raise timed_out()
        yield chunk


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count} bytes"


# -- the model: httpx, through the openai SDK ----------------------------------------


def httpx_event_hooks(timeout: float, max_bytes: int) -> Mapping[str, list[Callable[..., Any]]]:
    """`event_hooks` for the httpx client the openai SDK is given: every request bounded.

    Timeouts raised here are httpx's own, so the SDK retries them within its
    `max_retries`; `RefusedReplyError` is not an error the SDK knows, so it is not retried.
    """

    def start(request: httpx2.Request) -> None:
        # A redirect shares its request's extensions, so the deadline spans every hop;
        # the SDK's retries are new requests, each with a deadline of its own.
        deadline = request.extensions.setdefault(_DEADLINE, Deadline(timeout))
        request.extensions["trace"] = _HeadersWatch(deadline)
        # A connection taken from the pool was made for another request: its socket is
        # never seen by this one's `trace`, so none is kept for reuse. (One handshake more
        # a request, against replies that take seconds to write.)
        request.headers["connection"] = "close"
        # The cap must count what is parsed: a compressed reply could inflate a
        # thousandfold after the count.
        request.headers["accept-encoding"] = "identity"

    def bound(response: httpx2.Response) -> None:
        request = response.request
        deadline: Deadline = request.extensions[_DEADLINE]
        if deadline.passed():
            raise httpx2.ReadTimeout(f"no reply headers within {timeout:g} s", request=request)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            raise RefusedReplyError(f"the reply is compressed ({encoding}) though it was asked not to be; refused")
        assert isinstance(response.stream, httpx2.SyncByteStream)  # the SDK's client is synchronous
        response.stream = _BoundedStream(response.stream, deadline, max_bytes, _socket_shutdown(response), request)

    return {"request": [start], "response": [bound]}


class _HeadersWatch:
    """httpcore's `trace` callback for one request: a watchdog from the connection made to the headers read.

    httpcore reports each step of a request to this callback, in the requesting thread;
    the connection's stream comes with "connect_tcp.complete" (and again, wrapped,
    with "start_tls.complete"), the first moment the socket can be reached. A step
    that fails past the deadline (the watchdog shut the socket: "Server disconnected")
    is reported as the timeout it is: an exception raised here replaces httpcore's.
    """

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._watchdog: _Watchdog | None = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            sock = info["return_value"].get_extra_info("socket")
            if isinstance(sock, socket.socket) and self._watchdog is None:
                self._watchdog = _Watchdog(self.deadline, lambda: sock.shutdown(socket.SHUT_RDWR))
        elif event == "http11.receive_response_headers.complete":
            self._disarm()  # the body is read by `_BoundedStream`, under a watchdog of its own
        elif event.endswith(".failed"):
            self._disarm()
            if self.deadline.passed():
                raise httpcore2.ReadTimeout(f"no reply within {self.deadline.seconds:g} s") from info.get("exception")

    def _disarm(self) -> None:
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None


def _socket_shutdown(response: httpx2.Response) -> Callable[[], None] | None:
    """How to end a blocked read of this reply: shut its socket down (HTTP/1.1 exposes it)."""
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if not isinstance(sock, socket.socket):
        return None
    return lambda: sock.shutdown(socket.SHUT_RDWR)


class _BoundedStream(httpx2.SyncByteStream):
    """A reply body read against its request's deadline and the size cap."""

    def __init__(
        self,
        inner: httpx2.SyncByteStream,
        deadline: Deadline,
        max_bytes: int,
        shutdown: Callable[[], None] | None,
        request: httpx2.Request,
    ) -> None:
        self._inner = inner
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._shutdown = shutdown
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        watchdog = _Watchdog(self._deadline, self._shutdown) if self._shutdown else None
        try:
            yield from _bounded(
                self._inner,
                self._deadline,
                self._max_bytes,
                errors=(httpx2.TransportError,),
                timed_out=self._timed_out,
            )
        finally:
            if watchdog is not None:
                watchdog.disarm()

    def _timed_out(self) -> Exception:
        return httpx2.ReadTimeout(f"no complete reply within {self._deadline.seconds:g} s", request=self._request)

    def close(self) -> None:
        self._inner.close()


# -- arXiv: requests, through the arxiv package ----------------------------------------


_REQUEST_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("deadline", default=None)
"""The deadline of the request this thread is making through a `BoundedSession`, for its connection."""


class _HeadersBounded(urllib3.connection.HTTPConnection):
    """A urllib3 connection whose wait for a reply's status line and headers ends at the request's deadline."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        deadline, sock = _REQUEST_DEADLINE.get(), self.sock
        watchdog = _Watchdog(deadline, lambda: sock.shutdown(socket.SHUT_RDWR)) if deadline and sock else None
        try:
            return super().getresponse()
        finally:
            if watchdog is not None:
                watchdog.disarm()  # the body is read by `BoundedSession._read`, under a watchdog of its own


class _HeadersBoundedTLS(_HeadersBounded, urllib3.connection.HTTPSConnection):
    pass


class _HeadersBoundedPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HeadersBounded


class _HeadersBoundedTLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HeadersBoundedTLS


_HEADERS_BOUNDED_POOLS = {"http": _HeadersBoundedPool, "https": _HeadersBoundedTLSPool}


class _HeadersBoundedAdapter(HTTPAdapter):
    """requests' adapter, with connections of `_HeadersBounded` (direct, and through an HTTP proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _HEADERS_BOUNDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # a SOCKS proxy's pools are its own
            manager.pool_classes_by_scheme = _HEADERS_BOUNDED_POOLS
        return manager


class BoundedSession(requests.Session):
    """A requests session whose every request is bounded (the `arxiv` package sets no timeout).

    The body is read here, streamed, and handed to the caller as an ordinary read
    response. ``check(body)`` may refuse a 200 reply before the caller parses it.
    Redirects are followed here too: requests would read each redirect's body whole,
    and give each hop a timeout of its own.
    """

    max_redirects = 5

    def __init__(self, timeout: float, max_bytes: int, check: Callable[[bytes], None] | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.check = check
        for prefix in ("http://", "https://"):
            self.mount(prefix, _HeadersBoundedAdapter())

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        deadline = Deadline(self.timeout)
        kwargs.update(stream=True, allow_redirects=False)
        for _hop in range(self.max_redirects + 1):
            # Connecting, and each wait for the headers, get what is left of the deadline,
            # and the wait for all the headers together ends with it (`_HeadersBounded`).
            kwargs["timeout"] = max(deadline.remaining(), 0.001)
            token = _REQUEST_DEADLINE.set(deadline)
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.ConnectionError as error:
                if deadline.passed():  # the watchdog shut the connection down
                    raise requests.ReadTimeout(f"no reply headers within {self.timeout:g} s") from error
                raise
            finally:
                _REQUEST_DEADLINE.reset(token)
            response._content = self._read(response, deadline)
            if not response.is_redirect:
                break
            url = urljoin(response.url, response.headers["location"])
        else:
            raise requests.TooManyRedirects(f"more than {self.max_redirects} redirects", response=response)
        if self.check is not None and response.status_code == requests.codes.ok:
            self.check(response._content)
        return response

    def _read(self, response: requests.Response, deadline: Deadline) -> bytes:
        shutdown = getattr(response.raw, "shutdown", None)  # urllib3 >= 2.3: ends a read from another thread
        watchdog = _Watchdog(deadline, shutdown) if shutdown is not None else None
        try:
            return b"".join(
                _bounded(
                    response.iter_content(_CHUNK),
                    deadline,
                    self.max_bytes,
                    errors=(requests.RequestException,),
                    timed_out=lambda: requests.ReadTimeout(
                        f"no complete reply within {self.timeout:g} s", response=response
                    ),
                )
            )
        finally:
            if watchdog is not None:
                watchdog.disarm()
            response.close()
