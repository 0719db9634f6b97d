"""Sandbox networks: loopback servers that speak each network's protocol.

One server process hosts every sandbox network on one loopback port, each
under its own path prefix (`/facebook/...`, `/instagram/...`,
`/linkedin/...`, `/mastodon/...`, `/x/...`). A network is a subclass of
`Network` that lists its routes; this module gives every network the same
test controls:

- users: who the authorize endpoint logs in as, or a refusal;
- a clock offset, so lifetimes can be crossed without waiting;
- faults: for the next N matching requests, answer with a given status
  and body, after a delay, or drop the connection;
- a log of every request, to check what herald sent.

Controls are HTTP too, under `/_control/<network>/<action>` (POST with a
JSON body, or GET for reads), so a sandbox started on its own can be
driven with curl:

    POST /_control/x/login      {"user": "alice"} or {"deny": true}
    POST /_control/x/fault      {"match": "/2/oauth2/token", "count": 3,
                                 "status": 503, "body": "...",
                                 "delay_ms": 0, "drop": false}
        (status 0 lets the request through: the network handles it, then
        the answer waits delay_ms, or the connection drops with "drop")
    POST /_control/x/clock      {"advance_s": 7200}
    POST /_control/x/settings   {"access_lifetime_s": 60, ...}
    POST /_control/x/revoke     {"user": "alice"}
    POST /_control/x/password   {"user": "alice"}   (password changed)
    POST /_control/x/expire     {"user": "alice"}   (tokens expired)
    GET  /_control/x/requests   every request seen, oldest first
    GET  /_control/x/state      the network's tokens and users

Run standalone: `python3 tests/sandbox/run.py --port 0 --port-file F`.
"""

import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reply:
    """An HTTP answer a route returns."""

    def __init__(self, status=200, body=None, headers=None, ctype=None):
        self.status = status
        if isinstance(body, bytes):
            self.body = body
            self.headers = dict(headers or {})
            if ctype:
                self.headers["Content-Type"] = ctype
            return
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            ctype = ctype or "application/json"
        self.body = (body or "").encode()
        self.headers = dict(headers or {})
        if ctype:
            self.headers["Content-Type"] = ctype

    @staticmethod
    def redirect(url):
        return Reply(302, "", {"Location": url})


