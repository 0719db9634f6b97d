#!/usr/bin/env python3
"""End-to-end tests of connecting and keeping accounts.

The real daemon, the real network plugins, and the sandbox networks on
loopback: connect, refusal, reconnect with the same and with another
identity, renewal, revocation, transient failures, forged callbacks and
a crash in the middle of a renewal.
"""

import json
import sqlite3
import unittest
import urllib.parse

from world import NETWORKS, World


def collect_secrets(value, found, key=""):
    """Adds every string the sandbox state holds under a key that names a
    token, code, secret or verifier."""
    if isinstance(value, dict):
        for k, v in value.items():
            collect_secrets(v, found, str(k))
    elif isinstance(value, list):
        for v in value:
            collect_secrets(v, found, key)
    elif isinstance(value, str) and len(value) >= 8 and any(
            w in key.lower() for w in ("token", "code", "secret",
                                       "verifier")):
        found.add(value)
    if isinstance(value, dict):
        for k in value:
            if isinstance(k, str) and len(k) >= 16 and "-" in k:
                found.add(k)


class Common:
    """Scenarios every network must pass; NETWORK is set by subclasses."""

    NETWORK = None

    def setUp(self):
        self.w = World(networks=[self.NETWORK]).start()

    def tearDown(self):
        log = self.w.daemon.read_log()
        secrets = set()
        for net in self.w.sandbox.networks.values():
            if net.settings.get("client_secret"):
                secrets.add(net.settings["client_secret"])
            collect_secrets(net.state(), secrets)
        self.assertEqual(self.w.stop(), 0)
        for secret in secrets:
            self.assertNotIn(secret, log, "a secret reached the log")

    def test_connect(self):
        status, body = self.w.authorize(self.NETWORK, user="alice")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["code"], "connected")
        account = self.w.account(body["account_id"])
        self.assertEqual(account["status"], "active")
        self.assertEqual(account["network"], self.NETWORK)
        self.assertEqual(account["owner"]["id"], "owner-1")
        self.assertEqual(account["owner"]["email"], "o@example.test")
        self.assertTrue(account["connected_at"])
        self.assertIn(self.expected_username("alice"),
                      (account["username"], account["display_name"]))
        types = [e["type"] for e in
                 self.w.events(account=body["account_id"])]
        self.assertEqual(types, ["account.connected"])
        listed = self.w.accounts(owner="owner-1", network=self.NETWORK)
        self.assertEqual([a["id"] for a in listed], [body["account_id"]])

    def expected_username(self, user):
        return user

    def test_refusal_stores_nothing(self):
        status, body = self.w.authorize(self.NETWORK, deny=True)
        self.assertEqual(status, 403, body)
        self.assertEqual(body["code"], "access_denied")
        self.assertEqual(self.w.accounts(), [])
        self.assertEqual(self.w.events(), [])

    def test_reconnect_same_identity_keeps_the_account(self):
        account_id = self.w.connect(self.NETWORK, user="alice")
        status, body = self.w.authorize(self.NETWORK, user="alice",
                                        account_id=account_id)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["code"], "reconnected")
        self.assertEqual(body["account_id"], account_id)
        self.assertEqual(self.w.account(account_id)["status"], "active")
        self.assertEqual(len(self.w.accounts()), 1)

    def test_reconnect_other_identity_is_refused(self):
        account_id = self.w.connect(self.NETWORK, user="alice")
        before = self.w.account(account_id)
        status, body = self.w.authorize(self.NETWORK, user="bob",
                                        account_id=account_id)
        self.assertEqual(status, 409, body)
        self.assertEqual(body["code"], "identity_mismatch")
        self.assertIn(before["username"], body["message"])
        self.assertEqual(self.w.account(account_id), before)
        self.assertEqual(len(self.w.accounts()), 1)

    def test_revoked_access_disconnects(self):
        account_id = self.w.connect(self.NETWORK, user="alice")
        self.w.net(self.NETWORK).control("revoke", {"user": "alice"})
        status, body = self.w.api("POST",
                                  "/v1/accounts/%d/check" % account_id)
        self.assertEqual(status, 202, body)
        account = self.w.wait_status(account_id, "disconnected")
        self.assertTrue(account["status_reason"])
        self.assertTrue(account["status_changed_at"])
        events = self.w.events(account=account_id,
                               type="account.disconnected")
        self.assertEqual(len(events), 1)
        self.assertIn(events[0]["detail"]["reason"],
                      self.revocation_reasons())

    def revocation_reasons(self):
        return ("revoked", "app_removed", "invalid")

    def test_password_change_disconnects(self):
        account_id = self.w.connect(self.NETWORK, user="alice")
        self.w.net(self.NETWORK).control("password", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % account_id)
        self.w.wait_status(account_id, "disconnected")

    def test_forged_callbacks_are_refused(self):
        callback = "http://127.0.0.1:%d/v1/oauth/%s/callback" % (
            self.w.port, self.NETWORK)
        forged = [
            callback,
            callback + "?code=abc",
            callback + "?state=&code=abc",
            callback + "?state=made-up-state&code=abc",
        ]
        for url in forged:
            status, _, body = self.w.browse(url)
            self.assertEqual(status, 400, (url, body))

        # A real state used once, then replayed with its code.
        self.w.net(self.NETWORK).control("login", {"user": "alice"})
        status, headers, _ = self.w.browse(self.w.login_url(self.NETWORK))
        location = headers["Location"]
        self.assertEqual(self.w.browse(location)[0], 200)
        status, _, body = self.w.browse(location)
        self.assertEqual(status, 400, body)
        self.assertIn("already used", body)
        self.assertEqual(len(self.w.accounts()), 1)

    def test_callback_page_for_a_browser(self):
        self.w.net(self.NETWORK).control("login", {"user": "alice"})
        status, headers, _ = self.w.browse(self.w.login_url(self.NETWORK))
        status, headers, body = self.w.browse(headers["Location"],
                                              accept="text/html")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.assertIn("<h1>Connected</h1>", body)

    def test_return_url_redirect(self):
        self.w.net(self.NETWORK).control("login", {"user": "alice"})
        url = self.w.login_url(self.NETWORK,
                               return_url="http://app.example/done")
        status, headers, _ = self.w.browse(url)
        status, headers, _ = self.w.browse(headers["Location"],
                                           accept="text/html")
        self.assertEqual(status, 302)
        self.assertRegex(headers["Location"],
                         r"^http://app\.example/done\?status=connected"
                         r"&account_id=\d+$")

        status, body = self.w.api("POST", "/v1/connect", {
            "network": self.NETWORK, "owner_id": "o",
            "return_url": "http://evil.example/"})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], "return_url_not_allowed")

        # A prefix without its final '/' ends at a boundary: no other
        # host that merely starts the same.
        for url, allowed in (("http://partner.example/back", True),
                             ("http://partner.example?from=herald", True),
                             ("http://partner.example", True),
                             ("http://partner.example.evil.net/", False),
                             ("http://partner.examples/", False),
                             ("http://partner.example:8443/", False)):
            status, body = self.w.api("POST", "/v1/connect", {
                "network": self.NETWORK, "owner_id": "o",
                "return_url": url})
            self.assertEqual(status, 201 if allowed else 400, (url, body))

    def test_remove_keeps_events_and_erases_credentials(self):
        account_id = self.w.connect(self.NETWORK, user="alice")
        status, body = self.w.api("DELETE", "/v1/accounts/%d" % account_id)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "removed")
        self.assertEqual(self.w.account(account_id)["status"], "removed")
        self.assertEqual(self.w.accounts(), [])
        types = [e["type"] for e in self.w.events(account=account_id)]
        self.assertIn("account.removed", types)
        db = sqlite3.connect(self.w.env.path("herald.db"))
        rows = db.execute("SELECT count(*) FROM credentials WHERE "
                          "account_id = ?", (account_id,)).fetchone()[0]
        db.close()
        self.assertEqual(rows, 0)


