#!/usr/bin/python3
"""k3s release service STAND-IN for drover's tests (update.k3s.io, get.k3s.io
and GitHub release downloads in one HTTP server on a loopback address).

Not the real services, which cannot be reached from the test machines. It
answers the way they do where drover and the install-script stand-in look:

  GET /v1-release/channels/NAME   302, Location: GITHUB/tag/v1.31.4%2Bk3s1
                                  (the tag URL-encoded, as update.k3s.io
                                  sends it); unknown channel: 404
  GET /v1-release/channels        the JSON collection update.k3s.io returns
  GET /k3s-io/k3s/releases/tag/V  a small HTML page (what -L ends on)
  GET /k3s-io/k3s/releases/download/V/k3s
                                  the k3s binary stand-in (k3s.sh) for
                                  version V, with its version, commit and Go
                                  version baked in
  GET /k3s-io/k3s/releases/download/V/sha256sum-amd64.txt
  GET / and /install.sh           the install-script stand-in (install.sh)

Control (tests): GET/POST /standin/config with a JSON object; POST merges
into the current config:
  {"channels": {"stable": "v1.31.4+k3s1", ...},   channel -> version
   "versions": ["v1.30.6+k3s1", ...],              downloadable releases
                                                   (empty: any well-formed)
   "fail": 503,         channel endpoints answer this status
   "hang": 30,          channel endpoints stall this many seconds
   "corrupt": ["v1.31.4+k3s1"]}  binaries that do not match their sha256

Usage: releases.py [--addr 127.0.5.2] [--port 8080] [--config FILE]
       releases.py --render VERSION     print the k3s stand-in for VERSION
"""

import argparse
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(-rc\d+)?\+k3s(\d+)$")

# Commits of a few real releases; others get a stable made-up one.
COMMITS = {"v1.30.4+k3s1": "98262b5d", "v1.31.4+k3s1": "a562d090",
           "v1.30.6+k3s1": "1829eaae", "v1.29.9+k3s1": "6d0e4b6d"}
GO = {27: "go1.20.14", 28: "go1.21.13", 29: "go1.22.6", 30: "go1.22.5", 31: "go1.22.8",
      32: "go1.23.4", 33: "go1.24.1"}

DEFAULT_CONFIG = {
    "channels": {"stable": "v1.31.4+k3s1", "latest": "v1.32.0+k3s1",
                 "testing": "v1.32.0-rc2+k3s1", "v1.29": "v1.29.12+k3s1",
                 "v1.30": "v1.30.8+k3s1", "v1.31": "v1.31.4+k3s1", "v1.32": "v1.32.0+k3s1"},
    "versions": [], "fail": 0, "hang": 0, "corrupt": [],
}


def render(version, corrupt=False):
    m = VERSION_RE.match(version)
    if not m:
        return None
    minor = int(m.group(2))
    commit = COMMITS.get(version) or hashlib.sha256(version.encode()).hexdigest()[:8]
    go = GO.get(minor, "go1.22.5")
    with open(os.path.join(HERE, "k3s.sh")) as f:
        text = f.read()
    text = text.replace("@K3S_VERSION@", version).replace("@K3S_COMMIT@", commit)
    text = text.replace("@GO_VERSION@", go)
    if corrupt:
        text += "# corrupted in transit\n"
    return text.encode()


