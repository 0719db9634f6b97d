#!/usr/bin/env python3
"""End-to-end tests of the herald commands that operate a running daemon.

The real herald program runs each command against the real daemon wired
to the sandbox networks: networks, accounts (connect, list, show,
reauthorize, remove), posts (create, validate, list, show, cancel,
retry), bulk operations on a disconnected account's blocked posts,
events; the exit statuses, help at every level, where the address and
the key come from, and that the key never shows in any output.
"""

import json
import os
import subprocess
import time
import unittest
import urllib.parse

from harness import API_KEY, HERALD
from world import Posts, World

WRONG_KEY = "wrong-key-5d0c2b9e"
REVOKED_TWEET = (
    '{"title":"Invalid Request","detail":"no",'
    '"type":"https://api.twitter.com/2/problems/invalid-request"}')


def table(text):
    """Parses an aligned table into a list of dicts keyed by heading."""
    lines = text.rstrip("\n").split("\n")
    head = lines[0]
    starts = [i for i in range(len(head))
              if head[i] != " " and (i == 0 or head[i - 2:i] == "  ")]
    names = [head[s:e].strip()
             for s, e in zip(starts, starts[1:] + [len(head)])]
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip()
                 for s, e in zip(starts, starts[1:] + [None])]
        rows.append(dict(zip(names, cells)))
    return rows


def pairs(text):
    """Parses "name  value" lines (a show command) into a dict."""
    out = {}
    for line in text.rstrip("\n").split("\n"):
        if not line.strip() or line.startswith(" "):
            continue
        name, _, value = line.partition("  ")
        out[name] = value.strip()
    return out


def shown(rfc3339):
    """How a table shows an API time."""
    return rfc3339[:10] + " " + rfc3339[11:16] + "Z" if rfc3339 else "-"


