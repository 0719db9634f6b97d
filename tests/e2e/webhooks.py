"""A webhook receiver on loopback for the end-to-end tests.

`WebhookListener` is the calling app's side: it takes herald's POSTs,
checks each signature exactly as docs/notifications.md tells a receiver
to (HMAC-SHA256 of "TIMESTAMP.BODY" with the shared secret, compared in
constant time), keeps everything it saw, and answers with the status the
test sets (200 by default; 500 to make herald retry).
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature(secret, timestamp, body):
    """The Herald-Signature value a receiver expects for body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                   hashlib.sha256)
    return "v1=" + mac.hexdigest()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        stamp = self.headers.get("Herald-Timestamp", "")
        given = self.headers.get("Herald-Signature", "")
        valid = hmac.compare_digest(given,
                                    signature(server.secret, stamp, body))
        status = server.status
        with server.lock:
            server.received.append({
                "path": self.path,
                "headers": dict(self.headers),
                "raw": body,
                "json": json.loads(body) if body else None,
                "valid": valid,
                "answered": status,
            })
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


class WebhookListener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.status = 200
        self.lock = threading.Lock()
        self.received = []
        self.thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d/hooks/herald" % self.server_address[1]

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    def all(self):
        with self.lock:
            return list(self.received)

    def delivered(self, type_=None):
        """Webhooks answered with a 2xx, optionally of one type."""
        return [r for r in self.all()
                if 200 <= r["answered"] < 300 and
                (type_ is None or r["json"]["type"] == type_)]