class FacebookTest(Common, unittest.TestCase):
    NETWORK = "facebook"

    def expected_username(self, user):
        return user.capitalize() + " Example"

    def test_pages_become_targets_without_tokens(self):
        account_id = self.w.connect("facebook", user="alice")
        account = self.w.account(account_id)
        names = sorted(t["name"] for t in account["targets"])
        self.assertEqual(names, ["Alice's Bakery", "Alice's Cafe",
                                 "Alice's Deli"])
        for t in account["targets"]:
            self.assertEqual(set(t), {"id", "name", "kind"})
        self.assertTrue(account["hard_deadline"])

    def test_graph_down_degrades_then_recovers(self):
        account_id = self.w.connect("facebook", user="alice")
        self.w.net("facebook").control("fault", {
            "match": "/me$", "count": 2, "status": 500,
            "body": '{"error":{"message":"An unexpected error has '
                    'occurred. Please retry your request later.",'
                    '"type":"OAuthException","is_transient":true,'
                    '"code":2}}'})
        self.w.api("POST", "/v1/accounts/%d/check" % account_id)
        self.w.wait_status(account_id, "degraded")
        self.w.wait_status(account_id, "active", timeout=30)
        types = [e["type"] for e in self.w.events(account=account_id)]
        self.assertNotIn("account.disconnected", types)


