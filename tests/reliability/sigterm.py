"""SIGTERM under keep-alive load: no request may be lost.

    python3 sigterm.py BINARY [--drain SECS] [--no-retry] [--clients N] [--secs S]

Starts the release binary on a free 127.0.0.1 port with
CHURN_SHUTDOWN_DRAIN_SECS=--drain, has N clients post single predictions in
a loop over keep-alive connections, sends SIGTERM after S seconds, and lets
the clients go on until the server is gone. Each client behaves as HTTP
client libraries do: it reuses its connection until a response says
`Connection: close`, and when a reused connection turns out to be closed
before any byte of an answer came back, it reconnects and sends the request
once more (urllib3, requests and browsers do this for requests that cannot
have been processed); with --no-retry it does not, so a request sent on a
connection the server closed as idle counts as lost. Counted per request:

  200 / 503   answered;
  refused     could not be sent at all: the listener was closed (the client
              knows at once and goes to another instance);
  lost        sent on a connection, then no answer: the failure this test
              exists for. Must be 0.

Prints one summary line and exits 1 if any request was lost, the server did
not exit 0, or fewer than 100 requests were answered.
"""

import argparse
import http.client
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import BODY, start, stop  # noqa: E402

HEADERS = {"Content-Type": "application/json"}


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {"sent": 0, "200": 0, "503": 0, "other": 0, "refused": 0, "retried": 0, "lost": 0}

    def add(self, key):
        with self.lock:
            self.n[key] += 1


def connect(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.connect()
        return conn
    except OSError:
        return None


def send(conn):
    """The response's (status, closes), or None when the connection ended
    before any answer."""
    try:
        conn.request("POST", "/api/v1/predict", body=BODY, headers=HEADERS)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    return response.status, (response.getheader("Connection") or "").lower() == "close"


def client(port, counts, stop, retry):
    conn, reused = None, False
    while not stop.is_set():
        if conn is None:
            conn, reused = connect(port), False
            if conn is None:
                counts.add("refused")
                return
        counts.add("sent")
        answer = send(conn)
        if answer is None and reused and retry:
            # A reused connection closed under the request: retry once.
            counts.add("retried")
            conn.close()
            conn, reused = connect(port), False
            if conn is None:
                counts.add("refused")
                return
            answer = send(conn)
        if answer is None:
            counts.add("lost")
            conn.close()
            conn = None
            continue
        status, closes = answer
        counts.add(str(status) if status in (200, 503) else "other")
        if closes:
            conn.close()
            conn = None
        else:
            reused = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--drain", type=int, default=2)
    parser.add_argument("--no-retry", dest="retry", action="store_false")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--secs", type=float, default=2.0)
    args = parser.parse_args()
    server, port = start(args.binary, CHURN_SHUTDOWN_DRAIN_SECS=str(args.drain), CHURN_SHUTDOWN_GRACE_SECS="10")
    try:
        counts = Counts()
        done = threading.Event()
        threads = [threading.Thread(target=client, args=(port, counts, done, args.retry)) for _ in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(args.secs)
        before = dict(counts.n)
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=args.drain + 20)
        done.set()
        for t in threads:
            t.join(timeout=40)
    finally:
        stop(server)
    n = counts.n
    answered_after = n["200"] + n["503"] - before["200"] - before["503"]
    print(
        f"sigterm drain={args.drain}s {'retry' if args.retry else 'no-retry'} clients={args.clients}: "
        f"sent {n['sent']}, 200 {n['200']}, 503 {n['503']}, "
        f"other {n['other']}, refused {n['refused']}, retried {n['retried']}, lost {n['lost']} "
        f"(answered after SIGTERM: {answered_after}); exit status {code}"
    )
    ok = n["lost"] == 0 and n["other"] == 0 and code == 0 and n["200"] >= 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