class Request:
    """What a route receives: method, path, query, form, JSON, headers."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.raw = body
        self.form = {}
        self.json = None
        ctype = headers.get("Content-Type", "")
        if body and "application/x-www-form-urlencoded" in ctype:
            self.form = {k: v[0] for k, v in urllib.parse.parse_qs(
                body.decode(), keep_blank_values=True).items()}
        elif body and "json" in ctype:
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = None

    def param(self, name):
        """A query or form field, query first."""
        if name in self.query:
            return self.query[name]
        return self.form.get(name)

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:]
        return self.param("access_token")

    def record(self):
        return {"method": self.method, "path": self.path,
                "query": self.query, "form": self.form, "json": self.json,
                "headers": dict(self.headers)}


class Network:
    """Base of a sandbox network: users, tokens, clock, faults, log."""

    name = "base"

    def __init__(self):
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.users = {}
        self.login_as = None
        self.deny_next = False
        self.faults = []
        self.requests = []
        self.settings = dict(self.default_settings())
        self.add_user("alice")
        self.add_user("bob")
        self.login_as = "alice"

    # -- things subclasses override -------------------------------------

    def default_settings(self):
        return {}

    def routes(self):
        """[(method, regex, handler)]; handler(req, match) -> Reply."""
        return []

    def user_defaults(self, name):
        return {}

    def state(self):
        return {}

    # -- shared behaviour -------------------------------------------------

    def now(self):
        return time.time() + self.clock_offset

    def token(self, prefix):
        return "%s-%s" % (prefix, secrets.token_urlsafe(24))

    def add_user(self, name):
        digest = hashlib.sha256((self.name + ":" + name).encode())
        user = {"name": name, "id": str(int(digest.hexdigest()[:12], 16)),
                "revoked": False, "password_version": 1}
        user.update(self.user_defaults(name))
        self.users[name] = user
        return user

    def control(self, action, body):
        with self.lock:
            return self._control(action, body or {})

    def _control(self, action, body):
        if action == "login":
            if body.get("user") and body["user"] not in self.users:
                self.add_user(body["user"])
            self.login_as = body.get("user", self.login_as)
            self.deny_next = bool(body.get("deny"))
            return {"login_as": self.login_as, "deny": self.deny_next}
        if action == "fault":
            fault = {"match": body.get("match", ""),
                     "count": int(body.get("count", 1)),
                     "status": int(body.get("status", 503)),
                     "body": body.get("body", ""),
                     "headers": body.get("headers", {}),
                     "delay_ms": int(body.get("delay_ms", 0)),
                     "drop": bool(body.get("drop", False))}
            self.faults.append(fault)
            return {"faults": len(self.faults)}
        if action == "clear_faults":
            self.faults = []
            return {"faults": 0}
        if action == "clock":
            self.clock_offset += float(body.get("advance_s", 0))
            return {"now": self.now()}
        if action == "settings":
            self.settings.update(body)
            return self.settings
        if action in ("revoke", "password", "expire"):
            user = self.users[body["user"]]
            if action == "revoke":
                user["revoked"] = True
            elif action == "password":
                user["password_version"] += 1
            self.on_user_event(action, user)
            return {"user": user}
        if action == "requests":
            return {"requests": self.requests}
        if action == "state":
            return self.state()
        return None

    def on_user_event(self, action, user):
        """Subclasses invalidate tokens for revoke/password/expire."""

    def take_fault(self, path):
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and re.search(fault["match"], path):
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def dispatch(self, req):
        with self.lock:
            self.requests.append(req.record())
            for method, pattern, handler in self.routes():
                if method != req.method:
                    continue
                m = re.fullmatch(pattern, req.path)
                if m:
                    return handler(req, m)
        return Reply(404, {"error": "no such endpoint in the sandbox"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "herald-sandbox"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(
            url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = url.path.split("/", 2)
        if len(parts) < 3:
            return self.send(Reply(404, {"error": "no network"}))
        if parts[1] == "_control":
            return self.control(method, parts[2], body)
        network = self.server.networks.get(parts[1])
        if not network:
            return self.send(Reply(404, {"error": "no such network"}))
        path = "/" + parts[2]
        fault = network.take_fault(path)
        if fault and fault["status"] == 0:
            # Handled for real, then answered late or not at all.
            req = Request(method, path, query, self.headers, body)
            reply = network.dispatch(req)
            time.sleep(fault["delay_ms"] / 1000.0)
            if fault["drop"]:
                self.close_connection = True
                self.connection.close()
                return
            return self.send(reply)
        if fault:
            network.requests.append({"method": method, "path": path,
                                     "fault": fault["status"]})
            if fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault["drop"]:
                self.close_connection = True
                self.connection.close()
                return
            return self.send(Reply(fault["status"], fault["body"],
                                   fault["headers"],
                                   "application/json"))
        req = Request(method, path, query, self.headers, body)
        self.send(network.dispatch(req))

    def control(self, method, rest, body):
        name, _, action = rest.partition("/")
        network = self.server.networks.get(name)
        if not network:
            return self.send(Reply(404, {"error": "no such network"}))
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self.send(Reply(400, {"error": "body is not JSON"}))
        result = network.control(action, data)
        if result is None:
            return self.send(Reply(404, {"error": "no such control"}))
        self.send(Reply(200, result))

    def send(self, reply):
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, networks, port=0):
        super().__init__(("127.0.0.1", port), Handler)
        self.networks = {n.name: n for n in networks}

    def handle_error(self, request, client_address):
        """A client that went away (a killed daemon) is not an error."""
        import sys
        if isinstance(sys.exc_info()[1], (BrokenPipeError,
                                          ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    @property
    def port(self):
        return self.server_address[1]

    def base(self, network):
        return "http://127.0.0.1:%d/%s" % (self.port, network)

    def start(self):
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return self


class ImageHost(Network):
    """Serves small images under /images/<name>, as a public image host
    the networks (and plugins that upload bytes) fetch post media from."""

    name = "images"

    # A 1x1 JPEG.
    JPEG = bytes.fromhex(
        "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707"
        "07090908 0a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c"
        "1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100"
        "ffc4001f0000010501010101010100000000000000000102030405060708090a0bff"
        "c400b5100002010303020403050504040000017d01020300041105122131410613"
        "516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526"
        "2728292a3435363738393a434445464748494a535455565758595a636465666768"
        "696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7"
        "a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3"
        "e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
        .replace(" ", ""))

    def routes(self):
        return [("GET", r"/[A-Za-z0-9._-]+\.jpg", self.image)]

    def image(self, req, m):
        return Reply(200, self.JPEG, ctype="image/jpeg")


def all_networks():
    """Every sandbox network module that exists, instantiated."""
    import importlib
    networks = []
    for module in ("facebook", "instagram", "linkedin", "mastodon",
                   "twitter"):
        try:
            mod = importlib.import_module("sandbox_" + module)
        except ImportError:
            continue
        networks.append(mod.SandboxNetwork())
    networks.append(ImageHost())
    return networks
