#!/usr/bin/env python3
"""End-to-end tests of `herald rekey` and of the store's lock.

The real daemon connects accounts on the sandbox networks, publishes
(which leaves webhook notices) and starts a login it never finishes (a
sealed PKCE verifier), then stops. `herald rekey` moves every sealed
value to a new key; the daemon refuses the old key and, on the new one,
finds its accounts active and publishes with the tokens it decrypts.
Every refusal (a running daemon, a missing or invalid new key, the same
key twice, a wrong old key, a value that does not decrypt) changes no
byte of the store. Two daemons never run on one store.
"""

import json
import os
import sqlite3
import time
import unittest

from webhooks import WebhookListener
from world import Posts, World, post_body

SEALED = ("SELECT 'c', account_id, access_token, refresh_token, extra"
          " FROM credentials"
          " UNION ALL SELECT 'a', state_hash, verifier, NULL, NULL"
          " FROM auth_attempts"
          " UNION ALL SELECT 'n', id, body, NULL, NULL FROM notices"
          " UNION ALL SELECT 'm', key, value, NULL, NULL FROM meta"
          " WHERE key = 'key_check' ORDER BY 1, 2")


class RekeyTest(unittest.TestCase):
    def setUp(self):
        self.hooks = WebhookListener("rekey-webhook-secret").start()
        self.w = World(networks=["twitter", "linkedin", "facebook"],
                       engine={"webhook_url": self.hooks.url,
                               "webhook_secret": "rekey-webhook-secret"})
        self.w.start()
        self.p = Posts(self.w)
        self.env = self.w.env
        self.x = self.w.connect("twitter")
        self.li = self.w.connect("linkedin")
        self.fb = self.w.connect("facebook")
        status, body = self.p.create(post_body([self.x], text="before"))
        self.assertEqual(status, 202, body)
        self.p.wait(body["posts"][0]["id"], "published")
        self.w.wait_for(lambda: self.hooks.delivered("post.published"),
                        what="the webhook of the first post")
        # A login left unfinished: its PKCE verifier stays sealed.
        self.w.login_url("twitter", owner="owner-2")

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)
        self.hooks.stop()

    # -- helpers ---------------------------------------------------------

    def sealed(self):
        db = sqlite3.connect(self.env.path("herald.db"))
        try:
            return db.execute(SEALED).fetchall()
        finally:
            db.close()

    def keygen(self, name):
        r = self.env.run("keygen", "--out", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        return name

    def rekey(self, new_key, config="herald.json"):
        return self.env.run("rekey", "--config", self.env.path(config),
                            "--new-key", new_key)

    def refused(self, new_key, message, config="herald.json"):
        before = self.sealed()
        r = self.rekey(new_key, config)
        self.assertEqual(r.returncode, 1, (r.stdout, r.stderr))
        self.assertIn(message, r.stderr)
        self.assertIn("nothing was changed", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.sealed(), before)

    def serve_fails(self, message):
        r = self.env.run("serve", "--config", self.env.path("herald.json"),
                         timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(message, r.stderr)

    def use_key(self, name):
        self.env.config["key_file"] = name
        self.env.write_config()

    # -- tests -----------------------------------------------------------

    def test_rekey_keeps_accounts_and_tokens(self):
        self.keygen("new.key")
        due = time.time() + 4
        status, body = self.p.create(post_body(
            [self.li], text="scheduled across the re-key",
            scheduled_at=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                       time.gmtime(due + 1))))
        self.assertEqual(status, 202, body)
        scheduled = body["posts"][0]["id"]
        self.assertEqual(self.w.daemon.stop(), 0)
        before = self.sealed()
        kinds = sorted({row[0] for row in before})
        self.assertEqual(kinds, ["a", "c", "m", "n"])

        r = self.env.run("rekey", "--config=" + self.env.path("herald.json"),
                         "--new-key=new.key")
        self.assertEqual(r.returncode, 0, r.stderr)
        count = {k: sum(v is not None for row in before if row[0] == k
                        for v in row[2:]) for k in kinds}
        self.assertIn("re-sealed under 'new.key': %d credential value(s), "
                      "%d authorization attempt(s), %d notice(s)\n"
                      % (count["c"], count["a"], count["n"]), r.stdout)
        self.assertGreaterEqual(count["c"], 5)
        self.assertIn("point key_file in", r.stdout)
        after = self.sealed()
        self.assertEqual([row[:2] for row in after],
                         [row[:2] for row in before])
        for old, new in zip(before, after):
            for a, b in zip(old[2:], new[2:]):
                if a is not None:
                    self.assertNotEqual(a, b, old[:2])

        # The old key is refused, clearly, before anything starts.
        self.serve_fails("key file does not match store")
        self.use_key("new.key")
        self.w.daemon = None
        self.w.start()
        for account in (self.x, self.li, self.fb):
            self.assertEqual(self.w.account(account)["status"], "active")
        self.p.wait(scheduled, "published")
        status, body = self.p.create(post_body([self.x], text="after"))
        self.assertEqual(status, 202, body)
        self.p.wait(body["posts"][0]["id"], "published")
        status, body = self.w.api("GET", "/v1/accounts/%d" % self.fb)
        page = body["targets"][0]["id"]
        status, body = self.p.create(post_body(
            [{"id": self.fb, "target": page}], text="a page post"))
        self.assertEqual(status, 202, body)
        self.p.wait(body["posts"][0]["id"], "published")
        # The unfinished login's verifier opens too: the login completes.
        status, body = self.w.authorize("twitter", user="bob",
                                        owner="owner-3")
        self.assertEqual(status, 200, body)

    def test_refusals_change_nothing(self):
        self.keygen("new.key")
        self.refused("new.key", "is in use by another herald process")
        self.assertEqual(self.w.daemon.stop(), 0)

        self.refused("missing.key", "cannot read key file 'missing.key'")
        with open(self.env.path("bad.key"), "w") as f:
            f.write("not a key\n")
        os.chmod(self.env.path("bad.key"), 0o600)
        self.refused("bad.key", "key file 'bad.key' does not hold a herald "
                                "key")
        os.chmod(self.env.path("new.key"), 0o644)
        self.refused("new.key", "is accessible by other users")
        os.chmod(self.env.path("new.key"), 0o600)
        self.refused("herald.key", "holds the key already in use")

        wrong = dict(self.env.config, key_file="other.key")
        with open(self.env.path("wrong.json"), "w") as f:
            json.dump(wrong, f)
        self.keygen("other.key")
        self.refused("new.key", "key file '%s' does not match store"
                     % self.env.path("other.key"), config="wrong.json")
        nostore = dict(self.env.config, store_path="none.db")
        with open(self.env.path("nostore.json"), "w") as f:
            json.dump(nostore, f)
        self.refused("new.key", "cannot read store '%s'"
                     % self.env.path("none.db"), config="nostore.json")
        self.assertFalse(os.path.exists(self.env.path("none.db")))

        # A value moved to another row: the re-key stops at it and rolls
        # back everything it had re-sealed before.
        db = sqlite3.connect(self.env.path("herald.db"))
        db.execute("UPDATE credentials SET access_token ="
                   " (SELECT access_token FROM credentials"
                   "  WHERE account_id = ?) WHERE account_id = ?",
                   (self.x, self.fb))
        db.commit()
        db.close()
        self.refused("new.key", "fails to decrypt")

        r = self.env.run("rekey", "--config", self.env.path("herald.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("rekey needs --config FILE and --new-key FILE",
                      r.stderr)
        self.w.daemon = None
        self.w.start()
        self.assertEqual(self.w.account(self.x)["status"], "active")

    def test_two_daemons_never_share_a_store(self):
        self.serve_fails("store '%s' is in use by another herald process "
                         "(it holds '%s.lock')"
                         % (self.env.path("herald.db"),
                            self.env.path("herald.db")))
        # The first one is untouched and still serving.
        self.assertEqual(self.w.account(self.x)["status"], "active")
        self.assertEqual(self.w.daemon.stop(), 0)
        # Its lock ended with it.
        self.w.daemon = None
        self.w.start()
        self.assertEqual(self.w.account(self.x)["status"], "active")


if __name__ == "__main__":
    unittest.main(verbosity=2)
