#!/usr/bin/env python3
"""End-to-end tests of the real `herald` program.

Each test starts the built daemon on a free loopback port with a
configuration of its own in a temporary directory, talks to it over real
HTTP, and stops it with SIGTERM. Startup failures are checked by their
exit status and their one-line message.

Environment (set by ctest): HERALD_BIN (the program), HERALD_FIXTURE_DIR
(fixture plugins), HERALD_PLANT (the credential-planting tool).
"""

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import time
import unittest

from harness import API_KEY, CLIENT_SECRET, PLANT, Daemon, Env

ACCESS_TOKEN = "PLANTED-ACCESS-TOKEN-1234abcd"
REFRESH_TOKEN = "PLANTED-REFRESH-TOKEN-5678efgh"
PAGE_TOKEN = "PLANTED-PAGE-TOKEN-9999zzzz"


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.env = Env()

    def tearDown(self):
        self.env.cleanup()

    def test_health_networks_auth_and_clean_stop(self):
        d = Daemon(self.env)
        try:
            resp, body = d.request("GET", "/v1/health")
            self.assertEqual(resp.status, 200, body)
            health = json.loads(body)
            self.assertEqual(health["status"], "ok")
            self.assertTrue(health["store"]["ok"])
            self.assertEqual(health["store"]["schema_version"], 2)
            self.assertEqual(health["plugins"]["loaded"], 1)
            self.assertEqual(health["plugins"]["enabled"], 1)

            resp, body = d.request("GET", "/v1/networks")
            self.assertEqual(resp.status, 401)
            self.assertEqual(json.loads(body)["error"]["code"],
                             "unauthorized")
            self.assertEqual(resp.getheader("WWW-Authenticate"), "Bearer")
            resp, body = d.request("GET", "/v1/networks", key="wrong-key")
            self.assertEqual(resp.status, 401)
            resp, body = d.request("GET", "/v1/networks", key=API_KEY[:-1])
            self.assertEqual(resp.status, 401)

            resp, body = d.request("GET", "/v1/networks", key=API_KEY)
            self.assertEqual(resp.status, 200, body)
            nets = json.loads(body)["networks"]
            self.assertEqual(len(nets), 1)
            net = nets[0]
            self.assertEqual(net["name"], "fixture")
            self.assertEqual(net["display_name"], "Fixture")
            self.assertEqual(net["abi"], "1.1")
            self.assertEqual(net["token_model"], "non_expiring")
            self.assertTrue(net["configured"])
            self.assertTrue(net["enabled"])
            self.assertTrue(net["capabilities"]["pkce"])
            self.assertFalse(net["capabilities"]["lookup"])
            self.assertEqual(net["content"]["max_text"], 500)
            self.assertEqual(net["content"]["counting"], "codepoints")

            resp, body = d.request("GET", "/v1/nothing-here", key=API_KEY)
            self.assertEqual(resp.status, 404)
            self.assertEqual(json.loads(body)["error"]["code"], "not_found")
            resp, body = d.request("GET", "/v1/nothing-here")
            self.assertEqual(resp.status, 401)
            resp, body = d.request("DELETE", "/v1/networks", key=API_KEY)
            self.assertEqual(resp.status, 405)
            self.assertEqual(resp.getheader("Allow"), "GET")

            # SIGHUP does not stop it.
            d.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
            resp, body = d.request("GET", "/v1/health")
            self.assertEqual(resp.status, 200)
            self.assertIn("does not reload", d.read_log())
        finally:
            rc = d.stop()
        self.assertEqual(rc, 0)
        log = d.read_log()
        self.assertIn("signal 15: no longer accepting requests", log)
        self.assertIn("stopped cleanly", log)

    def test_bad_queries_and_bodies(self):
        d = Daemon(self.env)
        try:
            bad = [
                ("GET", "/v1/accounts?limit=0", None, "invalid_query"),
                ("GET", "/v1/accounts?limit=501", None, "invalid_query"),
                ("GET", "/v1/accounts?status=sleeping", None,
                 "invalid_query"),
                ("GET", "/v1/accounts?after=x", None, "invalid_query"),
                ("GET", "/v1/events?since=yesterday", None,
                 "invalid_query"),
                ("GET", "/v1/accounts/abc", None, "not_found"),
                ("GET", "/v1/accounts/99", None, "not_found"),
                ("POST", "/v1/connect", "{", "invalid_json"),
                ("POST", "/v1/connect", "[]", "invalid_body"),
                ("POST", "/v1/connect", '{"network": 5}', "invalid_field"),
                ("POST", "/v1/connect", '{"owner_id": "o"}',
                 "invalid_field"),
                ("POST", "/v1/connect",
                 '{"network": "fixture", "owner_id": ""}', "invalid_field"),
                ("POST", "/v1/connect",
                 '{"network": "nowhere", "owner_id": "o"}',
                 "unknown_network"),
                ("POST", "/v1/connect", '{"network": "fixture", '
                 '"owner_id": "o", "owner_email": "not-an-address"}',
                 "invalid_field"),
            ]
            for method, path, body, code in bad:
                resp, text = d.request(method, path, key=API_KEY, body=body)
                self.assertIn(resp.status, (400, 404), (path, body, text))
                self.assertEqual(json.loads(text)["error"]["code"], code,
                                 (path, body))
            resp, text = d.request("GET", "/v1/accounts", key=API_KEY)
            self.assertEqual(json.loads(text), {"accounts": [],
                                                "next": None})
            resp, text = d.request("GET", "/v1/events", key=API_KEY)
            self.assertEqual(json.loads(text), {"events": [], "next": None})
        finally:
            self.assertEqual(d.stop(), 0)

    def test_limits_and_malformed_requests(self):
        d = Daemon(self.env)
        try:
            resp, body = d.request("POST", "/v1/networks", key=API_KEY,
                                   body="x" * 5000)
            self.assertEqual(resp.status, 413)
            self.assertEqual(json.loads(body)["error"]["code"],
                             "body_too_large")

            with socket.create_connection(("127.0.0.1", d.port), 5) as s:
                s.sendall(b"NOT AN HTTP REQUEST\r\n\r\n")
                reply = s.recv(4096).decode(errors="replace")
            self.assertRegex(reply, r"^HTTP/1\.[01] 400")

            with socket.create_connection(("127.0.0.1", d.port), 5) as s:
                s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                          b"X-Big: " + b"a" * 40000 + b"\r\n\r\n")
                reply = s.recv(4096).decode(errors="replace")
            self.assertRegex(reply, r"^HTTP/1\.1 4(13|31)")

            resp, body = d.request("GET", "/v1/health")
            self.assertEqual(resp.status, 200)
        finally:
            self.assertEqual(d.stop(), 0)

    def test_unwritable_store_is_unhealthy(self):
        self.env.config["store_busy_timeout_ms"] = 100
        self.env.write_config()
        d = Daemon(self.env)
        try:
            # Another process holds the store's write lock.
            db = sqlite3.connect(self.env.path("herald.db"),
                                 isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            resp, body = d.request("GET", "/v1/health")
            self.assertEqual(resp.status, 503, body)
            health = json.loads(body)
            self.assertEqual(health["status"], "unhealthy")
            self.assertFalse(health["store"]["ok"])
            self.assertIn("locked", health["store"]["error"])
            db.execute("ROLLBACK")
            db.close()

            resp, body = d.request("GET", "/v1/health")
            self.assertEqual(resp.status, 200, body)
        finally:
            self.assertEqual(d.stop(), 0)

    def test_secrets_never_leave_the_store(self):
        # A store with planted credentials, made before the daemon starts.
        self.assertEqual(self.env.run("keygen", "--out", "herald.key")
                         .returncode, 0)
        out = subprocess.run([PLANT, self.env.path("herald.db"),
                              self.env.path("herald.key"), ACCESS_TOKEN,
                              REFRESH_TOKEN, PAGE_TOKEN],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)

        d = Daemon(self.env)
        try:
            answers = ""
            for path in ("/v1/health", "/v1/networks", "/v1/accounts"):
                for key in (None, API_KEY, "wrong"):
                    answers += d.request("GET", path, key=key)[1]
        finally:
            self.assertEqual(d.stop(), 0)

        with open(self.env.path("herald.db"), "rb") as f:
            db = f.read()
        log = d.read_log()
        for secret in (ACCESS_TOKEN, REFRESH_TOKEN, PAGE_TOKEN,
                       CLIENT_SECRET, API_KEY):
            self.assertNotIn(secret.encode(), db)
            self.assertNotIn(secret, log)
            self.assertNotIn(secret, answers)
            self.assertNotIn(secret, out.stdout + out.stderr)


class StartupFailureTest(unittest.TestCase):
    def setUp(self):
        self.env = Env()

    def tearDown(self):
        self.env.cleanup()

    def serve_fails(self, expected):
        r = self.env.run("serve", "--config", self.env.path("herald.json"))
        self.assertEqual(r.returncode, 1, r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        self.assertIn(expected, last)
        self.assertTrue(last.startswith("herald: "), last)
        return last

    def test_bad_config(self):
        self.env.write_config('{\n  "listen_port": 8080,\n  "bogus": 1\n}\n')
        self.serve_fails("herald.json:3:3: unknown key 'bogus'")

    def test_config_syntax_error(self):
        self.env.write_config('{\n  "listen_port": 80,,\n}\n')
        self.serve_fails("herald.json:2:")

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            self.env.config["listen_port"] = port
            self.env.write_config()
            self.serve_fails("cannot listen on '127.0.0.1:%d': Address "
                             "already in use" % port)

    def test_missing_plugin_directory(self):
        self.env.config["plugin_dir"] = "no-such-dir"
        self.env.write_config()
        self.serve_fails("cannot use plugin directory '%s': No such file "
                         "or directory" % self.env.path("no-such-dir"))

    def test_plugin_directory_writable_by_others(self):
        os.chmod(self.env.plugin_dir, 0o777)
        self.serve_fails("plugin directory '%s' is writable by other users "
                         "(mode 0777)" % self.env.plugin_dir)

    def test_refused_plugin_is_logged_and_skipped(self):
        self.env.add_plugin("other_major")
        d = Daemon(self.env)
        try:
            resp, body = d.request("GET", "/v1/networks", key=API_KEY)
            names = [n["name"] for n in json.loads(body)["networks"]]
            self.assertEqual(names, ["fixture"])
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertIn("other_major.so' refused: ABI major version 2, this "
                      "herald runs 1", d.read_log())

    def test_store_not_a_database(self):
        self.assertEqual(self.env.run("keygen", "--out", "herald.key")
                         .returncode, 0)
        with open(self.env.path("herald.db"), "wb") as f:
            f.write(b"this is not a database" * 100)
        self.serve_fails("herald.db': file is not a database")

    def test_missing_key_for_existing_store(self):
        d = Daemon(self.env)
        self.assertEqual(d.stop(), 0)
        os.unlink(self.env.path("herald.key"))
        self.serve_fails("cannot read key file '%s'"
                         % self.env.path("herald.key"))

    def test_wrong_key(self):
        d = Daemon(self.env)
        self.assertEqual(d.stop(), 0)
        os.unlink(self.env.path("herald.key"))
        self.assertEqual(self.env.run("keygen", "--out", "herald.key")
                         .returncode, 0)
        self.serve_fails("key file does not match store")

    def test_newer_schema(self):
        d = Daemon(self.env)
        self.assertEqual(d.stop(), 0)
        db = sqlite3.connect(self.env.path("herald.db"))
        db.execute("PRAGMA user_version = 99")
        db.commit()
        db.close()
        self.serve_fails("has schema version 99, newer than this herald")

    def test_bad_network_config(self):
        self.env.network("fixture", {"client_id": 5})
        self.serve_fails("fixture.json:2:3: key 'client_id': expected a "
                         "non-empty string, got 5")


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        self.env = Env()

    def tearDown(self):
        self.env.cleanup()

    def test_config_check(self):
        r = self.env.run("config", "check", "--config",
                         self.env.path("herald.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is valid: 1 plugin(s) loaded, 1 network(s) "
                      "configured", r.stdout)
        self.assertFalse(os.path.exists(self.env.path("herald.db")))

        self.env.write_config('{"listen_port": "http"}')
        r = self.env.run("config", "check", "--config",
                         self.env.path("herald.json"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("herald.json:1:2: key 'listen_port': expected an "
                      "integer", r.stderr)

    def test_usage(self):
        self.assertEqual(self.env.run().returncode, 2)
        self.assertEqual(self.env.run("frobnicate").returncode, 2)
        self.assertEqual(self.env.run("config", "check").returncode, 2)
        self.assertEqual(self.env.run("serve", "--bogus").returncode, 2)
        r = self.env.run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: herald", r.stdout)

    def test_keygen(self):
        r = self.env.run("keygen", "--out", "k.key")
        self.assertEqual(r.returncode, 0, r.stderr)
        mode = stat.S_IMODE(os.stat(self.env.path("k.key")).st_mode)
        self.assertEqual(mode, 0o600)
        r = self.env.run("keygen", "--out", "k.key")
        self.assertEqual(r.returncode, 1)
        self.assertIn("key file 'k.key' already exists", r.stderr)

    def test_embedded_default(self):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", 8080))
            except OSError:
                self.skipTest("port 8080 is in use on this machine")
        d = Daemon(self.env, args=[])
        try:
            self.assertEqual(d.port, 8080)
            resp, body = d.request("GET", "/v1/health")
            self.assertEqual(resp.status, 200, body)
            self.assertIn("no API keys configured", d.read_log())
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertTrue(os.path.exists(self.env.path("herald.db")))
        mode = stat.S_IMODE(os.stat(self.env.path("herald.key")).st_mode)
        self.assertEqual(mode, 0o600)


if __name__ == "__main__":
    unittest.main(verbosity=2)
