"""A lean HTTP/1.1 server on asyncio and httptools, made for the model service.

Why not a framework: one prediction takes ~0.1 ms of model time, and a general
server's per-request machinery (a task, ASGI messages, two socket writes per
answer) cost as much again. Here a request is parsed by httptools' callbacks,
handed to the app as a :class:`Request`, and answered with **one** socket write.
No task is created for an ordinary request; only streaming endpoints (the CSV
one) run as a task, with flow control both ways.

What it does, and nothing more:

* keep-alive and HTTP/1.0, pipelined requests answered in order;
* ``Expect: 100-continue``; request bodies up to a limit (413 beyond it);
* streamed request and response bodies (chunked) for the app's streaming routes;
* an idle keep-alive timeout; a malformed request gets 400 and the connection closes;
* graceful stop on SIGTERM/SIGINT: stop accepting, finish what is in flight
  (new answers say ``connection: close``), then exit;
* on Linux, connections handed over by the model's front door (:class:`Handoff`), served
  as if accepted here, and handed back when the front door asks (a switch of versions).

The app is any object with ``handle(request)`` (answer now or later with
``request.respond``), ``streams(method, path)`` (does this route stream its
body?), ``handle_stream(request)`` (a coroutine) and ``finished(request, status)``.
"""
import asyncio
import collections
import json
import os
import signal
import socket
import struct
import sys
import time

import httptools

IDLE_TIMEOUT = 15.0             # seconds a keep-alive connection may sit idle
STREAM_HIGH_WATER = 4 << 20     # bytes of streamed body buffered before reading pauses
REASONS = {200: b"OK", 100: b"Continue", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found",
           405: b"Method Not Allowed", 413: b"Payload Too Large", 422: b"Unprocessable Entity",
           500: b"Internal Server Error", 503: b"Service Unavailable"}
JSON = b"application/json"


class Request:
    __slots__ = ("conn", "method", "path", "query", "headers", "body", "parts", "size", "keep_alive",
                 "t0", "endpoint", "status", "stream", "answered", "started", "spool")

    def __init__(self, conn):
        self.conn = conn
        self.headers = {}
        self.parts = []
        self.size = 0
        self.stream = None       # a BodyStream for streaming routes
        self.answered = False
        self.started = False     # a streamed answer has sent its head
        self.status = 0
        self.endpoint = "other"
        self.spool = None        # streamed answer held back while the client is still sending
        self.t0 = time.perf_counter()

    # -- answering ----------------------------------------------------------------
    def respond(self, status, body, content_type=JSON, extra=b""):
        """The whole answer in one write."""
        if self.answered:
            return
        conn = self.conn
        keep = self.keep_alive and not conn.server.stopping
        head = b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s%s\r\n" % (
            status, REASONS.get(status, b"Unknown"), content_type, len(body), extra,
            b"" if keep else b"connection: close\r\n")
        conn.write(head if self.method == "HEAD" else head + body)
        self._done(status, keep)

    def start_stream(self, status, content_type):
        self.started = True
        self.conn.write(b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n\r\n"
                        % (status, REASONS.get(status, b"Unknown"), content_type))

    async def send_chunk(self, data):
        """Send a piece of a streamed answer. Many clients (Python's requests among them)
        send the whole request before they read any of the answer; while such a client is
        still sending and not reading, the answer is held in a temporary file instead of
        waiting for it, which would stop reading the request: a deadlock."""
        if not data:
            return
        framed = b"%x\r\n%s\r\n" % (len(data), data)
        conn = self.conn
        if self.spool is None and not conn.writing_paused:
            conn.write(framed)
        elif self.stream is not None and not self.stream.complete:
            if self.spool is None:
                import tempfile
                self.spool = tempfile.TemporaryFile(prefix="deskml-answer-")
            self.spool.write(framed)
        else:
            await self._flush_spool()
            conn.write(framed)
            await conn.drained()

    async def _flush_spool(self):
        if self.spool is None:
            return
        spool, self.spool = self.spool, None
        spool.seek(0)
        with spool:
            while not self.conn.closed:
                piece = spool.read(1 << 20)
                if not piece:
                    break
                self.conn.write(piece)
                await self.conn.drained()

    async def end_stream(self, status=200):
        await self._flush_spool()
        self.conn.write(b"0\r\n\r\n")
        self._done(status, self.keep_alive and not self.conn.server.stopping)

    def abort_stream(self, status, last_words=b""):
        """A streamed answer that cannot finish: say why in-band, then cut the
        connection without the closing chunk, so that every client sees it broke."""
        if self.spool is not None:  # what was held back no longer matters
            self.spool.close()
            self.spool = None
        if last_words:
            self.conn.write(b"%x\r\n%s\r\n" % (len(last_words), last_words))
        self._done(status, False)
        self.conn.close()

    def _done(self, status, keep):
        self.answered = True
        self.status = status
        self.keep_alive = keep
        self.conn.finished(self)


