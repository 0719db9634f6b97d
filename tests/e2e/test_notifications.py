#!/usr/bin/env python3
"""End-to-end tests of notices: email to owners and webhooks to the app.

The real daemon, the network plugins, the sandbox networks, a real SMTP
server on loopback (aiosmtpd, mailsink.py) and a webhook receiver that
checks signatures as docs/notifications.md says (webhooks.py). An
account revoked with 50 posts waiting makes one email and one webhook,
and the email's one-time link reconnects it; receivers that fail are
retried, with every attempt recorded, while posting goes on; a restart
neither loses nor repeats a notice.
"""

import datetime
import json
import re
import time
import unittest

from mailsink import MailSink
from test_accounts import collect_secrets
from webhooks import WebhookListener
from world import NETWORKS, Posts, World, post_body

WEBHOOK_SECRET = "whsec-PLANTED-5c1d8e0f9a7b"
SMTP_USER = "herald-mailer"
SMTP_PASSWORD = "smtp-PLANTED-PASSWORD-2b4e6a"
OWNER = "o@example.test"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/v1/r/[A-Za-z0-9_-]{43}")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Base(unittest.TestCase):
    ENGINE = {}

    def setUp(self):
        self.sink = MailSink(SMTP_USER, SMTP_PASSWORD).start()
        self.hooks = WebhookListener(WEBHOOK_SECRET).start()
        engine = {
            "test_clock": True,
            "smtp_url": self.sink.url,
            "smtp_from": "Herald notices <notices@herald.test>",
            "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "webhook_url": self.hooks.url,
            "webhook_secret": WEBHOOK_SECRET,
            "notice_max_attempts": 100,
        }
        engine.update(self.ENGINE)
        self.w = World(networks=["twitter", "linkedin"],
                       engine=engine).start()
        self.p = Posts(self.w)
        self.x = self.w.net("twitter")

    def tearDown(self):
        secrets = {WEBHOOK_SECRET, SMTP_PASSWORD}
        for net in self.w.sandbox.networks.values():
            if net.settings.get("client_secret"):
                secrets.add(net.settings["client_secret"])
            collect_secrets(net.state(), secrets)
        log = self.w.daemon.read_log()
        self.assertEqual(self.w.stop(), 0)
        self.hooks.stop()
        self.sink.stop()
        bodies = [r["raw"].decode() for r in self.hooks.all()]
        mails = [m.as_string() for m in self.sink.messages()]
        for secret in secrets:
            self.assertNotIn(secret, log, "a secret reached the log")
            for text in bodies + mails:
                self.assertNotIn(secret, text, "a secret in a notice")
        for link in LINK.findall("".join(mails)):
            self.assertNotIn(link.rsplit("/", 1)[1], log,
                             "a one-time link reached the log")
        for r in self.hooks.all():
            self.assertTrue(r["valid"], r)

    # -- helpers ---------------------------------------------------------

    def advance(self, seconds):
        status, body = self.w.api("POST", "/v1/test/clock",
                                  {"advance_s": seconds})
        self.assertEqual(status, 200, body)

    def disconnect(self, account, network="twitter", user="alice"):
        self.w.net(network).control("revoke", {"user": user})
        self.w.api("POST", "/v1/accounts/%d/check" % account)
        self.w.wait_status(account, "disconnected")

    def notices(self, **query):
        query = "&".join("%s=%s" % kv for kv in query.items())
        status, body = self.w.api("GET", "/v1/notices?limit=1000&" + query)
        self.assertEqual(status, 200, body)
        return body["notices"]

    def notice(self, notice_id):
        status, body = self.w.api("GET", "/v1/notices/%d" % notice_id)
        self.assertEqual(status, 200, body)
        return body

    def wait_mails(self, n, timeout=20):
        self.w.wait_for(lambda: self.sink.count() >= n, timeout,
                        "%d email(s)" % n)
        return self.sink.messages()

    def wait_hook(self, type_, n=1, timeout=20):
        return self.w.wait_for(
            lambda: (lambda got: got if len(got) >= n else None)(
                self.hooks.delivered(type_)),
            timeout, "%d %s webhook(s)" % (n, type_))

    def tweets(self):
        return [r for r in self.x.requests if r.get("path") == "/2/tweets"]

    def follow_link(self, link, network="twitter"):
        """Follows a link like a browser: herald, the network's login,
        the callback. Returns the callback's (status, JSON body)."""
        self.w.net(network).control("login", {"user": "alice"})
        status, headers, body = self.w.browse(link, accept="text/html")
        self.assertEqual(status, 302, body)
        self.assertTrue(headers["Location"].startswith(
            self.w.sandbox.base(NETWORKS[network][0])), headers)
        status, headers, body = self.w.browse(headers["Location"])
        self.assertEqual(status, 302, body)
        status, headers, body = self.w.browse(headers["Location"])
        return status, json.loads(body)


