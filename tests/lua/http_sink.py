#!/usr/bin/python3
"""A small HTTP server on loopback for drover's Lua tests (drover.http and
webhook_notify.lua). It prints its port on the first line of stdout, then
serves until stdin closes (the test process exited) or 120 s pass.

  POST/PUT any path   records {method, path, headers, body} -> 200 {"ok":true}
  GET /records        the recorded requests, a JSON list
  GET /echo           200, JSON {method, path, headers} of this request
  GET /status/NNN     answers NNN with body "status NNN"
  GET /slow           waits 5 s, then 200
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

records = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("X-Sink", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock:
            records.append({"method": self.command, "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body})
        self.reply(200, {"ok": True})

    do_PUT = do_POST

    def do_GET(self):
        if self.path == "/records":
            with lock:
                self.reply(200, records)
        elif self.path == "/echo":
            self.reply(200, {"method": "GET", "path": self.path,
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
        elif self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
            self.reply(code, ("status %d" % code).encode(), "text/plain")
        elif self.path == "/slow":
            time.sleep(5)
            self.reply(200, {"slow": True})
        else:
            self.reply(404, {"error": "no such path"})


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    os.write(1, b"%d\n" % srv.server_address[1])
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    # never outlive the test: stdin closes when it exits, even on a crash
    threading.Timer(120, lambda: os._exit(1)).start()
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
