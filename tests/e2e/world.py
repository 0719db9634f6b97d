"""A herald daemon wired to the sandbox networks, for end-to-end tests.

`World` starts every sandbox network in this process on a loopback port,
writes a herald configuration whose network files point each plugin's
URLs at its sandbox, and starts the real daemon with the built plugins.
It then acts as the person's browser and as the calling app.
"""

import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sandbox"))

import sandbox  # noqa: E402
from harness import API_KEY, Daemon, Env  # noqa: E402

PLUGINS = os.environ.get("HERALD_PLUGIN_DIR", "")

# herald's network name -> (sandbox prefix, the plugin's URL keys).
NETWORKS = {
    "facebook": ("facebook", lambda b: {
        "login_base_url": b,
        "graph_base_url": b,
    }),
    "instagram": ("instagram", lambda b: {
        "authorize_url": b + "/oauth/authorize",
        "token_url": b + "/oauth/access_token",
        "graph_url": b + "/graph",
    }),
    "linkedin": ("linkedin", lambda b: {
        "authorize_url": b + "/oauth/v2/authorization",
        "token_url": b + "/oauth/v2/accessToken",
        "userinfo_url": b + "/v2/userinfo",
        "rest_url": b + "/rest",
    }),
    "twitter": ("x", lambda b: {
        "authorize_url": b + "/i/oauth2/authorize",
        "token_url": b + "/2/oauth2/token",
        "revoke_url": b + "/2/oauth2/revoke",
        "api_base": b,
        "web_base": b,
    }),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class World:
    def __init__(self, networks=None, engine=None):
        self.sandbox = sandbox.SandboxServer(sandbox.all_networks()).start()
        self.env = Env(plugins=())
        self.port = free_port()
        self.env.config["plugin_dir"] = PLUGINS
        self.env.config["listen_port"] = self.port
        self.env.config["retry_floor_ms"] = 300
        self.env.config["retry_ceiling_ms"] = 2000
        self.env.config["return_urls"] = ["http://app.example/",
                                          "http://partner.example"]
        self.env.config.update(engine or {})
        os.unlink(self.env.path("networks/fixture.json"))
        for name in networks or NETWORKS:
            self.configure(name)
        self.env.write_config()
        self.daemon = None

    def configure(self, name, extra=None):
        prefix, urls = NETWORKS[name]
        net = self.sandbox.networks[prefix]
        body = {
            "client_id": net.settings["client_id"],
            "client_secret": net.settings["client_secret"],
            "redirect_uri": "http://127.0.0.1:%d/v1/oauth/%s/callback"
                            % (self.port, name),
        }
        body.update(urls(self.sandbox.base(prefix)))
        body.update(extra or {})
        self.env.network(name, body)

    def start(self):
        self.daemon = Daemon(self.env)
        return self

    def restart(self, kill=False):
        if kill:
            self.daemon.proc.kill()
            self.daemon.proc.wait()
            self.daemon.logfile.close()
        else:
            self.daemon.stop()
        self.daemon = Daemon(self.env)

    def stop(self):
        rc = self.daemon.stop() if self.daemon else 0
        self.sandbox.shutdown()
        self.sandbox.server_close()
        self.env.cleanup()
        return rc

    def net(self, name):
        return self.sandbox.networks[NETWORKS[name][0]]

    # -- the calling app -------------------------------------------------

    def api(self, method, path, body=None, key=API_KEY):
        data = json.dumps(body) if body is not None else None
        resp, text = self.daemon.request(
            method, path, key=key, body=data,
            headers={"Content-Type": "application/json"} if data else None)
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def account(self, account_id):
        status, body = self.api("GET", "/v1/accounts/%d" % account_id)
        assert status == 200, body
        return body

    def accounts(self, **query):
        status, body = self.api("GET", "/v1/accounts?" +
                                urllib.parse.urlencode(query))
        assert status == 200, body
        return body["accounts"]

    def events(self, **query):
        status, body = self.api("GET", "/v1/events?" +
                                urllib.parse.urlencode(query))
        assert status == 200, body
        return body["events"]

    # -- the person's browser --------------------------------------------

    def login_url(self, network, owner="owner-1", email="o@example.test",
                  account_id=None, return_url=None):
        if account_id:
            body = {"return_url": return_url} if return_url else None
            status, res = self.api(
                "POST", "/v1/accounts/%d/reauthorize" % account_id, body)
        else:
            body = {"network": network, "owner_id": owner,
                    "owner_email": email}
            if return_url:
                body["return_url"] = return_url
            status, res = self.api("POST", "/v1/connect", body)
        assert status == 201, (status, res)
        return res["url"]

    def browse(self, url, accept="application/json"):
        """GET url; returns (status, headers, body) without following."""
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                          timeout=20)
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        return resp.status, dict(resp.getheaders()), body

    def authorize(self, network, user="alice", deny=False, **kw):
        """Runs the whole login as user; returns the callback's answer:
        (status, JSON body)."""
        self.net(network).control("login", {"user": user, "deny": deny})
        status, headers, body = self.browse(self.login_url(network, **kw))
        assert status == 302, (status, body)
        status, headers, body = self.browse(headers["Location"])
        return status, json.loads(body)

    def connect(self, network, user="alice", **kw):
        status, body = self.authorize(network, user=user, **kw)
        assert status == 200, body
        return body["account_id"]

    def wait_for(self, predicate, timeout=20, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("timed out waiting for " + what)

    def wait_status(self, account_id, status, timeout=20):
        return self.wait_for(
            lambda: self.account(account_id)["status"] == status and
            self.account(account_id), timeout,
            "account %d to be %s" % (account_id, status))


def post_body(accounts, text="hello from herald", **fields):
    body = {"accounts": accounts, "text": text}
    body.update(fields)
    return body


class Posts:
    """The calling app's side of posting, on a World."""

    def __init__(self, world):
        self.w = world

    def create(self, body, key=None):
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        resp, text = self.w.daemon.request("POST", "/v1/posts", key=API_KEY,
                                           body=json.dumps(body),
                                           headers=headers)
        return resp.status, json.loads(text)

    def get(self, post_id):
        status, body = self.w.api("GET", "/v1/posts/%d" % post_id)
        assert status == 200, body
        return body

    def wait(self, post_id, statuses, timeout=30):
        if isinstance(statuses, str):
            statuses = (statuses,)
        try:
            return self.w.wait_for(
                lambda: (lambda p: p if p["status"] in statuses else None)(
                    self.get(post_id)),
                timeout, "post %d to be %s" % (post_id, "/".join(statuses)))
        except AssertionError:
            raise AssertionError("post %d is not %s: %s" % (
                post_id, "/".join(statuses), self.get(post_id)))
