"""The front door: one stable address for a model, with its versions behind it.

    python -m deskml.server.router CONFIG.json

A small HTTP/1.1 reverse proxy on asyncio and httptools (as ``http.py``), made so that
the address a user gave their colleagues never changes when versions do:

* **switching** (promote, roll back): the host writes a new CONFIG (atomically, with a
  higher ``generation``); the front door reads it within ``POLL`` seconds and sends every
  request whose head arrives after that to the new live version. Requests already on
  their way finish on the version they went to: the old version's connections are closed
  as their answers complete (``draining``), and the host stops the old service only once
  ``GET /_deskml/front-door`` says none is busy. Clients keep their own connections to the
  front door, keep-alive or new, so none of them sees a connection close under it.
* **A/B split**: ``{"mode": "split", "share": 0.1}`` sends that share of prediction
  requests to the challenger; a request with a key (the ``x-deskml-key`` header, else the
  JSON body's ``"key"``) always meets the same version (a hash of the key, not chance).
* **shadow**: the live version answers; the challenger gets a copy of each prediction
  request after the live one has been sent. Its answer is read and dropped (the
  challenger journals it); at most ``SHADOW_IN_FLIGHT`` copies wait at a time and each
  has ``SHADOW_TIMEOUT`` seconds, so a slow or dead challenger costs the live answers
  nothing but the copy.

**Handing connections over** (Linux): with one version live and no test running, the
front door does not pass requests on at all. It accepts each client's connection and
sends the socket itself to the live version (``SCM_RIGHTS`` over the version's abstract
Unix socket, ``http.Handoff``), which serves it as if it had accepted it: the stable
address then costs nothing per request. The front door only looks at the first bytes
(``MSG_PEEK``) so that its own page stays its own. On a switch, or when a test starts,
the version gives every connection back at its next pause between two requests, and the
front door hands it on to the new live version (or serves it itself, in a test); the old
version counts as draining until it says it holds none (``done``). A version it cannot
reach that way (a container with a published port, an older image, another system) is
passed requests as above, as are all when ``$DESKML_FRONT_DOOR_HANDOFF`` is ``0``.

In a test, each service is told its variant (``x-deskml-variant``: a/b in a split,
live/shadow in a shadow test) and, in a shadow test, the request's pair id
(``x-deskml-request``), so that its journal can pair the two answers to one input.
With one version live no header is added: the request goes through as it came.

CONFIG: ``{"generation": 1, "host": "127.0.0.1", "port": 8600,
"live": {"version": "2", "address": "127.0.0.1:40123"},
"challenger": null | {"version": "3", "address": "127.0.0.1:40200", "mode": "split" | "shadow",
"share": 0.1}}``
"""
import asyncio
import collections
import hashlib
import ipaddress
import json
import os
import random
import signal
import socket
import sys
import time

import httptools

from .http import HANDOFF_NAME, REASONS, Plumbing, handoff_supported, peer_uid, run_loop

STATUS_PATH = b"/_deskml/front-door"
PREDICT_PATH = b"/v1/predict"   # what a challenger gets; CSV batches stay with the live version
POLL = 0.05                  # seconds between looks at the config file
UPSTREAM_IDLE = 10.0         # an idle connection to a service is closed before the service's 15 s
KEEP_BODY = 1 << 20          # bodies up to this are kept until answered (a retry, a shadow copy)
SHADOW_IN_FLIGHT = 8
SHADOW_TIMEOUT = 5.0
HIGH_WATER = 1 << 20         # bytes buffered towards one side before the other side's reading pauses
STATUS_REQUEST = b"GET " + STATUS_PATH
IMAGE_UID = 10001            # the user DeskML's images run the service as (packaging/dockerfile.py)
HANDOFF_ENV = "DESKML_FRONT_DOOR_HANDOFF"  # "0": always pass requests on (measurements, troubleshooting)
PEEK_WAIT = 15.0             # seconds a new connection may stay silent before it closes
DROPPED = {b"connection", b"keep-alive", b"expect", b"proxy-connection", b"x-deskml-variant",
           b"x-deskml-request"}


def _error(status, message):
    """A whole answer of the front door's own, after which it closes the connection."""
    body = json.dumps({"error": {"message": message}}).encode()
    said = b"x-deskml-front-door: unavailable\r\n" if status >= 500 else b""  # no version answers
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%sconnection: close"
            b"\r\n\r\n%s" % (status, REASONS.get(status, b"Error"), len(body), said, body))