class BodyStream:
    """A request body as it arrives, for a streaming route; pauses the socket when full."""

    def __init__(self, conn):
        self.conn = conn
        self.chunks = collections.deque()
        self.buffered = 0
        self.complete = False
        self.waiter = None
        self.discard = False     # answered already: the rest of the body is read and dropped

    def feed(self, data):
        if self.discard:
            return
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > STREAM_HIGH_WATER:
            self.conn.pause_reading()
        self._wake()

    def end(self):
        self.complete = True
        self._wake()

    def _wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def read(self):
        """The next piece of the body; b"" at its end."""
        while not self.chunks:
            if self.complete or self.conn.closed:
                return b""
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        data = self.chunks.popleft()
        self.buffered -= len(data)
        if self.buffered <= STREAM_HIGH_WATER // 2:
            self.conn.resume_reading()
        return data


class Plumbing:
    """What a client's connection does with its transport: the service's and the front door's
    (``router.py``). Needs ``transport``, ``closed``, ``reading_paused``, and the request
    being parsed (``current``), answered (``active``) and waiting (``queue``)."""

    def write(self, data):
        if not self.closed:
            self.transport.write(data)

    def pause_reading(self):
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self):
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self):
        if not self.closed:
            self.closed = True
            self.transport.close()

    def close_if_idle(self):
        if self.active is None and self.current is None and not self.queue:
            self.close()


class Connection(Plumbing, asyncio.Protocol):
    def __init__(self, server, handoff=None):
        self.server = server
        self.handoff = handoff       # the Handoff it came through (the front door may ask it back)
        self.app = server.app
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.current = None          # the request being parsed
        self.url = b""               # its target, as httptools hands it over in pieces
        self.queue = collections.deque()  # parsed, waiting their turn (pipelining)
        self.active = None           # the request being answered
        self.closed = False
        self.reading_paused = False
        self.write_waiter = None
        self.writing_paused = False
        self.idle_timer = None

    # -- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.server.connections.add(self)
        if self.handoff is not None:
            self.handoff.held.add(self)
        self._arm_idle()

    def connection_lost(self, exc):
        self.closed = True
        self.server.connections.discard(self)
        if self.handoff is not None:
            self.handoff.lost(self)
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        for req in (self.current, self.active, *self.queue):
            if req is not None and req.stream is not None:
                req.stream.end()
        if self.write_waiter is not None and not self.write_waiter.done():
            self.write_waiter.set_result(None)

    def data_received(self, data):
        if self.closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, b"upgrades are not supported")
        except httptools.HttpParserError as exc:
            self._fail(400, f"the request is not valid HTTP ({exc})".encode())

    def pause_writing(self):
        self.writing_paused = True

    def resume_writing(self):
        self.writing_paused = False
        if self.write_waiter is not None and not self.write_waiter.done():
            self.write_waiter.set_result(None)

    # -- httptools callbacks ----------------------------------------------------------
    def on_message_begin(self):
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.current = Request(self)
        self.url = b""

    def on_url(self, url):
        self.url += url

    def on_header(self, name, value):
        self.current.headers[name.lower()] = value

    def on_headers_complete(self):
        req = self.current
        req.method = self.parser.get_method().decode("ascii", "replace")
        path, _, query = self.url.partition(b"?")
        req.path = path.decode("utf-8", "replace")
        req.query = query
        req.keep_alive = self.parser.should_keep_alive()
        if self.app.streams(req.method, req.path):
            req.stream = BodyStream(self)
        length = req.headers.get(b"content-length")
        if req.stream is None and length and length.isdigit() and int(length) > self.server.max_body:
            self._too_large(req)
            return
        if req.headers.get(b"expect", b"").lower() == b"100-continue":
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if req.stream is not None:
            self._enqueue(req)  # a streaming route starts before its body has arrived

    def on_body(self, body):
        req = self.current
        if req.stream is not None:
            req.stream.feed(body)
            return
        if req.answered:  # refused (too large): read and dropped
            return
        req.size += len(body)
        if req.size > self.server.max_body:
            self._too_large(req)
            return
        req.parts.append(body)

    def on_message_complete(self):
        req, self.current = self.current, None
        if req.stream is not None:
            req.stream.end()
        if req.answered:  # answered before its body was all read: now go on (or close)
            self._next(req)
            return
        if req.stream is not None:
            return
        req.body = b"".join(req.parts)
        req.parts = None
        self._enqueue(req)

    # -- answering in order --------------------------------------------------------------
    def _enqueue(self, req):
        if self.active is None:
            self._run(req)
        else:
            self.queue.append(req)

    def _run(self, req):
        self.active = req
        if req.stream is not None:
            task = asyncio.get_running_loop().create_task(self.app.handle_stream(req))
            self.server.tasks.add(task)
            task.add_done_callback(self.server.tasks.discard)
        else:
            self.app.handle(req)

    def finished(self, req):
        self.app.finished(req, req.status)
        if req is self.current:  # its body is still arriving: drop the rest, then go on
            if req.stream is not None:
                req.stream.discard = True
                req.stream.chunks.clear()
                self.resume_reading()
            return
        self._next(req)

    def _next(self, req):
        if req is self.active:
            self.active = None
        if not req.keep_alive:
            self.close()
            return
        if self.active is not None:
            return
        if self.queue:
            self._run(self.queue.popleft())
        elif self.current is None:
            self._arm_idle()

    # -- plumbing ---------------------------------------------------------------------
    async def drained(self):
        if self.writing_paused and not self.closed:
            self.write_waiter = asyncio.get_running_loop().create_future()
            await self.write_waiter

    def _arm_idle(self):
        if self.server.stopping:
            self.close()
            return
        if self.handoff is not None and self.handoff.released:
            self.handoff.give_back(self)  # between two requests: back to the front door
            return
        self.idle_timer = asyncio.get_running_loop().call_later(IDLE_TIMEOUT, self.close_if_idle)

    def _too_large(self, req):
        """Answer 413 at once; the body is still read (and dropped) so that the client,
        still sending, gets to read the answer; then the connection closes."""
        req.keep_alive = False
        self.app.too_large(req)

    def _fail(self, status, message):
        body = json.dumps({"error": {"message": message.decode()}}).encode()
        self.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                   b"connection: close\r\n\r\n%s" % (status, REASONS[status], len(body), body))
        self.close()