class InstagramTest(Common, unittest.TestCase):
    NETWORK = "instagram"

    def test_extension_before_the_end(self):
        ig = self.w.net("instagram")
        ig.control("settings", {"long_lifetime_s": 6,
                                "refresh_min_age_s": 2})
        self.w.configure("instagram", {"refresh_min_age_s": 2})
        self.w.restart()
        account_id = self.w.connect("instagram", user="alice")
        first = self.w.account(account_id)

        def extensions():
            return [r for r in ig.requests
                    if r.get("path") == "/graph/refresh_access_token"]
        self.w.wait_for(lambda: len(extensions()) >= 2, timeout=30,
                        what="two extensions")
        later = self.w.wait_status(account_id, "active")
        self.assertGreater(later["hard_deadline"], first["hard_deadline"])
        types = [e["type"] for e in self.w.events(account=account_id)]
        self.assertNotIn("account.degraded", types)


    def test_extension_refused_at_once_by_the_plugin(self):
        # Halfway through a 6 s life the token is due for extension but
        # younger than the 4 s minimum: the plugin refuses inside the call
        # that starts the renewal, without a request. The keeper must
        # then try again when the token is old enough.
        ig = self.w.net("instagram")
        ig.control("settings", {"long_lifetime_s": 6,
                                "refresh_min_age_s": 4})
        self.w.configure("instagram", {"refresh_min_age_s": 4})
        self.w.restart()
        account_id = self.w.connect("instagram", user="alice")
        self.w.wait_status(account_id, "degraded")

        def refreshes():
            return [r for r in ig.requests
                    if r.get("path") == "/graph/refresh_access_token"]
        self.assertEqual(refreshes(), [])
        self.w.wait_for(lambda: refreshes(), timeout=15,
                        what="the extension once the token is old enough")
        self.w.wait_status(account_id, "active")
        status, health = self.w.api("GET", "/v1/health")
        self.assertEqual(health["keeper"]["in_flight"], 0)


