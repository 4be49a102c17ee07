#!/usr/bin/env python3
"""Runs the real access-server for the shell test suites and lets the tests stop and restart it.

The Kotlin tests (JVM on the host) and the Swift tests (in the trixie chroot, another pid
namespace, same network) cannot signal the server process themselves, so this supervisor
owns it and answers on a control port:

    POST /stop   stops the server (SIGTERM, then SIGKILL after 10 s); 200 when it is down
    POST /start  starts it again on the same port and data directory; 200 once /healthz answers
    POST /expire-invitations  every invitation's validity ends now (as if the days passed):
                 the server reads it from its database at the next registration
    GET  /       {"running": bool, "url": ...}

Usage:
    server_control.py --bin PATH --port N --data-dir DIR --control-port M --log FILE
with ACCESS_ADMIN_EMAIL and ACCESS_ADMIN_PASSWORD in the environment (passed to the server).
It starts the server at once, prints "ready" when both ports answer, and stops the server
when it gets SIGTERM or SIGINT.
"""

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Supervisor:
    def __init__(self, args):
        self.args = args
        self.proc = None
        # Re-entrant: the SIGTERM handler may run while the main thread is inside start().
        self.lock = threading.RLock()
        self.url = f"http://127.0.0.1:{args.port}"

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def start(self):
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            env = dict(os.environ)
            env["ACCESS_LISTEN"] = f"127.0.0.1:{self.args.port}"
            env["ACCESS_DATA_DIR"] = self.args.data_dir
            env.setdefault("RUST_LOG", "info")
            log = open(self.args.log, "ab")
            self.proc = subprocess.Popen([self.args.bin], env=env, stdout=log, stderr=log)
            log.close()
            end = time.monotonic() + 30
            while not self.healthy():
                if self.proc.poll() is not None:
                    raise RuntimeError(f"access-server exited with {self.proc.returncode}; see {self.args.log}")
                if time.monotonic() > end:
                    raise RuntimeError(f"access-server did not answer /healthz in 30 s; see {self.args.log}")
                time.sleep(0.05)

    def stop(self):
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                return
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def expire_invitations(self):
        # The server's own SQLite file, written as a clock jump would leave it.
        db = sqlite3.connect(os.path.join(self.args.data_dir, "access.db"), timeout=10)
        try:
            db.execute("UPDATE invitations SET expires_at = ?", (int(time.time()) - 1,))
            db.commit()
        finally:
            db.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None


def handler_for(sup):
    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer(200, {"running": sup.running(), "url": sup.url})

        def do_POST(self):
            try:
                if self.path == "/stop":
                    sup.stop()
                elif self.path == "/start":
                    sup.start()
                elif self.path == "/expire-invitations":
                    sup.expire_invitations()
                else:
                    return self.answer(404, {"error": "unknown path"})
            except Exception as e:  # reported to the test, which fails with it
                return self.answer(500, {"error": str(e)})
            self.answer(200, {"running": sup.running(), "url": sup.url})

        def log_message(self, fmt, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--control-port", type=int, required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    for var in ("ACCESS_ADMIN_EMAIL", "ACCESS_ADMIN_PASSWORD"):
        if not os.environ.get(var):
            sys.exit(f"server_control.py: {var} is not set")
    sup = Supervisor(args)
    control = None

    def shutdown(*_):
        sup.stop()
        if control is None:
            sys.exit(143)
        threading.Thread(target=control.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        sup.start()
    except RuntimeError as e:
        sup.stop()
        sys.exit(f"server_control.py: {e}")
    # The control port opens only once the server answers, so "it listens" means "ready".
    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), handler_for(sup))
    print("ready", flush=True)
    try:
        control.serve_forever()
    finally:
        sup.stop()


if __name__ == "__main__":
    main()