def share_of(key):
    """Where a key falls in [0, 1): the same for the same key, on every computer and run."""
    digest = hashlib.blake2b(key.encode("utf-8", "replace") if isinstance(key, str) else key, digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2.0 ** 64


class Backend:
    """One version's service, and the front door's idle connections to it."""

    def __init__(self, router, version, address):
        self.router = router
        self.version = str(version)
        self.address = address
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.idle = []
        self.busy = 0
        self.answered = 0
        self.failed = 0
        self.draining = False
        self.channel = None      # the service's handoff socket, when it has one
        self.tried = 0.0
        self.handed = 0          # connections handed over
        self.releasing = None    # asked to give its connections back, not done yet

    # -- handing connections over ---------------------------------------------------------
    def open_channel(self):
        """Reach the service's handoff socket (a local service of a trusted user), or not."""
        now = time.monotonic()
        if self.channel is not None or now - self.tried < 1.0 or not handoff_supported():
            return self.channel
        self.tried = now
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect("\0" + HANDOFF_NAME % self.port)
            if peer_uid(sock) not in (os.getuid(), 0, IMAGE_UID):
                raise OSError("not a service of this computer's user")
        except OSError:
            sock.close()
            return None
        sock.setblocking(False)
        self.channel = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._message)
        return sock

    def hand(self, conn):
        """Send an accepted connection to the service; False when it cannot take it."""
        try:
            socket.send_fds(self.channel, [b"c"], [conn.fileno()])
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self.close_channel()
            return False
        self.handed += 1
        conn.close()  # the service holds it now
        return True

    def say(self, message):
        try:
            self.channel.send(message)
            return True
        except OSError:
            self.close_channel()
            return False

    def ask_back(self, n):
        """Ask the service for its connections back (a switch, or a test begins)."""
        if self.channel is not None and self.say(b"release:%d" % n):
            self.releasing = b"%d" % n

    def _message(self):
        try:
            msg, fds, _, _ = socket.recv_fds(self.channel, 64, 32)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            msg, fds = b"", []
        if not msg:
            self.close_channel()
            return
        if msg == b"c":
            for fd in fds:
                self.router.returned(socket.socket(fileno=fd))
        else:
            for fd in fds:
                os.close(fd)
            if msg == b"done:" + (self.releasing or b"-"):
                self.releasing = None

    def close_channel(self):
        if self.channel is not None:
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
            self.channel.close()
            self.channel = None
        self.releasing = None  # a service that is gone holds nothing
        if self.router.handoff_to is self:
            self.router.handoff_to = None

    def take(self):
        """An idle connection (the one used last), or None (then ``connect``)."""
        while self.idle:
            up = self.idle.pop()
            if not up.closed:
                return up
        return None

    async def connect(self):
        loop = asyncio.get_running_loop()
        _, up = await loop.create_connection(lambda: Upstream(self), self.host, self.port)
        return up

    def release(self, up, reusable):
        self.busy -= 1
        if reusable and not self.draining and not up.closed:
            up.idle_since = time.monotonic()  # no timer per answer: ``sweep`` closes the stale ones
            self.idle.append(up)
        else:
            up.close()

    def sweep(self, now):
        """Close the connections idle for ``UPSTREAM_IDLE`` (the oldest are first in the list)."""
        idle = self.idle
        while idle and (idle[0].closed or now - idle[0].idle_since > UPSTREAM_IDLE):
            idle.pop(0).close()

    def drain(self):
        self.draining = True
        for up in self.idle:
            up.close()
        self.idle.clear()

    def in_use(self):
        return self.busy > 0 or self.releasing is not None

    def to_dict(self):
        return {"version": self.version, "address": self.address, "busy": self.busy, "answered": self.answered,
                "failed": self.failed, "handed": self.handed, "handing_back": self.releasing is not None}


class Exchange:
    """One request from a client, on its way to a service and back. The defaults are the
    class's own (one dict entry set per request, not twenty: this runs for every request)."""
    method = path = head = keep_alive = None
    kept = 0                 # bytes of body kept
    complete = chunked = False
    backend = upstream = None
    got = 0                  # bytes of answer passed on to the client
    retried = False
    shadow_copy = None
    key = variant = pair = None
    head_only = done = False
    wait_body = False        # sent once whole (a small body: one write to the service)
    route_later = False      # the version is chosen once the body is here (a key inside it)
    request_line = b""
    extra = b""              # the headers the front door adds

    def __init__(self, client):
        self.client = client
        self.parts = []          # body pieces not yet sent (or kept for a retry)