class DisconnectionTest(Base):
    def test_one_email_one_webhook_and_the_link_reconnects(self):
        account = self.w.connect("twitter", user="alice")
        due = rfc3339(time.time() + 3600)
        ids = []
        for i in range(50):
            status, body = self.p.create(post_body(
                [account], text="scheduled post %02d" % i, scheduled_at=due))
            self.assertEqual(status, 202, body)
            ids.append(body["posts"][0]["id"])

        # Revoked at the network while the 50 posts wait for their time.
        self.disconnect(account)
        self.advance(3600 + 5)
        for post_id in ids:
            self.p.wait(post_id, "blocked")
        self.assertEqual(self.tweets(), [])

        mails = self.wait_mails(1)
        disconnected = self.wait_hook("account.disconnected")
        blocked = self.wait_hook("post.blocked")
        time.sleep(3)  # longer than any fold or poll: nothing else comes
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(len(self.hooks.delivered("account.disconnected")), 1)
        self.assertEqual(len(self.hooks.delivered("post.blocked")), 1)
        self.assertEqual(blocked[0]["json"]["data"]["count"], 50)

        event = self.w.events(account=account,
                              type="account.disconnected")[0]
        link = self.check_disconnection_email(mails[0], event)
        self.check_webhook(disconnected[0], event, account)

        status, body = self.follow_link(link)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["code"], "reconnected")
        self.assertEqual(body["account_id"], account)
        self.assertEqual(self.w.account(account)["status"], "active")

        # The link is spent.
        status, headers, page = self.w.browse(link, accept="text/html")
        self.assertEqual(status, 410, page)
        self.assertIn("already used", page)
        self.assertIn("text/html", headers["Content-Type"])

        # Release (hold-and-release's part): all 50 once, in order.
        for post_id in ids:
            self.p.wait(post_id, "published")
        posted = [p["text"] for p in self.x.control("state", {})["posts"]]
        self.assertEqual(posted,
                         ["scheduled post %02d" % i for i in range(50)])

        mails = self.wait_mails(2)
        self.assertIn("connected again", mails[1]["Subject"])
        text = mails[1].get_body(("plain",)).get_content()
        self.assertIn("50 posts", text)
        self.assertIsNone(LINK.search(text))
        reconnected = self.wait_hook("account.reconnected")
        self.assertEqual(reconnected[0]["json"]["data"]["released"], 50)

        # Every delivery is listed, with its attempts.
        listed = self.notices(account=account, status="delivered")
        kinds = {(n["channel"], n["event_type"]) for n in listed}
        self.assertIn(("email", "account.disconnected"), kinds)
        self.assertIn(("webhook", "post.blocked"), kinds)
        one = self.notice(listed[0]["id"])
        self.assertEqual(one["attempts"], len(one["attempt_log"]))
        self.assertEqual(one["attempt_log"][-1]["outcome"], "delivered")

    def check_disconnection_email(self, msg, event):
        for header in ("Date", "Message-ID", "From", "To", "Subject",
                       "MIME-Version"):
            self.assertTrue(msg[header], header)
        self.assertEqual(msg["To"], OWNER)
        self.assertIn("notices@herald.test", msg["From"])
        self.assertEqual(self.sink.envelopes[0],
                         ("notices@herald.test", [OWNER]))
        self.assertIn("X", msg["Subject"])
        self.assertIn("alice", msg["Subject"])
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        self.assertIn(event["detail"]["reason_text"], text)
        self.assertIn("50 posts", text)
        self.assertIn("AUTH ok", self.sink.commands)
        links = LINK.findall(text)
        self.assertEqual(len(set(links)), 1, text)
        self.assertIn(links[0], html)
        return links[0]

    def check_webhook(self, hook, event, account):
        body = hook["json"]
        self.assertEqual(set(body), {"id", "type", "created_at",
                                     "account_id", "post_id", "data"})
        self.assertEqual(body["id"], str(event["id"]))
        self.assertEqual(body["type"], "account.disconnected")
        self.assertRegex(body["created_at"], RFC3339)
        self.assertEqual(body["account_id"], account)
        self.assertIsNone(body["post_id"])
        self.assertEqual(body["data"]["reason"], event["detail"]["reason"])
        self.assertEqual(body["data"]["network"], "twitter")
        self.assertEqual(body["data"]["username"], "alice")
        headers = hook["headers"]
        self.assertEqual(headers["Herald-Event-Id"], body["id"])
        self.assertEqual(headers["Herald-Event-Type"], body["type"])
        self.assertLess(abs(int(headers["Herald-Timestamp"]) - time.time()),
                        3700 * 2)
        self.assertTrue(headers["Herald-Signature"].startswith("v1="))

    def test_reconnect_window_reminder_carries_a_link(self):
        account = self.w.connect("linkedin", user="alice")
        self.disconnect(account, "linkedin")
        first = self.wait_mails(1)[0]
        self.assertIn("reconnect by", first.get_body(
            ("plain",)).get_content())
        self.advance(23 * 86400 + 60)
        reminder = self.wait_mails(2)[1]
        self.assertIn("Reminder", reminder["Subject"])
        self.assertIn("LinkedIn", reminder["Subject"])
        text = reminder.get_body(("plain",)).get_content()
        self.assertIn("7 days", text)
        hook = self.wait_hook("account.reconnect_deadline")[0]["json"]
        self.assertEqual(hook["data"]["days"], 7)
        status, body = self.follow_link(LINK.search(text).group(0),
                                        "linkedin")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["account_id"], account)

    def test_posts_expired_together_make_one_email(self):
        account = self.w.connect("twitter", user="alice")
        self.disconnect(account)
        mails = self.wait_mails(1)
        link = LINK.search(mails[0].get_body(("plain",)).get_content())
        due = rfc3339(time.time() + 60)
        late, kept = [], []
        for i in range(4):
            status, body = self.p.create(post_body(
                [account], text="late post %d" % i, scheduled_at=due,
                expire_after_s=3 * 3600))
            self.assertEqual(status, 202, body)
            late.append(body["posts"][0]["id"])
        status, body = self.p.create(post_body(
            [account], text="kept post", scheduled_at=due))
        kept.append(body["posts"][0]["id"])
        self.advance(4 * 3600)
        for post_id in late + kept:
            self.p.wait(post_id, "blocked")

        status, body = self.follow_link(link.group(0))
        self.assertEqual(status, 200, body)
        for post_id in late:
            self.p.wait(post_id, "expired")
        self.p.wait(kept[0], "published")

        # One email for the four, after the reconnection's own.
        mails = self.wait_mails(3)
        self.wait_hook("post.expired", 4)
        time.sleep(3)  # past the fold wait: nothing else comes
        subjects = [m["Subject"] for m in self.sink.messages()]
        expired = [m for m in self.sink.messages()
                   if "not published" in m["Subject"]]
        self.assertEqual(len(expired), 1, subjects)
        self.assertEqual(self.sink.count(), 3, subjects)
        self.assertEqual(expired[0]["To"], OWNER)
        self.assertIn("4 posts", expired[0]["Subject"])
        self.assertIn("X", expired[0]["Subject"])
        self.assertIn("alice", expired[0]["Subject"])
        text = expired[0].get_body(("plain",)).get_content()
        self.assertIn("more than 3 hours", text)
        self.assertIn("schedule them again", text)
        self.assertIsNone(LINK.search(text))
        self.assertEqual(len(self.hooks.delivered("post.expired")), 4)
        notice = [n for n in self.notices(account=account, channel="email")
                  if n["event_type"] == "post.expired"]
        self.assertEqual(len(notice), 1)
        self.assertEqual(notice[0]["events"], 4)
        self.assertEqual([t["text"] for t in
                          self.x.control("state", {})["posts"]],
                         ["kept post"])

    def test_links_expire_and_unknown_ones_are_refused(self):
        account = self.w.connect("twitter", user="alice")
        self.disconnect(account)
        link = LINK.search(self.wait_mails(1)[0].get_body(
            ("plain",)).get_content()).group(0)
        self.advance(8 * 86400)
        status, _, page = self.w.browse(link, accept="text/html")
        self.assertEqual(status, 410, page)
        self.assertIn("expired", page)
        for bad in ("A" * 43, "not-a-token", "%3Cscript%3E"):
            status, _, page = self.w.browse(
                "http://127.0.0.1:%d/v1/r/%s" % (self.w.port, bad),
                accept="text/html")
            self.assertEqual(status, 404, (bad, page))
            self.assertIn("not known", page)
        self.assertEqual(self.w.account(account)["status"], "disconnected")


