#!/usr/bin/env python3
"""End-to-end tests of publishing.

The real daemon, the network plugins and the sandbox networks: posts of
every kind on each network, schedules that are never early, validation,
idempotency, each class of outcome leading to its state, rate limits
honoured, blocked posts on a disconnected account, cancel and retry.
"""

import datetime
import time
import unittest

from world import Posts, World, post_body

IMAGE = None


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse(s):
    return datetime.datetime.strptime(
        s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


class PublishTest(unittest.TestCase):
    def setUp(self):
        self.w = World().start()
        self.p = Posts(self.w)
        self.acc = {n: self.w.connect(n, user="alice")
                    for n in ("facebook", "instagram", "linkedin",
                              "twitter")}
        global IMAGE
        IMAGE = self.w.sandbox.base("images") + "/cat.jpg"
        fb = self.w.account(self.acc["facebook"])
        self.page = sorted(t["id"] for t in fb["targets"])[0]

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)

    def posted(self, network):
        return self.w.net(network).control("state", {})["posts"]

    def target(self, network):
        if network == "facebook":
            return {"id": self.acc[network], "target": self.page}
        return self.acc[network]

    def test_text_link_and_image_posts_on_every_network(self):
        for network in ("facebook", "linkedin", "twitter"):
            status, body = self.p.create(post_body(
                [self.target(network)], text="plain text on " + network))
            self.assertEqual(status, 202, body)
            post = self.p.wait(body["posts"][0]["id"], "published")
            self.assertTrue(post["remote_id"])
            self.assertTrue(post["remote_url"])
            status, body = self.p.create(post_body(
                [self.target(network)], text="with a link on " + network,
                link="https://example.com/a"))
            self.assertEqual(status, 202, body)
            self.p.wait(body["posts"][0]["id"], "published")
        for network in ("facebook", "linkedin", "instagram"):
            status, body = self.p.create(post_body(
                [self.target(network)], text="an image on " + network,
                media=[IMAGE]))
            self.assertEqual(status, 202, body)
            post = self.p.wait(body["posts"][0]["id"], "published")
            self.assertTrue(post["remote_id"], post)
        self.assertEqual(len(self.posted("twitter")), 2)
        self.assertEqual(len(self.posted("facebook")), 3)
        self.assertEqual(len(self.posted("linkedin")), 3)
        self.assertEqual(len(self.posted("instagram")), 1)

    def test_one_post_to_every_network(self):
        status, body = self.p.create(post_body(
            [self.target(n) for n in ("facebook", "instagram", "linkedin",
                                      "twitter")],
            text="everywhere at once", media=[IMAGE]))
        # X takes no images: the whole request is refused, nothing made.
        self.assertEqual(status, 422, body)
        problems = body["error"]["problems"]
        self.assertEqual([p["account_id"] for p in problems],
                         [self.acc["twitter"]])
        self.assertEqual(problems[0]["rule"], "media_not_allowed")
        status, body = self.w.api("GET", "/v1/posts")
        self.assertEqual(body["posts"], [])

    def test_scheduled_post_is_never_early(self):
        due = time.time() + 2.5
        status, body = self.p.create(post_body(
            [self.acc["twitter"]], text="later", scheduled_at=rfc3339(due)))
        self.assertEqual(status, 202, body)
        post_id = body["posts"][0]["id"]
        self.assertEqual(self.p.get(post_id)["status"], "scheduled")
        post = self.p.wait(post_id, "published")
        created = self.posted("twitter")[0]["created_at"]
        self.assertGreaterEqual(created, due)
        self.assertLess(created - due, 2.0)
        self.assertAlmostEqual(parse(post["scheduled_at"]), due, delta=0.002)

    def test_validation(self):
        status, body = self.p.create(post_body(
            [self.acc["twitter"]], text="x" * 281))
        self.assertEqual(status, 422)
        self.assertEqual(body["error"]["problems"][0]["rule"],
                         "text_too_long")
        status, body = self.p.create(post_body(
            [self.acc["instagram"]], text="no image"))
        self.assertEqual(body["error"]["problems"][0]["rule"],
                         "media_required")
        status, body = self.p.create(post_body([self.acc["facebook"]]))
        self.assertEqual(body["error"]["problems"][0]["rule"],
                         "target_required")
        status, body = self.p.create(post_body(
            [{"id": self.acc["facebook"], "target": "not-a-page"}]))
        self.assertEqual(body["error"]["problems"][0]["rule"],
                         "unknown_target")
        status, body = self.p.create(post_body([999999]))
        self.assertEqual(body["error"]["problems"][0]["rule"],
                         "account_not_found")
        status, body = self.p.create({"text": "no accounts"})
        self.assertEqual(status, 422)
        status, body = self.p.create(post_body(
            [self.acc["twitter"]], scheduled_at="tomorrow"))
        self.assertEqual(status, 422)
        status, body = self.w.api("POST", "/v1/posts/validate", post_body(
            [self.acc["twitter"]], text="x" * 281))
        self.assertEqual(status, 200)
        self.assertFalse(body["valid"])
        status, body = self.w.api("POST", "/v1/posts/validate", post_body(
            [self.acc["twitter"]]))
        self.assertTrue(body["valid"])
        status, body = self.w.api("GET", "/v1/posts")
        self.assertEqual(body["posts"], [])

    def test_idempotency(self):
        body = post_body([self.acc["twitter"]], text="once only")
        s1, b1 = self.p.create(body, key="key-1")
        s2, b2 = self.p.create(body, key="key-1")
        self.assertEqual((s1, b1), (s2, b2))
        s3, b3 = self.p.create(post_body([self.acc["twitter"]],
                                         text="another"), key="key-1")
        self.assertEqual(s3, 409)
        self.assertEqual(b3["error"]["code"], "idempotency_conflict")
        self.p.wait(b1["posts"][0]["id"], "published")
        self.assertEqual(len(self.posted("twitter")), 1)

    def test_outcomes(self):
        x = self.w.net("twitter")
        # Transient, then fine: retrying, then published.
        x.control("fault", {"match": "^/2/tweets$", "count": 1,
                            "status": 503, "body": "{}"})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="after a 503"))
        post = self.p.wait(body["posts"][0]["id"], "published")
        self.assertEqual(post["attempts"], 2)
        # Rejected: failed, never retried.
        x.control("fault", {
            "match": "^/2/tweets$", "count": 1, "status": 400,
            "body": '{"errors":[{"parameters":{},"message":"bad"}],'
                    '"title":"Invalid Request","detail":"One or more '
                    'parameters to your request was invalid.",'
                    '"type":"https://api.twitter.com/2/problems/'
                    'invalid-request"}'})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="refused"))
        post = self.p.wait(body["posts"][0]["id"], "failed")
        self.assertTrue(post["reason"])
        self.assertEqual(post["attempts"], 1)
        # Duplicate: published, not retried.
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="after a 503"))
        post = self.p.wait(body["posts"][0]["id"], "published")
        self.assertEqual(post["attempts"], 1)
        # Created, then the connection dropped: sent again, the network
        # answers duplicate: published once.
        x.control("fault", {"match": "^/2/tweets$", "count": 1,
                            "status": 0, "drop": True})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="lost answer"))
        post = self.p.wait(body["posts"][0]["id"], "published")
        self.assertEqual(post["attempts"], 2)
        texts = [p["text"] for p in self.posted("twitter")]
        self.assertEqual(texts.count("lost answer"), 1)

    def test_unknown_kept_when_resending_is_off(self):
        self.w.env.config["resend_unknown"] = False
        self.w.env.write_config()
        self.w.restart()
        x = self.w.net("twitter")
        x.control("fault", {"match": "^/2/tweets$", "count": 1,
                            "status": 0, "drop": True})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="lost answer"))
        post_id = body["posts"][0]["id"]
        self.p.wait(post_id, "unknown")
        time.sleep(1)
        self.assertEqual(self.p.get(post_id)["status"], "unknown")
        # Retried explicitly: the network says duplicate: published.
        status, body = self.w.api("POST", "/v1/posts/%d/retry" % post_id)
        self.assertEqual(status, 200, body)
        self.p.wait(post_id, "published")
        self.assertEqual([p["text"] for p in self.posted("twitter")]
                         .count("lost answer"), 1)

    def test_expired_token_is_renewed_once_then_published(self):
        x = self.w.net("twitter")
        x.control("expire", {"user": "alice"})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="after a renewal"))
        post = self.p.wait(body["posts"][0]["id"], "published")
        self.assertEqual(post["attempts"], 2)
        renewals = [r for r in x.requests
                    if r.get("path") == "/2/oauth2/token" and
                    r.get("form", {}).get("grant_type") == "refresh_token"]
        self.assertEqual(len(renewals), 1)
        self.assertEqual(self.w.account(self.acc["twitter"])["status"],
                         "active")

    def test_rate_limit_is_honoured(self):
        x = self.w.net("twitter")
        reset = int(time.time()) + 3
        x.control("fault", {
            "match": "^/2/tweets$", "count": 1, "status": 429,
            "headers": {"x-rate-limit-limit": "100",
                        "x-rate-limit-remaining": "0",
                        "x-rate-limit-reset": str(reset)},
            "body": '{"title":"Too Many Requests","detail":"Too Many '
                    'Requests","type":"about:blank","status":429}'})
        ids = []
        for i in range(3):
            status, body = self.p.create(post_body(
                [self.acc["twitter"]], text="burst %d" % i))
            ids.append(body["posts"][0]["id"])
        for post_id in ids:
            self.p.wait(post_id, "published", timeout=30)
        tweets = [r for r in x.requests if r.get("path") == "/2/tweets"]
        limited = [r for r in tweets if r.get("fault") == 429]
        self.assertEqual(len(limited), 1)
        later = [p for p in self.posted("twitter")]
        for p in later:
            self.assertGreaterEqual(p["created_at"], reset)
        # In order: the account's posts went out as they were created.
        self.assertEqual([p["text"] for p in later],
                         ["burst 0", "burst 1", "burst 2"])
        # Other networks were not held.

    def test_disconnected_account_blocks_without_requests(self):
        li = self.w.net("linkedin")
        li.control("revoke", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % self.acc["linkedin"])
        self.w.wait_status(self.acc["linkedin"], "disconnected")
        before = len([r for r in li.requests if r.get("path") ==
                      "/rest/posts"])
        status, body = self.p.create(post_body([self.acc["linkedin"]],
                                               text="held"))
        self.assertEqual(status, 202, body)
        self.assertEqual(body["warnings"][0]["code"],
                         "account_disconnected")
        post_id = body["posts"][0]["id"]
        post = self.p.wait(post_id, "blocked")
        self.assertTrue(post["reason"])
        after = len([r for r in li.requests if r.get("path") ==
                     "/rest/posts"])
        self.assertEqual(before, after)
        self.assertEqual(self.w.account(self.acc["linkedin"])
                         ["blocked_posts"], 1)
        # Access lost in the middle of publishing blocks the post too.
        self.w.net("twitter").control("revoke", {"user": "alice"})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="revoked meanwhile"))
        self.p.wait(body["posts"][0]["id"], "blocked", timeout=30)
        self.w.wait_status(self.acc["twitter"], "disconnected")

    def test_cancel(self):
        status, body = self.p.create(post_body(
            [self.acc["twitter"]], text="never",
            scheduled_at=rfc3339(time.time() + 3600)))
        post_id = body["posts"][0]["id"]
        status, post = self.w.api("POST", "/v1/posts/%d/cancel" % post_id)
        self.assertEqual(status, 200, post)
        self.assertEqual(post["status"], "canceled")
        status, post = self.w.api("POST", "/v1/posts/%d/cancel" % post_id)
        self.assertEqual(status, 409)
        status, post = self.w.api("POST", "/v1/posts/%d/retry" % post_id)
        self.assertEqual(status, 409)
        status, listed = self.w.api("GET", "/v1/posts?status=canceled")
        self.assertEqual([p["id"] for p in listed["posts"]], [post_id])


if __name__ == "__main__":
    unittest.main(verbosity=2)