class Client(Plumbing, asyncio.Protocol):
    """A connection from a client of the model."""

    def __init__(self, router):
        self.router = router
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.current = None
        self.url = b""
        self.headers = []
        self.queue = collections.deque()
        self.active = None
        self.closed = False
        self.reading_paused = False
        self.local = False
        self.upstream_paused = None   # an upstream whose reading waits for this client to drain

    # -- asyncio -------------------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.router.clients.add(self)
        transport.set_write_buffer_limits(HIGH_WATER)
        peer = transport.get_extra_info("peername")
        try:  # the front door's own page is for this computer only (DeskML asks it)
            self.local = ipaddress.ip_address(peer[0].split("%")[0]).is_loopback
        except (TypeError, ValueError, IndexError):
            self.local = False

    def connection_lost(self, exc):
        self.closed = True
        self.router.clients.discard(self)
        ex = self.active
        if ex is not None and ex.upstream is not None and not ex.done:
            ex.upstream.close()  # nobody waits for this answer any more

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "upgrades are not supported")
        except httptools.HttpParserError as exc:
            self._fail(400, f"the request is not valid HTTP ({exc})")

    def pause_writing(self):
        pass  # the upstream feeding this client is paused in ``Upstream.data_received``

    def resume_writing(self):
        up, self.upstream_paused = self.upstream_paused, None
        if up is not None:
            up.resume()

    # -- httptools -----------------------------------------------------------------------
    def on_message_begin(self):
        self.current = Exchange(self)
        self.url = b""
        self.headers = []

    def on_url(self, url):
        self.url += url

    def on_header(self, name, value):
        self.headers.append((name, value))

    def on_headers_complete(self):
        ex = self.current
        parser = self.parser
        ex.method = parser.get_method()
        ex.keep_alive = parser.should_keep_alive()
        ex.path = self.url.partition(b"?")[0]
        kept = []
        expect = False
        length = 0
        for name, value in self.headers:
            low = name.lower()
            if low in DROPPED:
                expect = expect or (low == b"expect" and value.lower() == b"100-continue")
                continue
            if low == b"content-length":
                length = int(value) if value.isdigit() else KEEP_BODY + 1
            elif low == b"transfer-encoding" and b"chunked" in value.lower():
                ex.chunked = True
            elif low == b"x-deskml-key":
                ex.key = value
            kept.append(b"%s: %s\r\n" % (name, value))
        ex.head = kept
        ex.request_line = b"%s %s HTTP/1.1\r\n" % (ex.method, self.url)
        ex.head_only = ex.method == b"HEAD"
        if expect:
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        router = self.router
        # a small body goes with its head in one write (one wake-up of the service, not two);
        # a large or chunked one is passed on as it comes
        ex.wait_body = not ex.chunked and length <= KEEP_BODY
        if ex.path == STATUS_PATH and self.local:
            ex.wait_body = True
        elif router.challenger is not None and ex.method == b"POST" and is_prediction(ex.path):
            if router.challenger.mode == "split" and ex.key is None:
                ex.wait_body = ex.route_later = True  # the key may be in the body: choose once it is here
            else:
                router.route(ex)
        else:
            ex.backend = router.live
        if not ex.wait_body:
            self._enqueue(ex)

    def on_body(self, body):
        ex = self.current
        if ex.chunked:
            body = b"%x\r\n%s\r\n" % (len(body), body)
        if ex is self.active and ex.upstream is not None:
            ex.upstream.write(body)
            if ex.parts is not None:
                if ex.kept + len(body) > KEEP_BODY:
                    ex.parts = None  # too big to keep: no retry, no shadow copy
                else:
                    ex.parts.append(body)
                    ex.kept += len(body)
            return
        ex.parts.append(body)  # not sent yet: held
        ex.kept += len(body)
        if ex.kept > KEEP_BODY * 4 and not ex.wait_body:
            self.pause_reading()  # a large body that has to wait: stop reading until it can go

    def on_message_complete(self):
        ex, self.current = self.current, None
        ex.complete = True
        if ex.chunked:
            if ex is self.active and ex.upstream is not None:
                ex.upstream.write(b"0\r\n\r\n")
            if ex.parts is not None:
                ex.parts.append(b"0\r\n\r\n")
        if ex.wait_body:
            ex.wait_body = False
            if ex.route_later:
                if ex.key is None:
                    ex.key = _key_in(b"".join(ex.parts))
                self.router.route(ex)
            self._enqueue(ex)
        elif ex is self.active and ex.upstream is not None:
            self.router.shadow(ex)

    # -- in order ------------------------------------------------------------------------
    def _enqueue(self, ex):
        if self.active is None:
            self._start(ex)
        else:
            self.queue.append(ex)

    def _start(self, ex):
        self.active = ex
        if ex.path == STATUS_PATH and self.local:
            body = json.dumps(self.router.status()).encode()
            self.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                       % (len(body), body))
            self.finished(ex)
            return
        backend = ex.backend
        if backend is None:
            self.write(_error(503, "no version of this model is live; start it in DeskML"))
            self.close()
            return
        backend.busy += 1
        up = backend.take()
        if up is not None:
            self._send(ex, up)
        else:
            asyncio.ensure_future(self._connect(ex, backend))

    async def _connect(self, ex, backend):
        try:
            up = await backend.connect()
        except OSError:
            backend.busy -= 1
            backend.failed += 1
            self.write(_error(503, f"version {backend.version} of this model is not answering (it may be "
                                   "restarting); try again in a moment"))
            self.close()
            return
        if self.closed:
            backend.release(up, True)
            return
        self._send(ex, up)

    def _send(self, ex, up):
        ex.upstream = up
        up.exchange = ex
        if ex.variant is not None:
            ex.extra = b"x-deskml-variant: %s\r\n" % ex.variant
            if ex.pair is not None:
                ex.extra += b"x-deskml-request: %s\r\n" % ex.pair
        up.write(ex.request_line + b"".join(ex.head) + ex.extra + b"\r\n" + b"".join(ex.parts))
        if ex.kept > KEEP_BODY:
            ex.parts = None
        if ex.complete:
            self.router.shadow(ex)
        self.resume_reading()

    def finished(self, ex):
        """The answer to ``ex`` is all passed on."""
        ex.done = True
        if ex is self.active:
            self.active = None
        if not ex.keep_alive:
            self.close()
            return
        if self.queue:
            self._start(self.queue.popleft())
        elif self.current is None and self.router.handoff_to is not None:
            self.hand_over()

    def hand_over(self):
        """Between two requests, with one version live: the connection goes to that version."""
        target = self.router.handoff_to
        transport = self.transport
        if (self.closed or self.active is not None or self.current is not None or self.queue or target is None
                or transport.get_write_buffer_size()):
            return
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        transport.pause_reading()
        dup = socket.socket(fileno=os.dup(sock.fileno()))
        if target.hand(dup):
            self.closed = True
            transport.close()  # this copy only
        else:
            dup.close()
            transport.resume_reading()

    def retry_or_fail(self, ex, why):
        """The service closed the connection: again on a new one when nothing was passed on
        and the request is whole in hand; otherwise the client hears it."""
        backend = ex.backend
        backend.busy -= 1
        ex.upstream = None
        if self.closed:
            return
        if ex.got == 0 and not ex.retried and ex.complete and ex.parts is not None:
            ex.retried = True
            backend.busy += 1
            asyncio.ensure_future(self._connect(ex, backend))
            return
        backend.failed += 1
        if ex.got == 0:
            self.write(_error(502, f"version {backend.version} of this model closed the connection before "
                                   f"answering ({why}); try again"))
        self.close()

    def _fail(self, status, message):
        self.write(_error(status, message))
        self.close()


