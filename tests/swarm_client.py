"""A steady client of a Swarm service, run inside a container on the stack's network (the
model's own image: Python and nothing else needed). THREADS threads each send one-row
predictions in turn to every replica the swarm's DNS lists (``tasks.SERVICE``, asked again
every half second), over keep-alive connections. What it does on a failure: one retry, on
the next replica, with a new connection. It stops when /tmp/stop exists, and prints one line
per request: the time (seconds since 1970, the host's clock too), 1 if answered (0 if failed after the retry), 1 if
retried, and the model_version that answered."""
import http.client
import json
import os
import socket
import sys
import threading
import time

SERVICE, BODY, THREADS = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
PORT = 8000
start = time.monotonic()
addresses = []
lines = []
lock = threading.Lock()


def resolve():
    global addresses
    while not os.path.exists("/tmp/stop"):
        try:
            addresses = sorted({a[4][0] for a in socket.getaddrinfo("tasks." + SERVICE, PORT, socket.AF_INET)})
        except OSError:
            pass
        time.sleep(0.5)


def ask(conns, ip):
    conn = conns.get(ip)
    if conn is None:
        conn = conns[ip] = http.client.HTTPConnection(ip, PORT, timeout=2)
    try:
        conn.request("POST", "/v1/predict", BODY, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise OSError(f"status {r.status}")
        return json.loads(data)["model_version"]
    except (OSError, http.client.HTTPException):
        conn.close()
        conns.pop(ip, None)
        raise


def run(k):
    conns, i = {}, k
    while not os.path.exists("/tmp/stop"):
        ips = addresses
        if not ips:
            time.sleep(0.05)
            continue
        t = time.time()
        retried, version = 0, None
        try:
            version = ask(conns, ips[i % len(ips)])
        except (OSError, http.client.HTTPException):
            retried = 1
            try:
                version = ask(conns, ips[(i + 1) % len(ips)])
            except (OSError, http.client.HTTPException):
                pass
        with lock:
            lines.append(f"{t:.3f} {0 if version is None else 1} {retried} {version}")
        i += 1


threading.Thread(target=resolve, daemon=True).start()
while not addresses:
    time.sleep(0.05)
print(f"ready {time.monotonic() - start:.3f}", flush=True)
workers = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("\n".join(lines), flush=True)
print("done", flush=True)