class LinkedInTest(Common, unittest.TestCase):
    NETWORK = "linkedin"

    def expected_username(self, user):
        return user.capitalize() + " Example"

    def test_renewal_keeps_the_fixed_deadline(self):
        li = self.w.net("linkedin")
        li.control("settings", {"access_lifetime_s": 4})
        account_id = self.w.connect("linkedin", user="alice")
        first = self.w.account(account_id)
        self.assertTrue(first["hard_deadline"])

        def refreshed():
            return [r for r in li.requests
                    if r.get("path") == "/oauth/v2/accessToken" and
                    r.get("form", {}).get("grant_type") == "refresh_token"]
        self.w.wait_for(lambda: len(refreshed()) >= 2, timeout=30,
                        what="two renewals")
        later = self.w.account(account_id)
        self.assertEqual(later["status"], "active")
        self.assertNotEqual(later["access_expires_at"],
                            first["access_expires_at"])
        # Refreshing never moves the deadline fixed at first consent.
        self.assertEqual(later["hard_deadline"][:16],
                         first["hard_deadline"][:16])

    def test_expired_token_is_renewed_not_disconnected(self):
        account_id = self.w.connect("linkedin", user="alice")
        self.w.net("linkedin").control("expire", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % account_id)
        self.w.wait_for(
            lambda: any(r.get("form", {}).get("grant_type") ==
                        "refresh_token"
                        for r in self.w.net("linkedin").requests),
            what="a renewal")
        account = self.w.wait_status(account_id, "active")
        types = [e["type"] for e in self.w.events(account=account_id)]
        self.assertNotIn("account.disconnected", types)
        self.assertEqual(account["status"], "active")

    def test_disconnection_opens_the_reconnect_window(self):
        account_id = self.w.connect("linkedin", user="alice")
        self.w.net("linkedin").control("revoke", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % account_id)
        account = self.w.wait_status(account_id, "disconnected")
        self.assertTrue(account["reconnect_deadline"])
        events = self.w.events(account=account_id,
                               type="account.disconnected")
        self.assertEqual(events[0]["detail"]["reason"], "revoked")
        status, body = self.w.authorize("linkedin", user="alice",
                                        account_id=account_id)
        self.assertEqual(status, 200, body)
        account = self.w.account(account_id)
        self.assertEqual(account["status"], "active")
        self.assertIsNone(account["reconnect_deadline"])


class TwitterTest(Common, unittest.TestCase):
    NETWORK = "twitter"

    def refresh_tokens_presented(self):
        return [r["form"].get("refresh_token")
                for r in self.w.net("twitter").requests
                if r.get("path") == "/2/oauth2/token" and
                r.get("form", {}).get("grant_type") == "refresh_token"]

    def test_renewal_rotates_and_never_reuses(self):
        self.w.net("twitter").control("settings", {"access_lifetime_s": 3})
        account_id = self.w.connect("twitter", user="alice")
        self.w.wait_for(lambda: len(self.refresh_tokens_presented()) >= 3,
                        timeout=30, what="three renewals")
        presented = self.refresh_tokens_presented()
        self.assertEqual(len(presented), len(set(presented)),
                         "a refresh token was presented twice")
        self.assertEqual(self.w.account(account_id)["status"], "active")
        state = self.w.net("twitter").control("state", {})
        live = [t for t in state["tokens"] if t["live"] and
                t.get("kind") == "refresh"]
        self.assertLessEqual(len(live), 1)

    def test_token_endpoint_down_degrades_then_recovers(self):
        self.w.net("twitter").control("settings", {"access_lifetime_s": 3})
        account_id = self.w.connect("twitter", user="alice")
        self.w.net("twitter").control("fault", {
            "match": "^/2/oauth2/token$", "count": 3, "status": 503,
            "body": '{"title":"Service Unavailable"}'})
        self.w.wait_status(account_id, "degraded")
        account = self.w.wait_status(account_id, "active", timeout=30)
        self.assertIsNone(account["status_reason"])
        types = [e["type"] for e in self.w.events(account=account_id)]
        self.assertNotIn("account.disconnected", types)
        self.assertIn("account.degraded", types)
        self.assertIn("account.recovered", types)

    def test_crash_during_renewal_never_leaves_a_dead_token_active(self):
        x = self.w.net("twitter")
        x.control("settings", {"access_lifetime_s": 4})
        account_id = self.w.connect("twitter", user="alice")
        for _ in range(3):
            seen = len(self.refresh_tokens_presented())
            # The network rotates, then the answer is held back.
            x.control("fault", {"match": "^/2/oauth2/token$", "count": 1,
                                "status": 0, "delay_ms": 5000})
            self.w.wait_for(
                lambda: len(self.refresh_tokens_presented()) > seen,
                timeout=20, what="a renewal request")
            self.w.restart(kill=True)
            account = self.w.account(account_id)
            self.assertNotEqual(account["status"], "active",
                                "active with a spent refresh token")
            account = self.w.wait_for(
                lambda: self.w.account(account_id)["status"] in
                ("active", "disconnected") and self.w.account(account_id),
                what="the interrupted renewal to resolve")
            if account["status"] == "disconnected":
                break
        presented = self.refresh_tokens_presented()
        # The only token ever presented twice is the one the crash spent,
        # presented once more to find out, which kills its chain.
        self.assertLessEqual(len(presented) - len(set(presented)), 1)
        state = x.control("state", {})
        if self.w.account(account_id)["status"] == "active":
            live = [t for t in state["tokens"] if t["live"]]
            self.assertTrue(live)

    def test_remove_revokes_at_the_network(self):
        account_id = self.w.connect("twitter", user="alice")
        status, body = self.w.api("DELETE", "/v1/accounts/%d" % account_id)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["revocation"], "revoked")
        state = self.w.net("twitter").control("state", {})
        self.assertFalse([t for t in state["tokens"] if t["live"]])


