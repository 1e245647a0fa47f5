"""A probe for the front door's next design: what if it handed each client's connection to
the live version, instead of passing every request on?

The front door (``server/router.py``) reads every request and writes it again towards the
version, then does the same with the answer: two extra socket reads and writes and two
wake-ups per request, which is what keeps it above issue 12's cost goals. With one version
live and no test running, it need not be in the path at all. Linux can send an open socket
to another process (``SCM_RIGHTS`` over a Unix socket): the front door would accept the
connection on the stable address and hand it to the live version, which serves it as if it
had accepted it itself. This probe measures that, in one run, with the real serving app:

  * direct     wrk against the version's own port
  * handoff    wrk against a minimal door that hands every connection over (this file)
  * proxy      wrk against today's front door

    python bench/handoff_probe.py [--seconds 5] [--rounds 3]        (Linux, needs wrk)

Only a probe: no switching, draining, status page or A/B here (a switch would need the old
version to hand its idle connections back); see docs/versions.md.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def service(handoff, argv):
    """The serving app, which also adopts connections sent over the abstract socket ``handoff``."""
    from deskml.server.__main__ import parse_args, prepare
    from deskml.server.app import MAX_BODY
    from deskml.server.http import Connection, Server, run_loop

    async def main(args):
        server = Server(prepare(args), MAX_BODY)
        loop = asyncio.get_running_loop()
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ctl.bind("\0" + handoff)
        ctl.listen(4)
        ctl.setblocking(False)

        def door_connected():
            door, _ = ctl.accept()
            door.setblocking(False)

            def handed():
                try:
                    msg, fds, _, _ = socket.recv_fds(door, 16, 64)
                except BlockingIOError:
                    return
                if not msg:
                    loop.remove_reader(door.fileno())
                    door.close()
                    return
                for fd in fds:
                    sock = socket.socket(fileno=fd)
                    sock.setblocking(False)
                    asyncio.ensure_future(loop.connect_accepted_socket(lambda: Connection(server), sock))
            loop.add_reader(door.fileno(), handed)
        loop.add_reader(ctl.fileno(), door_connected)
        await server.serve(args.host, args.port)

    run_loop(main(parse_args(argv)))


def door(port, handoff):
    """Accept on ``port`` and hand every connection to the service; keep nothing."""
    import uvloop

    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1024)
        listener.setblocking(False)
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        channel.connect("\0" + handoff)

        def accept():
            for _ in range(64):
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    return
                socket.send_fds(channel, [b"c"], [conn.fileno()])
                conn.close()  # the service holds it now
        loop.add_reader(listener.fileno(), accept)
        await asyncio.Event().wait()

    uvloop.run(main())


def main():
    from deskml.core.runtimes import front_door
    from deskml.core.runtimes.base import free_port, wait_healthy
    from deskml.core.runtimes.front_door import Member
    from loadgen import cancer_model, wrk, wrk_latency

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="deskml-bench-handoff-"))
    _, data, model_path = cancer_model(work)
    body = {"instances": [list(map(float, data[0]))]}
    (work / "journal").mkdir()
    handoff = f"deskml-probe-{time.time_ns()}"
    port, door_port, proxy_port = free_port(), free_port(), free_port()
    procs = [subprocess.Popen([sys.executable, __file__, "service", handoff, "--model", str(model_path),
                               "--name", "bench", "--version", "1", "--port", str(port),
                               "--journal", str(work / "journal")], stderr=subprocess.DEVNULL)]
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 60, alive=lambda: procs[0].poll() is None)
        procs.append(subprocess.Popen([sys.executable, __file__, "door", str(door_port), handoff]))
        config = work / "front-door.json"
        front_door.write_config(config, proxy_port, Member("1", f"127.0.0.1:{port}"))
        procs.append(front_door.start(config, work / "front-door.log", f"http://127.0.0.1:{proxy_port}"))
        wait_healthy(f"http://127.0.0.1:{door_port}", 15, alive=lambda: procs[1].poll() is None)
        ports = {"direct": port, "handoff": door_port, "proxy": proxy_port}
        p50 = {k: [] for k in ports}
        rps = {k: [] for k in ports}
        for p in ports.values():
            wrk_latency(p, "/v1/predict", body, 1)
        for _ in range(args.rounds):  # alternating rounds: a slow minute of the machine hits all three
            for name, p in ports.items():
                p50[name].append(wrk_latency(p, "/v1/predict", body, args.seconds)[0])
                rps[name].append(wrk(p, "/v1/predict", body, args.seconds)[0])
        base_p50, base_rps = statistics.median(p50["direct"]), statistics.median(rps["direct"])
        print(f"median of {args.rounds} rounds of {args.seconds} s; p50 on 1 connection, throughput on 16")
        for name in ports:
            m, r = statistics.median(p50[name]), statistics.median(rps[name])
            print(f"  {name:<8} p50 {m:.3f} ms ({m - base_p50:+.3f})   {r:6.0f} requests/s ({r / base_rps:.3f})")
        print("  issue 12's goals: at most +0.080 ms, at least 0.900")
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "service":
        service(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) > 1 and sys.argv[1] == "door":
        door(int(sys.argv[2]), sys.argv[3])
    else:
        main()