HANDOFF_NAME = "deskml-handoff-%d"   # abstract Unix socket, by the service's TCP port
HANDOFF_UID_ENV = "DESKML_HANDOFF_UID"  # the front door's user, when it is not this service's (a container)
UCRED = struct.Struct("3i")


def peer_uid(sock):
    """The user id of the process at the other end of a Unix socket (SO_PEERCRED)."""
    return UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size))[1]


def handoff_supported():
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds") and hasattr(socket, "SO_PEERCRED")


class Handoff:
    """Client connections handed over by the model's front door (``router.py``), Linux only.

    With one version live and no test running, the front door does not pass requests on:
    it accepts a client's connection on the model's address and sends the socket itself
    (``SCM_RIGHTS``) over the abstract Unix socket ``HANDOFF_NAME % port``; this service
    serves it as if it had accepted it, so the stable address costs nothing per request.
    Messages from the front door (SOCK_SEQPACKET, one per datagram):

    * ``c`` with sockets: connections to serve;
    * ``take``: this version is live (again);
    * ``release:N``: a switch. Every handed connection goes back to the front door, with
      ``c``, at its next pause between two requests (idle ones at once), so that no request
      is cut; once none is held, ``done:N`` says so.

    Only a peer of this service's own user, root, or ``$DESKML_HANDOFF_UID`` may connect.
    """

    def __init__(self, server):
        self.server = server
        self.listener = None
        self.doors = set()
        self.door = None         # the front door's channel that spoke last
        self.held = set()        # handed connections open here
        self.pending = 0         # sockets received, not yet serving
        self.released = False
        self.release_id = b""
        trusted = {os.getuid(), 0}
        if os.environ.get(HANDOFF_UID_ENV, "").isdigit():
            trusted.add(int(os.environ[HANDOFF_UID_ENV]))
        self.trusted = trusted

    def open(self, port):
        if not handoff_supported():
            return
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            listener.bind("\0" + HANDOFF_NAME % port)
            listener.listen(8)
        except OSError:  # the name is taken: the front door passes requests on instead
            listener.close()
            return
        listener.setblocking(False)
        self.listener = listener
        asyncio.get_running_loop().add_reader(listener.fileno(), self._accept)

    def close(self):
        loop = asyncio.get_running_loop()
        for sock in [self.listener, *self.doors]:
            if sock is not None:
                loop.remove_reader(sock.fileno())
                sock.close()
        self.listener = None
        self.doors.clear()

    def _accept(self):
        try:
            door, _ = self.listener.accept()
        except OSError:
            return
        try:
            trusted = peer_uid(door) in self.trusted
        except OSError:
            trusted = False
        if not trusted:
            door.close()
            return
        door.setblocking(False)
        self.doors.add(door)
        asyncio.get_running_loop().add_reader(door.fileno(), self._message, door)

    def _message(self, door):
        try:
            msg, fds, _, _ = socket.recv_fds(door, 64, 32)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            msg, fds = b"", []
        if not msg:
            for fd in fds:
                os.close(fd)
            asyncio.get_running_loop().remove_reader(door.fileno())
            self.doors.discard(door)
            door.close()
            if door is self.door:
                self.door = None
            return
        if msg == b"c":
            for fd in fds:
                self._serve(fd)
            return
        for fd in fds:  # nothing else carries sockets
            os.close(fd)
        self.door = door
        if msg == b"take":
            self.released = False
            self.release_id = b""
        elif msg.startswith(b"release:"):
            self.released = True
            self.release_id = msg[8:]
            for conn in list(self.held):
                if conn.active is None and conn.current is None and not conn.queue and conn.idle_timer is not None:
                    conn.idle_timer.cancel()
                    conn.idle_timer = None
                    self.give_back(conn)
            self._maybe_done()

    def _serve(self, fd):
        loop = asyncio.get_running_loop()
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        self.pending += 1
        task = loop.create_task(loop.connect_accepted_socket(lambda: Connection(self.server, self), sock))
        self.server.tasks.add(task)

        def served(t):
            self.server.tasks.discard(t)
            self.pending -= 1
            if t.cancelled() or t.exception() is not None:
                sock.close()
            self._maybe_done()
        task.add_done_callback(served)

    def give_back(self, conn):
        """``conn`` is between two requests: its socket goes back to the front door."""
        transport = conn.transport
        if transport.get_write_buffer_size():  # the last answer is still going out: a moment later
            asyncio.get_running_loop().call_later(0.005, self._again, conn)
            return
        transport.pause_reading()
        door = self.door
        sock = transport.get_extra_info("socket")
        if door is not None and sock is not None:
            fd = os.dup(sock.fileno())
            try:
                socket.send_fds(door, [b"c"], [fd])
            except OSError:
                pass  # the front door is gone: the connection just closes (it was idle)
            finally:
                os.close(fd)
        conn.closed = True
        transport.close()  # this copy only: the front door holds the connection now

    def _again(self, conn):
        if not conn.closed and conn.idle_timer is None and conn.active is None and conn.current is None \
                and not conn.queue:
            conn._arm_idle()

    def lost(self, conn):
        self.held.discard(conn)
        if self.released:
            self._maybe_done()

    def _maybe_done(self):
        if self.released and not self.held and not self.pending and self.release_id and self.door is not None:
            try:
                self.door.send(b"done:" + self.release_id)
            except OSError:
                pass
            self.release_id = b""


class Server:
    def __init__(self, app, max_body):
        self.app = app
        self.max_body = max_body
        self.connections = set()
        self.tasks = set()
        self.stopping = False

    async def serve(self, host, port, grace=10.0, ready=None):
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Connection(self), host, port, reuse_address=True, backlog=1024)
        handoff = Handoff(self)
        handoff.open(server.sockets[0].getsockname()[1])
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass
        if ready is not None:
            ready(server)
        await stop
        # graceful: no new connections, idle ones closed, busy ones finish their answer
        self.stopping = True
        server.close()
        handoff.close()
        for conn in list(self.connections):
            conn.close_if_idle()
        deadline = loop.time() + grace
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.close()


def run(app, host, port, max_body):
    """Serve until SIGTERM/SIGINT, on uvloop when it is installed."""
    return run_loop(Server(app, max_body).serve(host, port))


def run_loop(coroutine):
    """Run ``coroutine`` to its end, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in every image
        return asyncio.run(coroutine)
    if hasattr(uvloop, "run"):
        return uvloop.run(coroutine)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # older uvloop (Python 3.9 images)
    return asyncio.run(coroutine)
