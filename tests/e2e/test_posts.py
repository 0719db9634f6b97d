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

    def created_at(self, network, post):
        """When the sandbox created the network's only post."""
        p = self.posted(network)[0]
        return p.get("created_at") or p.get("created") or p["published_at"]

    def test_scheduled_post_is_never_early_on_any_network(self):
        due = time.time() + 2.5
        ids = {}
        for network in ("facebook", "instagram", "linkedin", "twitter"):
            media = [IMAGE] if network == "instagram" else None
            body = post_body([self.target(network)], text="later",
                             scheduled_at=rfc3339(due))
            if media:
                body["media"] = media
            status, body = self.p.create(body)
            self.assertEqual(status, 202, body)
            ids[network] = body["posts"][0]["id"]
            self.assertEqual(self.p.get(ids[network])["status"],
                             "scheduled")
        for network, post_id in ids.items():
            post = self.p.wait(post_id, "published")
            created = self.created_at(network, post)
            self.assertGreaterEqual(created, due, network)
            self.assertLess(created - due, 2.0, network)
            self.assertAlmostEqual(parse(post["scheduled_at"]), due,
                                   delta=0.002)

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
        for bad in ("tomorrow", "0", "1970-01-01T00:00:00Z"):
            status, body = self.p.create(post_body(
                [self.acc["twitter"]], scheduled_at=bad))
            self.assertEqual(status, 422, bad)
            self.assertIn("'scheduled_at'",
                          body["error"]["problems"][0]["message"], body)
        status, body = self.w.api("POST", "/v1/posts/validate", post_body(
            [self.acc["twitter"]], text="x" * 281))
        self.assertEqual(status, 200)
        self.assertFalse(body["valid"])
        status, body = self.w.api("POST", "/v1/posts/validate", post_body(
            [self.acc["twitter"]]))
        self.assertTrue(body["valid"])
        status, body = self.w.api("GET", "/v1/posts")
        self.assertEqual(body["posts"], [])

    def test_idempotency_on_every_network(self):
        for network in ("facebook", "instagram", "linkedin", "twitter"):
            key = "key-" + network
            body = post_body([self.target(network)], text="once only")
            if network == "instagram":
                body["media"] = [IMAGE]
            s1, b1 = self.p.create(body, key=key)
            s2, b2 = self.p.create(body, key=key)
            self.assertEqual((s1, b1), (s2, b2))
            s3, b3 = self.p.create(dict(body, text="another"), key=key)
            self.assertEqual(s3, 409)
            self.assertEqual(b3["error"]["code"], "idempotency_conflict")
            self.p.wait(b1["posts"][0]["id"], "published")
            self.assertEqual(len(self.posted(network)), 1, network)

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
        # answers duplicate: published once. The resend is herald's (a
        # second attempt) or, on a reused connection, libcurl's own
        # within the first attempt; both reach X twice.
        x.control("fault", {"match": "^/2/tweets$", "count": 1,
                            "status": 0, "drop": True})
        status, body = self.p.create(post_body([self.acc["twitter"]],
                                               text="lost answer"))
        post = self.p.wait(body["posts"][0]["id"], "published")
        self.assertIn(post["attempts"], (1, 2))
        self.assertEqual(len([r for r in x.requests
                              if r.get("path") == "/2/tweets"
                              and (r.get("json") or {}).get("text") ==
                              "lost answer"]), 2)
        texts = [p["text"] for p in self.posted("twitter")]
        self.assertEqual(texts.count("lost answer"), 1)

    def test_rejected_and_transient_on_every_network(self):
        meta_bad = ('{"error":{"message":"(#100) Invalid parameter",'
                    '"type":"OAuthException","code":100,"fbtrace_id":"A"}}')
        cases = {
            "facebook": ("/feed$", 400, meta_bad, 500,
                         '{"error":{"message":"(#2) Service temporarily '
                         'unavailable","type":"OAuthException",'
                         '"is_transient":true,"code":2}}'),
            "linkedin": ("^/rest/posts$", 422,
                         '{"message":"ERROR :: /author :: field is required'
                         ' but not found","status":422}', 503, "{}"),
            "instagram": ("/media$", 400,
                          '{"error":{"message":"The image size is too '
                          'large.","type":"OAuthException","code":36000,'
                          '"error_subcode":2207004,"is_transient":false}}',
                          500,
                          '{"error":{"message":"An unknown error occurred",'
                          '"type":"OAuthException","code":-1,'
                          '"error_subcode":2207001,"is_transient":true}}'),
        }
        for network, (match, bad, bad_body, down, down_body) in \
                cases.items():
            net = self.w.net(network)
            extra = {"media": [IMAGE]} if network == "instagram" else {}
            net.control("fault", {"match": match, "count": 1,
                                  "status": bad, "body": bad_body})
            status, body = self.p.create(post_body(
                [self.target(network)], text="refused on " + network,
                **extra))
            post = self.p.wait(body["posts"][0]["id"], "failed")
            self.assertTrue(post["reason"], network)
            self.assertEqual(post["attempts"], 1, network)

            net.control("fault", {"match": match, "count": 1,
                                  "status": down, "body": down_body})
            status, body = self.p.create(post_body(
                [self.target(network)], text="after an outage on " +
                network, **extra))
            post = self.p.wait(body["posts"][0]["id"], "published")
            self.assertEqual(post["attempts"], 2, network)
            self.assertEqual(len(self.posted(network)), 1, network)

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
        self.assertIsNone(listed["next"])

    def test_pages_end_exactly(self):
        later = rfc3339(time.time() + 3600)
        ids = [self.p.create(post_body([self.acc["twitter"]], text=t,
                                       scheduled_at=later))[1]
               ["posts"][0]["id"] for t in ("one", "two", "three")]
        # A full page with more after it names the next; the last page,
        # full or not, names none.
        status, page = self.w.api("GET", "/v1/posts?limit=2")
        self.assertEqual([p["id"] for p in page["posts"]], ids[:2])
        self.assertEqual(page["next"], ids[1])
        status, page = self.w.api("GET", "/v1/posts?limit=2&after=%d"
                                  % page["next"])
        self.assertEqual([p["id"] for p in page["posts"]], ids[2:])
        self.assertIsNone(page["next"])
        status, page = self.w.api("GET", "/v1/posts?limit=3")
        self.assertEqual([p["id"] for p in page["posts"]], ids)
        self.assertIsNone(page["next"])
        status, page = self.w.api("GET", "/v1/events?type=post.created&"
                                  "limit=3")
        self.assertEqual(len(page["events"]), 3)
        self.assertIsNone(page["next"])
        status, page = self.w.api("GET", "/v1/events?type=post.created&"
                                  "limit=2")
        self.assertEqual(len(page["events"]), 2)
        self.assertEqual(page["next"], page["events"][1]["id"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
