#!/usr/bin/env python3
"""End-to-end tests of holding posts for a disconnected account and
releasing them when it is back: release on reconnect in order, the
lateness policy, and the bulk operations.
"""

import time
import unittest

from world import Posts, World, post_body


class HoldTest(unittest.TestCase):
    def setUp(self):
        self.w = World(networks=["twitter", "linkedin"]).start()
        self.p = Posts(self.w)
        self.x = self.w.net("twitter")
        self.account = self.w.connect("twitter", user="alice")

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)

    def disconnect(self):
        self.x.control("revoke", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % self.account)
        self.w.wait_status(self.account, "disconnected")

    def hold(self, n, **fields):
        ids = []
        for i in range(n):
            status, body = self.p.create(post_body(
                [self.account], text="held post %02d" % i, **fields))
            self.assertEqual(status, 202, body)
            ids.append(body["posts"][0]["id"])
        for post_id in ids:
            self.p.wait(post_id, "blocked")
        return ids

    def tweets(self):
        return [r for r in self.x.requests if r.get("path") == "/2/tweets"]

    def test_release_on_reconnect_in_order(self):
        self.disconnect()
        ids = self.hold(10)
        self.assertEqual(self.tweets(), [])
        self.assertEqual(self.w.account(self.account)["blocked_posts"], 10)

        status, body = self.w.authorize("twitter", user="alice",
                                        account_id=self.account)
        reconnected = time.time()
        self.assertEqual(status, 200, body)
        for post_id in ids:
            self.p.wait(post_id, "published")
        posted = self.x.control("state", {})["posts"]
        self.assertEqual([p["text"] for p in posted],
                         ["held post %02d" % i for i in range(10)])
        self.assertLess(posted[0]["created_at"] - reconnected, 1.0)
        events = self.w.events(account=self.account,
                               type="account.reconnected")
        self.assertEqual(events[0]["detail"]["released"], 10)
        self.assertEqual(len(self.w.events(account=self.account,
                                           type="post.released")), 10)

    def test_lateness_policy_expires_with_notice(self):
        self.disconnect()
        late = self.hold(2, expire_after_s=1)
        keep = self.hold(1)
        time.sleep(1.5)
        status, body = self.w.authorize("twitter", user="alice",
                                        account_id=self.account)
        self.assertEqual(status, 200, body)
        for post_id in late:
            post = self.p.wait(post_id, "expired")
            self.assertIn("limit is 1 s", post["reason"])
        self.p.wait(keep[0], "published")
        self.assertEqual(len(self.tweets()), 1)
        self.assertEqual(len(self.w.events(type="post.expired")), 2)

    def test_bulk_operations(self):
        self.disconnect()
        self.hold(3)
        status, body = self.w.api("POST", "/v1/accounts/%d/release"
                                  % self.account)
        self.assertEqual(status, 409, body)
        status, body = self.w.api("POST", "/v1/networks/twitter/"
                                  "cancel-blocked")
        self.assertEqual((status, body), (200, {"moved": 3}))
        status, body = self.w.api("POST", "/v1/accounts/%d/cancel-blocked"
                                  % self.account)
        self.assertEqual(body, {"moved": 0})
        status, body = self.w.api("POST", "/v1/networks/nowhere/release")
        self.assertEqual(status, 404)

        self.w.authorize("twitter", user="alice", account_id=self.account)
        self.x.control("fault", {
            "match": "^/2/tweets$", "count": 2, "status": 400,
            "body": '{"title":"Invalid Request","detail":"no",'
                    '"type":"https://api.twitter.com/2/problems/'
                    'invalid-request"}'})
        ids = [self.p.create(post_body([self.account], text="f%d" % i))
               [1]["posts"][0]["id"] for i in range(2)]
        for post_id in ids:
            self.p.wait(post_id, "failed")
        status, body = self.w.api("POST", "/v1/accounts/%d/retry-failed"
                                  % self.account)
        self.assertEqual(body, {"moved": 2})
        for post_id in ids:
            self.p.wait(post_id, "published")

    def test_scheduled_after_the_hard_deadline_warns(self):
        li = self.w.connect("linkedin", user="alice")
        deadline = self.w.account(li)["hard_deadline"]
        status, body = self.p.create(post_body(
            [li], scheduled_at="2099-01-01T00:00:00Z"))
        self.assertEqual(status, 202, body)
        warning = body["warnings"][0]
        self.assertEqual(warning["code"], "after_hard_deadline")
        self.assertIn(deadline[:10], warning["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