class ForgedCallbackTest(unittest.TestCase):
    """Callbacks that look real but must not connect anything."""

    def setUp(self):
        self.w = World(networks=["twitter", "facebook"]).start()
        self.x = self.w.net("twitter")
        self.x.control("login", {"user": "alice"})

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)

    def redirect(self):
        """Starts a connect on X and returns where X sends the browser."""
        status, headers, _ = self.w.browse(self.w.login_url("twitter"))
        self.assertEqual(status, 302)
        return headers["Location"]

    def query(self, url):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))

    def callback(self, network, state, code):
        url = "http://127.0.0.1:%d/v1/oauth/%s/callback?%s" % (
            self.w.port, network,
            urllib.parse.urlencode({"state": state, "code": code}))
        status, _, body = self.w.browse(url)
        return status, json.loads(body)

    def test_expired_state(self):
        q = self.query(self.redirect())
        db = sqlite3.connect(self.w.env.path("herald.db"))
        db.execute("UPDATE auth_attempts SET expires_at = 1")
        db.commit()
        db.close()
        status, body = self.callback("twitter", q["state"], q["code"])
        self.assertEqual(status, 400)
        self.assertIn("expired", body["message"])
        self.assertEqual(self.w.accounts(), [])

    def test_state_of_another_network(self):
        q = self.query(self.redirect())
        status, body = self.callback("facebook", q["state"], q["code"])
        self.assertEqual(status, 400)
        self.assertIn("another network", body["message"])
        status, body = self.callback("twitter", q["state"], q["code"])
        self.assertEqual(status, 400)
        self.assertEqual(self.w.accounts(), [])

    def test_replayed_code(self):
        first = self.query(self.redirect())
        status, _ = self.callback("twitter", first["state"], first["code"])
        self.assertEqual(status, 200)
        second = self.query(self.redirect())
        status, body = self.callback("twitter", second["state"],
                                     first["code"])
        self.assertEqual(status, 400, body)
        self.assertEqual(body["code"], "exchange_refused")
        self.assertEqual(len(self.w.accounts()), 1)

    def test_wrong_verifier(self):
        a = self.query(self.redirect())
        b = self.query(self.redirect())
        # b's state carries b's verifier, which does not match a's code.
        status, body = self.callback("twitter", b["state"], a["code"])
        self.assertEqual(status, 400, body)
        self.assertEqual(body["code"], "exchange_refused")
        self.assertEqual(self.w.accounts(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