class FailingReceiversTest(Base):
    def attempts(self, channel):
        listed = self.notices(channel=channel)
        return [self.notice(n["id"]) for n in listed]

    def wait_attempt(self, channel, pred, what):
        return self.w.wait_for(
            lambda: any(pred(a) for n in self.attempts(channel)
                        for a in n["attempt_log"]),
            30, what)

    def test_retried_and_recorded_while_posting_goes_on(self):
        self.sink.mode = "refuse"
        self.hooks.status = 500
        other = self.w.connect("linkedin", user="bob")
        account = self.w.connect("twitter", user="alice")
        self.disconnect(account)

        # Posting does not wait for notices.
        status, body = self.p.create(post_body([other],
                                               text="while notices fail"))
        self.assertEqual(status, 202, body)
        self.p.wait(body["posts"][0]["id"], "published", timeout=10)

        self.wait_attempt("email", lambda a: a["code"] == 550,
                          "a 550 refusal")
        self.wait_attempt("webhook", lambda a: a["code"] == 500,
                          "a 500 answer")
        self.w.wait_for(lambda: all(
            n["attempts"] >= 2 and n["status"] == "pending"
            for n in self.notices()), 30, "second attempts")
        for n in self.notices():
            self.assertTrue(n["last_error"], n)
            self.assertIsNone(n["delivered_at"])

        self.sink.stop()
        self.wait_attempt("email", lambda a: a["outcome"] == "unreachable",
                          "an attempt at a server that is down")
        self.sink.mode = "busy"
        self.sink.start()
        self.wait_attempt("email", lambda a: a["code"] == 421, "a 421")
        self.sink.mode = "reject_data"
        self.wait_attempt("email", lambda a: a["code"] == 451, "a 451")

        self.sink.mode = "accept"
        self.hooks.status = 200
        self.w.wait_for(lambda: all(n["status"] == "delivered"
                                    for n in self.notices()), 40,
                        "every notice delivered")
        self.assertEqual(self.sink.count(), 1)
        mail = self.attempts("email")[0]
        outcomes = [a["outcome"] for a in mail["attempt_log"]]
        self.assertEqual(outcomes[-1], "delivered")
        self.assertIn("refused", outcomes)
        self.assertIn("unreachable", outcomes)
        self.assertEqual(mail["attempts"], len(outcomes))
        # Receivers deduplicate by event id: each went through once.
        ids = [r["json"]["id"] for r in self.hooks.delivered()]
        self.assertEqual(len(ids), len(set(ids)))
        failed = [r for r in self.hooks.all() if r["answered"] == 500]
        self.assertTrue(failed)
        self.assertEqual({r["json"]["id"] for r in failed}, set(ids))


