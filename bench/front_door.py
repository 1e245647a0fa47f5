"""What the stable address costs: a version's service called through the front door
(``server/router.py``) against the same service called directly, in the same run.

Model: LogisticRegression on scikit-learn's breast-cancer data (30 numbers a row), served
by DeskML's serving app with its journal on, as the local runtime runs it. Rounds alternate
direct and through the front door, and each figure is the median of its rounds.

  * p50 latency, wrk on one keep-alive connection        (goal: at most +0.08 ms)
  * throughput, wrk with 16 connections                  (goal: at most 10 % lower)
  * p50 with a new connection for each request (the front door's hand-over, shown)
  * all of these also for the same front door told to pass every request on (the way it
    works during a test, with containers in a network of their own, and off Linux)
  * the same two through an A/B split at 10 % and in a shadow test (shown, no goal)

    python bench/front_door.py [--seconds 5] [--rounds 3]        (needs wrk)
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import cancer_model, wrk, wrk_latency  # noqa: E402
from deskml.core.runtimes import front_door  # noqa: E402
from deskml.core.runtimes.base import free_port, wait_healthy  # noqa: E402
from deskml.core.runtimes.front_door import Challenger, Member  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def serve(model_path, version, journal):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(model_path), "--name", "bench",
                             "--version", version, "--port", str(port), "--journal", str(journal)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    wait_healthy(f"http://127.0.0.1:{port}", 60, alive=lambda: proc.poll() is None)
    return proc, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="deskml-bench-fd-"))
    _, data, model_path = cancer_model(work)
    body = {"instances": [list(map(float, data[0]))]}
    journal = work / "journal"
    journal.mkdir()
    live, live_port = serve(model_path, "1", journal)
    other, other_port = serve(model_path, "2", journal)
    door_port = free_port()
    url = f"http://127.0.0.1:{door_port}"
    config = work / "front-door.json"
    front_door.write_config(config, door_port, Member("1", f"127.0.0.1:{live_port}"))
    door = front_door.start(config, work / "front-door.log", url)
    proxy_port = free_port()  # the same front door, told to pass every request on (no hand-over)
    proxy_config = work / "proxy.json"
    front_door.write_config(proxy_config, proxy_port, Member("1", f"127.0.0.1:{live_port}"))
    os.environ["DESKML_FRONT_DOOR_HANDOFF"] = "0"
    proxy = front_door.start(proxy_config, work / "proxy.log", f"http://127.0.0.1:{proxy_port}")
    del os.environ["DESKML_FRONT_DOOR_HANDOFF"]
    path = "/v1/predict"
    try:
        ways = (("direct", live_port), ("front door", door_port), ("passing on", proxy_port))
        for _, port in ways:  # warm all three
            wrk_latency(port, path, body, 1)
        p50 = {name: [] for name, _ in ways}
        rps = {name: [] for name, _ in ways}
        fresh = {name: [] for name, _ in ways}
        for _ in range(args.rounds):  # alternating: a slow minute of the machine hits all three
            for name, port in ways:
                p50[name].append(wrk_latency(port, path, body, args.seconds)[0])
                rps[name].append(wrk(port, path, body, args.seconds)[0])
                fresh[name].append(wrk_latency(port, path, body, 2, close=True)[0])
        st = front_door.status(url)
        print(f"front door's mode: {st['mode']} (each connection handed to the version), {st['live']['handed']} "
              f"connections handed over; 'passing on': the same front door with DESKML_FRONT_DOOR_HANDOFF=0")
        med = {k: statistics.median(v) for k, v in p50.items()}
        thr = {k: statistics.median(v) for k, v in rps.items()}
        fresh = {k: statistics.median(v) for k, v in fresh.items()}
        # the VM's speed drifts between rounds (up to 2x): each round's front door is set against the
        # direct round just before it, and the goals are judged on the median of those pairs
        added = {k: statistics.median(d - x for d, x in zip(p50[k], p50["direct"])) for k in p50}
        ratio = {k: statistics.median(d / x for d, x in zip(rps[k], rps["direct"])) for k in rps}
        print(f"p50, 1 keep-alive connection (median of {args.rounds} rounds of {args.seconds} s):")
        for name, _ in ways:
            print(f"  {name:<12} {med[name]:.3f} ms   rounds {', '.join(f'{x:.3f}' for x in p50[name])}"
                  + ("" if name == "direct" else f"   added {added[name]:+.3f} ms (median of the rounds' pairs)"))
        print(f"  front door added {added['front door']:+.3f} ms   (goal: at most +0.080 ms)")
        print("throughput, 16 connections:")
        for name, _ in ways:
            print(f"  {name:<12} {thr[name]:.0f} requests/s   rounds {', '.join(f'{x:.0f}' for x in rps[name])}"
                  + ("" if name == "direct" else f"   ratio {ratio[name]:.3f} (median of the rounds' pairs)"))
        print(f"  front door ratio {ratio['front door']:.3f}   (goal: at least 0.90)")
        print(f"p50 with a new connection for each request (2 s rounds): direct {fresh['direct']:.3f} ms, front door "
              f"{fresh['front door']:.3f} ms ({fresh['front door'] - fresh['direct']:+.3f}), passing on "
              f"{fresh['passing on']:.3f} ms ({fresh['passing on'] - fresh['direct']:+.3f}); shown, no goal")
        for label, challenger in (("A/B split 90/10", Challenger("2", f"127.0.0.1:{other_port}", "split", 0.1)),
                                  ("shadow", Challenger("2", f"127.0.0.1:{other_port}", "shadow"))):
            front_door.apply(config, url, door_port, Member("1", f"127.0.0.1:{live_port}"), challenger)
            lat = wrk_latency(door_port, path, body, args.seconds)[0]
            through = wrk(door_port, path, body, args.seconds)[0]
            print(f"{label:<16} p50 {lat:.3f} ms ({lat - med['direct']:+.3f} vs direct), "
                  f"{through:.0f} requests/s ({through / thr['direct']:.2f} of direct)")
        st = front_door.status(url)
        print(f"shadow copies answered {st['challenger']['answered']}, skipped (too many waiting) "
              f"{st['challenger']['skipped']}")
        front_door.apply(config, url, door_port, Member("1", f"127.0.0.1:{live_port}"))
        st = front_door.status(url)
        lat = wrk_latency(door_port, path, body, args.seconds)[0]
        print(f"test ended       p50 {lat:.3f} ms ({lat - med['direct']:+.3f} vs direct), mode {st['mode']} again")
    finally:
        for proc in (door, proxy, live, other):
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


if __name__ == "__main__":
    main()