def release_hash(version):
    return hashlib.sha256(render(version)).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k3s-standin-releases"

    def log_message(self, fmt, *args):
        if self.server.log:
            self.server.log.write("%s\n" % (fmt % args))
            self.server.log.flush()

    def send(self, code, body, ctype="application/json", extra=None):
        if isinstance(body, (dict, list)):
            body = (json.dumps(body) + "\n").encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def base(self):
        return "http://%s" % (self.headers.get("Host") or self.server.hostport)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        cfg = self.server.config
        if path == "/standin/config":
            return self.send(200, cfg)
        if path.startswith("/v1-release/channels"):
            return self.channels(path, cfg)
        if path in ("/", "/install.sh"):
            with open(os.path.join(HERE, "install.sh"), "rb") as f:
                return self.send(200, f.read(), "text/plain; charset=utf-8")
        m = re.match(r"^/k3s-io/k3s/releases/(tag|download)/([^/]+)(?:/([^/]+))?$", path)
        if not m:
            return self.send(404, "Not Found\n", "text/plain")
        version = urllib.parse.unquote(m.group(2))
        if not VERSION_RE.match(version) or (cfg["versions"] and version not in cfg["versions"]):
            return self.send(404, "Not Found\n", "text/plain")
        if m.group(1) == "tag":
            return self.send(200, "<html><body>k3s %s (release stand-in)</body></html>\n"
                             % version, "text/html")
        if m.group(3) == "k3s":
            return self.send(200, render(version, version in cfg["corrupt"]),
                             "application/octet-stream")
        if m.group(3) == "sha256sum-amd64.txt":
            return self.send(200, "%s  k3s\n%s  k3s-airgap-images-amd64.tar\n" % (
                release_hash(version), hashlib.sha256(version.encode()).hexdigest()),
                "text/plain")
        return self.send(404, "Not Found\n", "text/plain")

    do_HEAD = do_GET

    def channels(self, path, cfg):
        if cfg.get("hang"):
            time.sleep(min(float(cfg["hang"]), 600.0))
        if cfg.get("fail"):
            return self.send(int(cfg["fail"]), "<html><body><h1>%d Service Unavailable</h1>"
                             "</body></html>\n" % int(cfg["fail"]), "text/html")
        base = self.base() + "/v1-release/channels"
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2:
            return self.send(200, {
                "type": "collection", "links": {"self": base}, "actions": {},
                "resourceType": "channels",
                "data": [{"id": k, "type": "channel", "links": {"self": base + "/" + k},
                          "name": k, "latest": v}
                         for k, v in cfg["channels"].items()]})
        if len(parts) == 3 and parts[2] in cfg["channels"]:
            v = cfg["channels"][parts[2]]
            loc = "%s/tag/%s" % (self.server.github, urllib.parse.quote(v, safe=""))
            return self.send(302, '<a href="%s">Found</a>.\n\n' % loc, "text/html; charset=utf-8",
                             {"Location": loc})
        return self.send(404, {"type": "error", "status": "404", "code": "NotFound",
                               "message": "channel not found"})

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/standin/config":
            return self.send(404, "Not Found\n", "text/plain")
        n = int(self.headers.get("Content-Length") or 0)
        try:
            new = json.loads(self.rfile.read(n) or b"{}")
            if not isinstance(new, dict) or set(new) - set(DEFAULT_CONFIG):
                raise ValueError("keys must be among %s" % ", ".join(DEFAULT_CONFIG))
        except ValueError as e:
            return self.send(400, {"error": str(e)})
        with self.server.lock:
            self.server.config = dict(self.server.config, **new)
        return self.send(200, self.server.config)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description="k3s release service stand-in (drover tests)")
    ap.add_argument("--addr", default=os.environ.get("K3S_STANDIN_RELEASES_ADDR", "127.0.5.2"))
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--config", help="JSON file with the initial config (see above)")
    ap.add_argument("--github", help="release base URL in Location headers "
                    "(default: this server's /k3s-io/k3s/releases; "
                    "https://github.com/k3s-io/k3s/releases to look like update.k3s.io)")
    ap.add_argument("--log", help="request log file")
    ap.add_argument("--render", metavar="VERSION", help="print the k3s stand-in for VERSION")
    ap.add_argument("--exit-with-parent", action="store_true",
                    help="exit when the process that started this one is gone")
    opts = ap.parse_args()
    if opts.render:
        data = render(opts.render)
        if data is None:
            sys.exit("releases stand-in: '%s' is not a k3s version (like v1.31.4+k3s1)"
                     % opts.render)
        sys.stdout.buffer.write(data)
        return
    if not opts.addr.startswith("127."):
        sys.exit("releases stand-in: refusing %s: loopback addresses (127.0.0.0/8) only"
                 % opts.addr)
    config = dict(DEFAULT_CONFIG)
    if opts.config:
        try:
            with open(opts.config) as f:
                config.update(json.load(f))
        except (OSError, ValueError) as e:
            sys.exit("releases stand-in: %s: %s" % (opts.config, e))
    try:
        srv = Server((opts.addr, opts.port), Handler)
    except OSError as e:
        sys.exit("releases stand-in: cannot listen on %s:%d: %s" % (opts.addr, opts.port, e))
    srv.config, srv.lock = config, threading.Lock()
    srv.hostport = "%s:%d" % (opts.addr, opts.port)
    srv.github = opts.github or "http://%s/k3s-io/k3s/releases" % srv.hostport
    srv.log = open(opts.log, "a") if opts.log else None
    if opts.exit_with_parent:
        threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.stderr.write("releases stand-in: listening on http://%s\n" % srv.hostport)
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