def is_prediction(path: bytes) -> bool:
    """A request a test's challenger takes part in: /v1/predict, and the Open Inference
    Protocol's infer for the model (not for a version named in the path: only that version
    knows it). CSV batches and everything else stay with the live version."""
    return path == PREDICT_PATH or (path.startswith(b"/v2/models/") and path.endswith(b"/infer")
                                    and b"/versions/" not in path)


def _checked(config):
    """(generation, live, challenger) of a settings file, each version's address and version
    read as text and a challenger's mode and share checked; a ValueError or the like when the
    file is not one the host writes. Nothing is changed until the whole file is read."""
    def member(spec):
        if not spec:
            return None
        address, version = spec["address"], spec["version"]
        host, _, port = str(address).rpartition(":")
        if not host or not 0 < int(port) < 65536:
            raise ValueError(f"{address!r} is not an address")
        return {**spec, "address": str(address), "version": str(version)}

    generation = int(config.get("generation", 0))
    live, ch = member(config.get("live")), member(config.get("challenger"))
    if ch:
        ch["mode"] = ch.get("mode", "split")
        ch["share"] = float(ch.get("share", 0.5))
        if ch["mode"] not in ("split", "shadow") or not 0.0 <= ch["share"] <= 1.0:
            raise ValueError(f"a test of mode {ch['mode']!r} and share {ch['share']!r}")
    return generation, live, ch