class CliTest(unittest.TestCase):
    def setUp(self):
        self.w = World().start()
        self.p = Posts(self.w)
        self.url = "http://127.0.0.1:%d" % self.w.daemon.port
        self.outputs = []

    def tearDown(self):
        for text in self.outputs:
            self.assertNotIn(API_KEY, text)
            self.assertNotIn(WRONG_KEY, text)
        log = self.w.daemon.read_log()
        self.assertNotIn(API_KEY, log)
        self.assertEqual(self.w.stop(), 0)

    def run_herald(self, *args, env=None, flags=True):
        """Runs herald; with flags, --url and --api-key are given too.
        Returns (exit status, stdout, stderr)."""
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith("HERALD_")}
        environ.update(env or {})
        argv = [HERALD, *args]
        if flags:
            argv += ["--url", self.url, "--api-key", API_KEY]
        proc = subprocess.run(argv, env=environ, capture_output=True,
                              text=True, timeout=60)
        self.outputs += [proc.stdout, proc.stderr]
        return proc.returncode, proc.stdout, proc.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.run_herald(*args, **kw)
        self.assertEqual(rc, 0, (args, out, err))
        return out, err

    def fails(self, status, *args, **kw):
        rc, out, err = self.run_herald(*args, **kw)
        self.assertEqual(rc, status, (args, out, err))
        return out, err

    def connect_with_cli(self, network, user="alice", owner="owner-7"):
        self.w.net(network).control("login", {"user": user})
        out, err = self.ok("accounts", "connect", network, "--owner", owner,
                           "--owner-email", "seven@example.test")
        url = out.strip()
        self.assertEqual(out, url + "\n")
        self.assertTrue(url.startswith("http://127.0.0.1:"), url)
        self.assertIn("open this URL", err)
        status, headers, body = self.w.browse(url)
        self.assertEqual(status, 302, body)
        status, headers, body = self.w.browse(headers["Location"])
        self.assertEqual(status, 200, body)
        return json.loads(body)["account_id"]

    def disconnect(self, account_id, network="twitter"):
        self.w.net(network).control("revoke", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % account_id)
        return self.w.wait_status(account_id, "disconnected")

    def test_networks(self):
        out, _ = self.ok("networks")
        rows = {r["NAME"]: r for r in table(out)}
        self.assertEqual(sorted(rows), ["facebook", "instagram", "linkedin",
                                        "twitter"])
        self.assertEqual(rows["twitter"]["DISPLAY NAME"], "X")
        self.assertEqual(rows["twitter"]["ENABLED"], "yes")
        self.assertEqual(rows["twitter"]["TOKEN MODEL"], "rotating_refresh")
        self.assertEqual(rows["twitter"]["TEXT"], "280 weighted")
        self.assertEqual(rows["twitter"]["MEDIA"], "none")
        self.assertEqual(rows["instagram"]["MEDIA"], "required (up to 1)")
        self.assertEqual(rows["linkedin"]["TEXT"], "3000 codepoints")
        out, _ = self.ok("networks", "list", "--json")
        self.assertEqual(json.loads(out), self.w.api("GET",
                                                     "/v1/networks")[1])

    def test_accounts(self):
        x = self.connect_with_cli("twitter")
        li = self.connect_with_cli("linkedin", owner="owner-8")
        out, _ = self.ok("accounts")
        rows = table(out)
        self.assertEqual([r["ID"] for r in rows], [str(x), str(li)])
        api = self.w.account(li)
        self.assertEqual(rows[1], {
            "ID": str(li), "NETWORK": "linkedin",
            "USERNAME": api["username"], "OWNER": "owner-8",
            "STATUS": "Active",
            "TOKEN EXPIRES": shown(api["access_expires_at"]),
            "HARD DEADLINE": shown(api["hard_deadline"]),
            "RECONNECT BY": "-", "BLOCKED": "0"})
        self.assertNotEqual(rows[1]["HARD DEADLINE"], "-")

        out, _ = self.ok("--json", "accounts", "list", "--owner", "owner-8")
        self.assertEqual(json.loads(out),
                         self.w.api("GET", "/v1/accounts?owner=owner-8")[1])
        self.assertEqual(len(json.loads(out)["accounts"]), 1)
        out, _ = self.ok("accounts", "--network", "twitter")
        self.assertEqual([r["ID"] for r in table(out)], [str(x)])
        out, err = self.ok("accounts", "--limit", "1")
        self.assertEqual(len(table(out)), 1)
        self.assertIn("more: add --after %d" % x, err)

        out, _ = self.ok("accounts", "show", str(x))
        shown_account = pairs(out)
        self.assertEqual(shown_account["network"], "twitter (X)")
        self.assertEqual(shown_account["owner"],
                         "owner-7 <seven@example.test>")
        self.assertEqual(shown_account["status"], "Active")
        self.assertEqual(shown_account["blocked posts"], "0")
        out, _ = self.ok("accounts", "show", str(x), "--json")
        self.assertEqual(json.loads(out), self.w.account(x))

        # Disconnected, with posts held: the reason and the count show.
        self.disconnect(x)
        for i in range(2):
            status, body = self.p.create({"accounts": [x],
                                          "text": "held %d" % i})
            self.p.wait(body["posts"][0]["id"], "blocked")
        out, _ = self.ok("accounts", "list", "--status", "disconnected")
        row = table(out)[0]
        reason = self.w.account(x)["status_reason"]
        self.assertEqual(row["STATUS"], "Disconnected: " + reason)
        self.assertEqual(row["BLOCKED"], "2")
        self.assertEqual(self.w.account(x)["blocked_posts"], 2)

        # Reauthorize: the URL alone on stdout, the login completes.
        self.w.net("twitter").control("login", {"user": "alice"})
        out, err = self.ok("accounts", "reauthorize", str(x))
        self.assertIn("reconnect account %d" % x, err)
        status, headers, body = self.w.browse(out.strip())
        status, headers, body = self.w.browse(headers["Location"])
        self.assertEqual(json.loads(body)["code"], "reconnected")
        self.w.wait_status(x, "active")

        out, _ = self.ok("accounts", "remove", str(x))
        self.assertEqual(out, "account %d removed; revocation at the "
                              "network: revoked\n" % x)
        self.assertEqual(self.w.account(x)["status"], "removed")
        out, _ = self.ok("accounts")
        self.assertEqual([r["ID"] for r in table(out)], [str(li)])
        out, _ = self.ok("accounts", "--status", "removed")
        self.assertEqual(table(out)[0]["STATUS"], "Removed")
        out, err = self.fails(1, "accounts", "reauthorize", str(x))
        self.assertEqual(out, "")
        self.assertIn("not_found: no such account", err)
        out, err = self.fails(1, "accounts", "connect", "nowhere",
                              "--owner", "o")
        self.assertIn("unknown_network", err)
        self.assertIn("herald networks list", err)
        out, err = self.fails(1, "accounts", "connect", "twitter", "--owner",
                              "o", "--return-url", "http://evil.example/")
        self.assertIn("return_url_not_allowed", err)

    def test_posts(self):
        x = self.w.connect("twitter", user="alice")
        fb = self.w.connect("facebook", user="alice")
        page = sorted(t["id"] for t in self.w.account(fb)["targets"])[0]
        image = self.w.sandbox.base("images") + "/cat.jpg"

        out, err = self.ok("posts", "create", "--account", str(x),
                           "--text", "from the command line",
                           "--link", "https://example.com/a")
        created = table(out)
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0]["ACCOUNT"], str(x))
        self.assertEqual(created[0]["STATUS"], "scheduled")
        text_post = int(created[0]["ID"])
        out, _ = self.ok("posts", "create", "--account",
                         "%d:%s" % (fb, page), "--text", "a cat",
                         "--media", image, "--json")
        image_post = json.loads(out)["posts"][0]["id"]
        published = self.p.wait(text_post, "published")
        self.p.wait(image_post, "published")
        self.assertEqual(self.p.get(image_post)["target"], page)
        self.assertEqual(self.p.get(image_post)["media"], [image])
        tweets = self.w.net("twitter").control("state", {})["posts"]
        self.assertEqual(tweets[0]["text"],
                         "from the command line https://example.com/a")

        out, _ = self.ok("posts", "show", str(text_post))
        post = pairs(out)
        self.assertEqual(post["status"], "published")
        self.assertEqual(post["remote url"], published["remote_url"])
        self.assertEqual(post["link"], "https://example.com/a")
        self.assertIn("\nattempts:\n", out)
        self.assertEqual(table(out.split("\nattempts:\n")[1])[0]["OUTCOME"],
                         "done")
        out, _ = self.ok("posts", "list", "--account", str(fb))
        rows = table(out)
        self.assertEqual([r["ID"] for r in rows], [str(image_post)])
        self.assertEqual(rows[0]["TEXT"], "a cat")
        self.assertEqual(rows[0]["NETWORK"], "facebook")
        out, _ = self.ok("--json", "posts", "--status", "published")
        self.assertEqual(len(json.loads(out)["posts"]), 2)

        # Validate: good answers 0, bad answers 1 with the daemon's words.
        out, _ = self.ok("posts", "validate", "--account", str(x),
                         "--text", "fine")
        self.assertEqual(out, "valid: the post can be created for 1 "
                              "account(s)\n")
        out, err = self.fails(1, "posts", "validate", "--account", str(x),
                              "--text", "y" * 300)
        self.assertEqual(out, "")
        self.assertIn("account %d: text_too_long: the text is 300 "
                      "characters; X allows 280" % x, err)
        out, err = self.fails(1, "posts", "validate", "--json", "--account",
                              str(x), "--media", image, "--text", "no")
        self.assertEqual(json.loads(out)["problems"][0]["rule"],
                         "media_not_allowed")
        out, err = self.fails(1, "posts", "create", "--account", str(x),
                              "--text", "y" * 300)
        self.assertIn("invalid_post", err)
        self.assertIn("text_too_long", err)
        self.assertEqual(len(self.w.api("GET", "/v1/posts")[1]["posts"]), 2)

        # Scheduled, canceled; a second cancel is refused.
        out, _ = self.ok("posts", "create", "--account", str(x), "--text",
                         "later", "--at", "2099-01-01T00:00:00Z",
                         "--expire-after", "60")
        later = table(out)[0]
        self.assertEqual(later["SCHEDULED"], "2099-01-01 00:00Z")
        out, _ = self.ok("posts", "cancel", later["ID"])
        self.assertEqual(out, "post %s is now canceled\n" % later["ID"])
        out, err = self.fails(1, "posts", "cancel", later["ID"])
        self.assertIn("wrong_status", err)
        self.assertIn("herald posts show ID", err)
        out, err = self.fails(1, "posts", "show", "9999")
        self.assertIn("not_found: no such post", err)

        # The same idempotency key answers the first post again.
        args = ("posts", "create", "--account", str(x), "--text", "once",
                "--idempotency-key", "k-1", "--at", "2099-01-01T00:00:00Z")
        first = table(self.ok(*args)[0])[0]["ID"]
        self.assertEqual(table(self.ok(*args)[0])[0]["ID"], first)
        out, err = self.fails(1, *args[:5], "twice", *args[6:])
        self.assertIn("idempotency_conflict", err)

        # A refused post fails; retry schedules it and it goes out.
        self.w.net("twitter").control("fault", {
            "match": "^/2/tweets$", "count": 1, "status": 400,
            "body": REVOKED_TWEET})
        out, _ = self.ok("posts", "create", "--account", str(x), "--text",
                         "refused once")
        failed = int(table(out)[0]["ID"])
        self.p.wait(failed, "failed")
        out, _ = self.ok("posts", "retry", str(failed))
        self.assertEqual(out, "post %d is now scheduled\n" % failed)
        self.p.wait(failed, "published")
        out, err = self.fails(1, "posts", "retry", str(failed))
        self.assertIn("wrong_status", err)

    def test_bulk(self):
        x = self.w.connect("twitter", user="alice")
        self.disconnect(x)

        def hold(n):
            ids = []
            for i in range(n):
                out, err = self.ok("posts", "create", "--account", str(x),
                                   "--text", "held %d %f" % (i, time.time()))
                self.assertIn("account_disconnected", err)
                ids.append(int(table(out)[0]["ID"]))
            for post_id in ids:
                self.p.wait(post_id, "blocked")
            return ids

        ids = hold(2)
        out, err = self.fails(1, "bulk", "release", "--account", str(x))
        self.assertIn("not_connected", err)
        self.assertIn("herald accounts reauthorize ID", err)
        # Released for the network: queued, then blocked again.
        out, _ = self.ok("bulk", "release", "--network", "twitter")
        self.assertEqual(out, "2 post(s) released to the queue\n")
        self.assertEqual(len(self.w.events(type="post.released")), 2)
        for post_id in ids:
            self.p.wait(post_id, "blocked")
        out, _ = self.ok("bulk", "cancel", "--account", str(x))
        self.assertEqual(out, "2 post(s) canceled\n")
        ids = hold(3)
        out, _ = self.ok("bulk", "cancel", "--network", "twitter", "--json")
        self.assertEqual(json.loads(out), {"moved": 3})
        for post_id in ids:
            self.assertEqual(self.p.get(post_id)["status"], "canceled")
        out, err = self.fails(1, "bulk", "cancel", "--network", "nowhere")
        self.assertIn("not_found: no such network", err)

        # A held post with its own lateness limit expires on reconnect.
        out, _ = self.ok("posts", "create", "--account", str(x), "--text",
                         "too late", "--expire-after", "1")
        late = int(table(out)[0]["ID"])
        self.p.wait(late, "blocked")
        time.sleep(1.5)

        # Reconnected; two refused posts retried for the account, then
        # one for the network.
        self.w.authorize("twitter", user="alice", account_id=x)
        self.assertIn("limit is 1 s", self.p.wait(late, "expired")["reason"])
        self.w.net("twitter").control("fault", {
            "match": "^/2/tweets$", "count": 3, "status": 400,
            "body": REVOKED_TWEET})
        ids = [self.p.create({"accounts": [x], "text": "f%d" % i})[1]
               ["posts"][0]["id"] for i in range(3)]
        for post_id in ids:
            self.p.wait(post_id, "failed")
        self.ok("posts", "retry", str(ids[2]))
        self.p.wait(ids[2], "published")
        out, _ = self.ok("bulk", "retry", "--account", str(x))
        self.assertEqual(out, "2 post(s) scheduled again\n")
        for post_id in ids[:2]:
            self.p.wait(post_id, "published")
        out, _ = self.ok("bulk", "retry", "--network", "twitter")
        self.assertEqual(out, "0 post(s) scheduled again\n")

    def test_events(self):
        x = self.w.connect("twitter", user="alice")
        self.p.create({"accounts": [x], "text": "an event"})
        self.w.wait_for(lambda: self.w.events(type="post.published"),
                        what="the post to be published")
        out, _ = self.ok("events", "--account", str(x), "--type",
                         "account.connected")
        rows = table(out)
        self.assertEqual(len(rows), 1)
        event = self.w.events(type="account.connected")[0]
        self.assertEqual(rows[0]["ID"], str(event["id"]))
        self.assertEqual(rows[0]["AT"], shown(event["at"]))
        self.assertEqual(rows[0]["ACCOUNT"], str(x))
        self.assertEqual(rows[0]["POST"], "-")
        self.assertIn("username=alice", rows[0]["DETAIL"])
        out, _ = self.ok("events", "list", "--type", "post.published")
        self.assertEqual(table(out)[0]["TYPE"], "post.published")
        self.assertIn("remote_id=", table(out)[0]["DETAIL"])
        out, err = self.ok("events", "--limit", "1")
        self.assertEqual(len(table(out)), 1)
        self.assertIn("more: add --after %s" % table(out)[0]["ID"], err)
        out, _ = self.ok("--json", "events", "--account", str(x))
        self.assertEqual(json.loads(out), self.w.api(
            "GET", "/v1/events?account=%d" % x)[1])
        # --all follows every page: one request's worth, a page at a time.
        everything = self.w.api("GET", "/v1/events?limit=1000")[1]
        self.assertIsNone(everything["next"])
        out, err = self.ok("--json", "events", "--limit", "2", "--all")
        self.assertEqual(json.loads(out), everything)
        out, err = self.ok("events", "--limit", "2", "--all")
        self.assertEqual([r["ID"] for r in table(out)],
                         [str(e["id"]) for e in everything["events"]])
        self.assertNotIn("more:", err)
        out, err = self.ok("posts", "--all", "--limit", "1", "--account",
                           str(x))
        self.assertEqual(len(table(out)), 1)
        self.assertGreater(len(everything["events"]), 2)
        out, err = self.fails(1, "events", "--since", "yesterday")
        self.assertIn("invalid_query", err)

    def test_usage_and_help(self):
        for args in (("--help",), ("-h",), ("accounts", "--help"),
                     ("posts", "--help"), ("posts", "create", "--help"),
                     ("posts", "list", "-h"), ("--help", "bulk"),
                     ("bulk", "release", "--help"), ("events", "--help"),
                     ("networks", "list", "--help"),
                     ("accounts", "connect", "--help")):
            out, err = self.ok(*args, flags=False)
            self.assertEqual(err, "")
            self.assertTrue(out.startswith("usage: herald"), (args, out))
        self.assertIn("accounts connect NETWORK", self.ok("--help")[0])
        self.assertIn("--url URL", self.ok("--help")[0])
        out = self.ok("posts", "--help")[0]
        for sub in ("create", "validate", "cancel", "retry", "show"):
            self.assertIn("\n  " + sub, out)
        out = self.ok("posts", "create", "--help")[0]
        for option in ("--account ID[:TARGET]", "--text TEXT", "--link URL",
                       "--media URL", "--at TIME", "--idempotency-key K",
                       "--expire-after SECONDS", "--json"):
            self.assertIn(option, out)
        self.assertIn("--status S", self.ok("accounts", "-h")[0] +
                      self.ok("accounts", "list", "-h")[0])

        bad = [
            (("frobnicate",), "unknown command 'frobnicate'"),
            (("accounts", "frob"), "unknown subcommand 'frob'"),
            (("accounts", "list", "--bogus"), "unknown option '--bogus'"),
            (("accounts", "show"), "'accounts show' needs ID"),
            (("accounts", "show", "1", "2"), "unexpected argument '2'"),
            (("accounts", "show", "abc"), "'abc' is not an account id"),
            (("accounts", "connect", "twitter"), "needs --owner OWNER"),
            (("posts", "create", "--text", "x"), "needs --account ID"),
            (("posts", "create", "--account", "1:"), "names no target"),
            (("posts", "create", "--account", "1", "--expire-after", "-1"),
             "--expire-after needs a number of seconds"),
            (("posts", "create", "--account", "1", "--idempotency-key",
              "a\r\nX-Injected: 1"), "must be one line"),
            (("posts", "list", "--limit", "many"), "valid --limit"),
            (("posts", "create", "--account", "1", "--text", "caf\udce9"),
             "the value of --text is not UTF-8"),
            (("posts", "list", "--status"), "needs a value"),
            (("posts", "list", "--json=yes"), "takes no value"),
            (("posts", "show", "1", "--text", "x"), "unknown option"),
            (("bulk",), "'bulk' needs a subcommand"),
            (("bulk", "retry"), "either --account ID or --network NAME"),
            (("bulk", "retry", "--account", "1", "--network", "x"),
             "either --account ID or --network NAME"),
            (("events", "--account", "1", "--account", "2"), "given twice"),
            (("--url",), "a command is needed"),
            (("--json", "serve"), "unknown command 'serve' after global "
                                  "options"),
        ]
        env = {"HERALD_URL": self.url, "HERALD_API_KEY": API_KEY}
        for args, message in bad:
            out, err = self.fails(2, *args, flags=False, env=env)
            self.assertEqual(out, "", args)
            self.assertIn(message, err, args)
            self.assertIn("--help", err, args)
        # Nothing reached the daemon's store.
        self.assertEqual(self.w.api("GET", "/v1/posts")[1]["posts"], [])

    def test_address_and_key(self):
        self.w.connect("twitter", user="alice")
        config = self.w.env.path("herald.json")
        env_key = {"HERALD_TEST_API_KEY": API_KEY}

        def ids(out):
            return [r["ID"] for r in table(out)]

        # The environment.
        out, _ = self.ok("accounts", flags=False, env={
            "HERALD_URL": self.url + "/", "HERALD_API_KEY": API_KEY})
        self.assertEqual(ids(out), ["1"])
        # The config: listen_address and port, its key from {"env": ...}.
        out, _ = self.ok("accounts", "--config", config, flags=False,
                         env=env_key)
        self.assertEqual(ids(out), ["1"])
        out, _ = self.ok("accounts", flags=False,
                         env=dict(env_key, HERALD_CONFIG=config))
        self.assertEqual(ids(out), ["1"])
        # A key from {"file": ...}, and public_url over the listen address.
        key_file = self.w.env.path("api-key.txt")
        with open(key_file, "w") as f:
            f.write(API_KEY)
        os.chmod(key_file, 0o600)
        other = dict(self.w.env.config, api_keys=[{"file": key_file}],
                     public_url=self.url, listen_port=1)
        other_path = self.w.env.path("other.json")
        with open(other_path, "w") as f:
            json.dump(other, f)
        out, _ = self.ok("--config", other_path, "accounts", flags=False)
        self.assertEqual(ids(out), ["1"])

        # Flags over the environment over the config.
        dead = "http://127.0.0.1:1"
        out, _ = self.ok("accounts", "--url", self.url, flags=False,
                         env=dict(env_key, HERALD_URL=dead,
                                  HERALD_CONFIG=config))
        self.assertEqual(ids(out), ["1"])
        out, err = self.fails(1, "accounts", flags=False,
                              env=dict(env_key, HERALD_URL=dead,
                                       HERALD_CONFIG=config))
        self.assertIn("cannot reach the daemon at '%s'" % dead, err)
        self.assertIn("herald serve", err)
        out, err = self.fails(1, "accounts", "--api-key", WRONG_KEY,
                              flags=False,
                              env=dict(env_key, HERALD_CONFIG=config,
                                       HERALD_API_KEY=API_KEY))
        self.assertIn("unauthorized", err)
        self.assertIn("--api-key", err)
        out, err = self.fails(1, "accounts", flags=False,
                              env={"HERALD_URL": self.url,
                                   "HERALD_API_KEY": WRONG_KEY,
                                   "HERALD_CONFIG": config,
                                   "HERALD_TEST_API_KEY": API_KEY})
        self.assertIn("unauthorized", err)

        # No key anywhere: bad usage, saying how to give one.
        out, err = self.fails(2, "accounts", "--url", self.url, flags=False)
        self.assertIn("no API key: give --api-key KEY, set HERALD_API_KEY",
                      err)
        # A config whose key cannot be resolved is named with the reason.
        out, err = self.fails(2, "accounts", "--config", config,
                              flags=False)
        self.assertIn("HERALD_TEST_API_KEY", err)
        out, err = self.fails(2, "accounts", "--config",
                              self.w.env.path("missing.json"), flags=False)
        self.assertIn("missing.json", err)
        # Nothing given: the default address.
        rc, out, err = self.run_herald("networks", "--api-key", WRONG_KEY,
                                       flags=False)
        if "cannot reach" in err:
            self.assertEqual(rc, 1)
            self.assertIn("'http://127.0.0.1:8080'", err)

        # Something that is not herald at the address.
        sandbox = self.w.sandbox.base("images")
        parts = urllib.parse.urlsplit(sandbox)
        out, err = self.fails(1, "networks", "--url",
                              "http://%s" % parts.netloc,
                              "--api-key", API_KEY, flags=False)
        self.assertIn("herald", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
