#!/usr/bin/env python3
"""End-to-end test of a full disk: nothing acknowledged that was not stored.

The real daemon, the X plugin and the X sandbox. The daemon's file size
limit (RLIMIT_FSIZE, set from outside with prlimit) is lowered below the
size of its store, so every write SQLite makes fails as it does on a full
disk. While it is so, every request that would change the store is
answered 503 and health says unhealthy; the daemon neither crashes nor
acknowledges a post it did not store. Once the limit is lifted it
resumes on its own: the posts it acknowledged, before and after, are
published once each, and the ones it refused do not exist. An outcome
the full disk kept from being committed is reconciled as after a crash,
without a restart.
"""

import subprocess
import time
import unittest

from test_accounts import collect_secrets
from world import Posts, World, post_body


def set_fsize(pid, limit):
    """Sets the soft file size limit of process pid ("unlimited" or a
    number of bytes), leaving the hard limit as it is."""
    subprocess.run(["prlimit", "--pid", str(pid), "--fsize=%s:" % limit],
                   check=True, timeout=10)


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.w = World(networks=["twitter"]).start()
        self.p = Posts(self.w)
        self.x = self.w.net("twitter")
        self.account = self.w.connect("twitter", user="alice")

    def tearDown(self):
        secrets = set()
        collect_secrets(self.x.state(), secrets)
        log = self.w.daemon.read_log()
        self.assertEqual(self.w.stop(), 0)
        for secret in secrets:
            self.assertNotIn(secret, log, "a secret reached the log")

    def create(self, text):
        return self.p.create(post_body([self.account], text=text))

    def test_refuses_while_full_and_resumes_by_itself(self):
        acked = []
        status, body = self.create("before the disk filled")
        self.assertEqual(status, 202, body)
        acked.append(body["posts"][0]["id"])
        self.p.wait(acked[0], "published")

        # Every write past the first page now fails, as on a full disk.
        pid = self.w.daemon.proc.pid
        set_fsize(pid, 4096)
        for i in range(20):
            status, body = self.create("while full %d" % i)
            self.assertEqual(status, 503, body)
            self.assertEqual(body["error"]["code"], "store_unavailable",
                             body)
        status, health = self.w.api("GET", "/v1/health", key=None)
        self.assertEqual(status, 503, health)
        self.assertFalse(health["store"]["ok"])
        # It is still running and answering.
        self.assertIsNone(self.w.daemon.proc.poll())

        # Space again: it resumes without a restart.
        set_fsize(pid, "unlimited")
        self.w.wait_for(
            lambda: self.w.api("GET", "/v1/health", key=None)[0] == 200,
            20, "health to recover")
        status, body = self.create("after the disk was freed")
        self.assertEqual(status, 202, body)
        acked.append(body["posts"][0]["id"])

        for post_id in acked:
            self.p.wait(post_id, "published")
        status, listed = self.w.api("GET", "/v1/posts?limit=500")
        self.assertEqual(status, 200, listed)
        self.assertEqual(sorted(p["id"] for p in listed["posts"]),
                         sorted(acked))
        tweets = [t["text"] for t in self.x.control("state", {})["posts"]]
        self.assertEqual(len(tweets), len(acked))
        self.assertEqual(len(set(tweets)), len(tweets))
        self.assertIsNone(self.w.daemon.proc.poll())

    def test_an_outcome_the_full_disk_lost_is_reconciled(self):
        # X creates the post, then its answer waits while the disk fills:
        # the outcome cannot be committed.
        self.x.control("fault", {"match": "/2/tweets", "status": 0,
                                 "delay_ms": 1500})
        status, body = self.create("answered while full")
        self.assertEqual(status, 202, body)
        post_id = body["posts"][0]["id"]
        self.w.wait_for(lambda: self.x.control("state", {})["posts"], 20,
                        "X to create the post")
        set_fsize(self.w.daemon.proc.pid, 4096)
        time.sleep(2.5)  # the answer came, its commit failed
        self.assertEqual(self.p.get(post_id)["status"], "publishing")
        set_fsize(self.w.daemon.proc.pid, "unlimited")

        # Reconciled without a restart: X answers the resend as a
        # duplicate, so the post is published and X has it once.
        self.p.wait(post_id, "published", timeout=30)
        event = self.w.events(type="post.published")[-1]
        self.assertEqual(event["post_id"], post_id)
        self.assertTrue(event["detail"]["duplicate"])
        tweets = self.x.control("state", {})["posts"]
        self.assertEqual([t["text"] for t in tweets],
                         ["answered while full"])
        self.assertIsNone(self.w.daemon.proc.poll())
        self.assertIn("whose outcome a failed commit lost",
                      self.w.daemon.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