class AttemptLimitTest(Base):
    ENGINE = {"notice_max_attempts": 3}

    def test_a_notice_fails_after_its_last_attempt(self):
        self.hooks.status = 500
        self.w.connect("twitter", user="alice")
        notice = self.w.wait_for(
            lambda: [n for n in self.notices(status="failed")], 30,
            "a failed notice")[0]
        self.assertEqual(notice["attempts"], 3)
        self.assertEqual(notice["event_type"], "account.connected")
        self.assertIn("500", notice["last_error"])
        self.assertIsNone(notice["next_attempt_at"])
        time.sleep(1.5)
        self.assertEqual(len(self.hooks.all()), 3)


class RestartTest(Base):
    def test_a_restart_neither_loses_nor_repeats(self):
        self.hooks.status = 500
        account = self.w.connect("twitter", user="alice")
        self.w.wait_for(lambda: self.hooks.all(), 20, "a first attempt")
        self.disconnect(account)
        self.wait_mails(1)
        self.w.restart()
        self.w.restart(kill=True)
        self.hooks.status = 200
        self.wait_hook("account.connected")
        self.wait_hook("account.disconnected")
        time.sleep(1.5)
        self.assertEqual(self.sink.count(), 1)
        ids = [r["json"]["id"] for r in self.hooks.delivered()]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(self.notices()), 3)


class ConfigTest(unittest.TestCase):
    def test_settings_that_go_together(self):
        w = World(networks=["twitter"])
        try:
            for extra, words in (
                    ({"webhook_url": "http://127.0.0.1:9/h"},
                     "'webhook_secret': required"),
                    ({"smtp_url": "smtp://127.0.0.1:25"},
                     "'smtp_from': required"),
                    ({"smtp_url": "http://127.0.0.1:25",
                      "smtp_from": "a@b.test"}, "smtp://"),
                    ({"smtp_url": "smtp://127.0.0.1:25",
                      "smtp_from": "Herald"}, "'smtp_from': expected"),
                    ({"reauth_link_days": 0}, "reauth_link_days")):
                config = dict(w.env.config, **extra)
                w.env.write_config(json.dumps(config))
                result = w.env.run("config", "check", "--config",
                                   w.env.path("herald.json"))
                self.assertNotEqual(result.returncode, 0, extra)
                self.assertIn(words, result.stderr + result.stdout)
        finally:
            w.sandbox.shutdown()
            w.sandbox.server_close()
            w.env.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