def _key_in(body):
    """The ``"key"`` of a JSON prediction request, when it has one (a customer's id)."""
    if b'"key"' not in body:
        return None
    try:
        key = json.loads(body).get("key")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return key if isinstance(key, str) and key else None


class Upstream(asyncio.Protocol):
    """The front door's connection to one version's service."""

    def __init__(self, backend):
        self.backend = backend
        self.transport = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange = None
        self.closed = False
        self.timer = None        # a shadow copy's time limit
        self.idle_since = 0.0
        self.paused = False

    def connection_made(self, transport):
        self.transport = transport

    def write(self, data):
        if not self.closed:
            self.transport.write(data)

    def data_received(self, data):
        ex = self.exchange
        if ex is None:  # an answer nobody asked for: this connection cannot be trusted
            self.close()
            return
        client = ex.client
        if not ex.shadow_copy:
            ex.got += len(data)
            client.write(data)
            transport = client.transport
            if not client.closed and transport.get_write_buffer_size() > HIGH_WATER:
                self.paused = True
                self.transport.pause_reading()
                client.upstream_paused = self
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.exchange = None
            self.close()
            if not ex.shadow_copy:
                client.close()

    def on_headers_complete(self):
        ex = self.exchange
        if ex is not None and ex.head_only:  # no body follows the head of an answer to HEAD
            self.exchange = None
            self._answered(ex, False)

    def on_message_complete(self):
        ex, self.exchange = self.exchange, None
        if ex is not None:
            self._answered(ex, self.parser.should_keep_alive())

    def _answered(self, ex, reusable):
        self.cancel_timer()  # a shadow copy's time limit
        backend = self.backend
        backend.answered += 1
        backend.release(self, reusable)
        if ex.shadow_copy:
            backend.router.shadow_done(self)
            return
        ex.client.finished(ex)

    def resume(self):
        if self.paused and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def connection_lost(self, exc):
        self.closed = True
        self.cancel_timer()
        ex, self.exchange = self.exchange, None
        if ex is None:
            return
        if ex.shadow_copy:
            self.backend.busy -= 1
            self.backend.failed += 1
            self.backend.router.shadow_done(self)
            return
        ex.client.retry_or_fail(ex, "its connection was lost" if exc is None else str(exc))

    def cancel_timer(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def close(self):
        if not self.closed:
            self.closed = True
            self.transport.close()


class Challenger(Backend):
    def __init__(self, router, version, address, mode, share):
        super().__init__(router, version, address)
        self.mode = mode
        self.share = float(share)
        self.skipped = 0      # shadow copies not sent: too many waiting, or a body too large

    def to_dict(self):
        return {**super().to_dict(), "mode": self.mode, "share": self.share, "skipped": self.skipped}


class Router:
    def __init__(self, config_path):
        self.config_path = config_path
        self.generation = -1
        self.live = None
        self.challenger = None
        self.draining = []
        self.clients = set()
        self.shadows = set()
        self.handoff_to = None   # the live version, when connections are handed to it
        self.releases = 0
        self.peeking = {}        # new connections whose first bytes are awaited
        self.allow_handoff = os.environ.get(HANDOFF_ENV, "1") != "0"
        self.mtime = None
        self.host = "127.0.0.1"
        self.port = 0
        self.rand = random.Random()
        self.load(first=True)

    # -- configuration -------------------------------------------------------------------
    def load(self, first=False):
        try:
            stat = os.stat(self.config_path)
            if stat.st_mtime_ns == self.mtime and not first:
                return
            with open(self.config_path, "rb") as f:
                config = json.load(f)
            self.mtime = stat.st_mtime_ns
        except (OSError, ValueError) as exc:
            if first:
                raise SystemExit(f"the front door's settings cannot be read: {exc}")
            return  # half written or gone: the last good settings stay
        try:
            generation, live, ch = _checked(config)
            if first:
                self.host, self.port = str(config.get("host", "127.0.0.1")), int(config["port"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if first:
                raise SystemExit(f"the front door's settings are not usable: {exc!r}")
            print(f"front door: settings not usable, the last good ones stay: {exc!r}", file=sys.stderr, flush=True)
            return
        if generation <= self.generation:
            return
        old = [b for b in (self.live, self.challenger) if b is not None]
        self.live = self._backend(live, old) if live else None
        if ch:
            mode = ch["mode"]
            kept = [b for b in old if isinstance(b, Challenger) and b.address == ch["address"]]
            if kept and kept[0].mode == mode:
                self.challenger = kept[0]
                self.challenger.share = ch["share"]
            else:
                self.challenger = Challenger(self, ch["version"], ch["address"], mode, ch["share"])
        else:
            self.challenger = None
        current = {id(b) for b in (self.live, self.challenger) if b is not None}
        for b in old:
            if id(b) not in current:
                b.drain()
                self.draining.append(b)
        self.generation = generation
        if not first:
            self.choose_handoff()

    def choose_handoff(self):
        """Hand connections to the live version when it can take them and no test runs; any
        other version that holds some is asked to give them back."""
        live = self.live
        target = None
        if (self.allow_handoff and live is not None and self.challenger is None
                and live.open_channel() is not None):
            target = live
        if target is not self.handoff_to:
            if target is not None:
                target.say(b"take")  # the service keeps what it holds, a give-back under way included
                for b in self.draining:
                    if b.address == target.address:
                        b.releasing = None
            for b in (*self.draining, self.live, self.challenger):
                if b is not None and b is not target and b.channel is not None and b.handed and b.releasing is None:
                    self.releases += 1
                    b.ask_back(self.releases)
                    b.handed = 0
            self.handoff_to = target
            if target is not None:
                for c in list(self.clients):
                    c.hand_over()

    # -- connections ---------------------------------------------------------------------
    def accepted(self, conn):
        """A new client's connection: handed to the live version, or served here."""
        if self.handoff_to is None:
            self.adopt(conn)
        else:
            self._look(conn)

    def _look(self, conn):
        """Its first bytes, without reading them (the front door's own page stays here)."""
        try:
            first = conn.recv(len(STATUS_REQUEST), socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            loop = asyncio.get_running_loop()
            self.peeking[conn] = loop.call_later(PEEK_WAIT, self._silent, conn)
            loop.add_reader(conn.fileno(), self._first_bytes, conn)
            return
        except OSError:
            conn.close()
            return
        self._triage(conn, first)

    def _first_bytes(self, conn):
        asyncio.get_running_loop().remove_reader(conn.fileno())
        self.peeking.pop(conn).cancel()
        self._look(conn)

    def _silent(self, conn):
        asyncio.get_running_loop().remove_reader(conn.fileno())
        timer = self.peeking.pop(conn, None)
        if timer is not None:
            timer.cancel()
        conn.close()

    def _triage(self, conn, first):
        if not first:
            conn.close()  # closed before it said anything
        elif STATUS_REQUEST.startswith(first[:len(STATUS_REQUEST)]) or self.handoff_to is None:
            self.adopt(conn)  # the front door's own page (or what may yet become it)
        elif not self.handoff_to.hand(conn):
            self.adopt(conn)

    def returned(self, conn):
        """A connection a version gave back: on to the live version, or served here."""
        target = self.handoff_to
        if target is None or not target.hand(conn):
            self.adopt(conn)

    def adopt(self, conn):
        conn.setblocking(False)
        loop = asyncio.get_running_loop()
        asyncio.ensure_future(loop.connect_accepted_socket(lambda: Client(self), conn))

    def _backend(self, spec, old):
        for b in old:  # the same service stays the same backend (its connections with it)
            if b.address == spec["address"] and str(b.version) == str(spec["version"]) and type(b) is Backend:
                return b
        return Backend(self, spec["version"], spec["address"])

    def status(self):
        kept = []
        for b in self.draining:
            if b.in_use():
                kept.append(b)
            else:
                b.close_channel()
        self.draining = kept
        handing_back = [b.version for b in (self.live, self.challenger) if b is not None and b.releasing is not None]
        return {"generation": self.generation, "port": self.port,
                "mode": "handoff" if self.handoff_to is not None else "proxy",
                "live": self.live.to_dict() if self.live else None,
                "challenger": self.challenger.to_dict() if self.challenger else None,
                "draining": [b.to_dict() for b in self.draining], "handing_back": handing_back,
                "clients": len(self.clients), "shadows_waiting": len(self.shadows), "pid": os.getpid()}

    # -- routing -------------------------------------------------------------------------
    def route(self, ex):
        """Which version answers a prediction request while a challenger is there."""
        ch = self.challenger
        if ch.mode == "shadow":
            ex.backend = self.live
            ex.variant = b"live"
            ex.pair = b"%016x" % self.rand.getrandbits(64)
            return
        share = share_of(ex.key) if ex.key else self.rand.random()
        if share < ch.share:
            ex.backend, ex.variant = ch, b"b"
        else:
            ex.backend, ex.variant = self.live, b"a"

    def shadow(self, ex):
        """A copy of a whole prediction request for the challenger, in a shadow test."""
        ch = self.challenger
        if ex.pair is None or ch is None or ch.mode != "shadow" or ex.shadow_copy is not None:
            return
        ex.shadow_copy = False
        if ex.parts is None or len(self.shadows) >= SHADOW_IN_FLIGHT:
            ch.skipped += 1
            return
        copy = Exchange(None)
        copy.shadow_copy = True
        copy.request_line = ex.request_line
        copy.head = ex.head
        copy.extra = b"x-deskml-variant: shadow\r\nx-deskml-request: %s\r\n" % ex.pair
        copy.parts = list(ex.parts)
        copy.backend = ch
        ch.busy += 1
        up = ch.take()
        if up is not None:
            self._shadow_send(copy, up)
        else:
            asyncio.ensure_future(self._shadow_connect(copy, ch))

    async def _shadow_connect(self, copy, ch):
        try:
            up = await asyncio.wait_for(ch.connect(), SHADOW_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            ch.busy -= 1
            ch.failed += 1
            return
        self._shadow_send(copy, up)

    def _shadow_send(self, copy, up):
        up.exchange = copy
        self.shadows.add(up)
        up.timer = asyncio.get_running_loop().call_later(SHADOW_TIMEOUT, up.close)
        up.write(copy.request_line + b"".join(copy.head) + copy.extra + b"\r\n" + b"".join(copy.parts))

    def shadow_done(self, up):
        self.shadows.discard(up)

    # -- running -------------------------------------------------------------------------
    def _listen(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        if hasattr(socket, "TCP_DEFER_ACCEPT"):  # woken when the first bytes are in: the peek has them at once
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
        listener.listen(1024)
        listener.setblocking(False)
        return listener

    def _accept(self, listener):
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of file descriptors, or the like: the next accept may do
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as a server's own accept does
            self.accepted(conn)

    async def serve(self, ready=None):
        loop = asyncio.get_running_loop()
        listener = self._listen()
        loop.add_reader(listener.fileno(), self._accept, listener)
        self.choose_handoff()
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
            except (NotImplementedError, RuntimeError):
                pass
        if ready is not None:
            ready(listener)
        print(f"front door listening on {self.host}:{self.port}", flush=True)
        while not stop.done():
            await asyncio.wait([stop], timeout=POLL)
            self.load()
            now = time.monotonic()
            for b in (self.live, self.challenger):
                if b is not None:
                    b.sweep(now)
            if self.handoff_to is None and self.live is not None and self.challenger is None:
                self.choose_handoff()  # the live version may have (re)started with a handoff socket
        loop.remove_reader(listener.fileno())
        listener.close()
        for conn in list(self.peeking):
            self._silent(conn)
        for c in list(self.clients):
            c.close_if_idle()
        deadline = loop.time() + 10
        while self.clients and loop.time() < deadline:
            await asyncio.sleep(0.02)
            for c in list(self.clients):
                c.close_if_idle()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m deskml.server.router CONFIG.json", file=sys.stderr)
        return 2
    run_loop(Router(argv[0]).serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
