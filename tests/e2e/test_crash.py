#!/usr/bin/env python3
"""The crash test: SIGKILL the daemon at random moments during a drain.

Posts (HERALD_CRASH_POSTS, default 1200; thousands in longer runs)
across all four sandbox networks are accepted, then the daemon is killed
with SIGKILL at random moments and restarted, again and again, until
every post has
reached an end state. Then: no accepted post is lost, none was
published twice at a sandbox, and every post the daemon calls published
is at its network exactly once.
"""

import collections
import os
import random
import sqlite3
import time
import unittest

from world import Posts, World, post_body

POSTS = int(os.environ.get("HERALD_CRASH_POSTS", "1200"))
DEADLINE_S = int(os.environ.get("HERALD_CRASH_SECONDS", "300"))
END_STATES = ("published", "failed", "canceled", "expired", "unknown")
USERS = ("alice", "bob")


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.w = World(engine={"publish_concurrency": 16}).start()
        for net in self.w.sandbox.networks.values():
            net.settings.update({
                "publish_cap": 100000, "posts_per_day": 100000,
                "tweets_limit_15min": 100000,
                "tweets_limit_24h_user": 100000,
                "tweets_limit_24h_app": 100000})
        self.p = Posts(self.w)
        self.rng = random.Random(int(os.environ.get("HERALD_CRASH_SEED",
                                                    "7")))

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)

    def connect_all(self):
        targets = {"image": [], "text": []}
        for network in ("facebook", "instagram", "linkedin", "twitter"):
            for user in USERS:
                account_id = self.w.connect(network, user=user)
                entry = account_id
                if network == "facebook":
                    page = self.w.account(account_id)["targets"][0]["id"]
                    entry = {"id": account_id, "target": page}
                kind = "text" if network == "twitter" else "image"
                targets[kind].append(entry)
        return targets

    def accept(self, targets):
        image = self.w.sandbox.base("images") + "/cat.jpg"
        per_round = len(targets["image"]) + len(targets["text"])
        ids = []
        for n in range(max(1, POSTS // per_round)):
            text = "crash test post %d" % n
            status, body = self.p.create(post_body(targets["image"],
                                                   text=text,
                                                   media=[image]))
            self.assertEqual(status, 202, body)
            ids += [p["id"] for p in body["posts"]]
            status, body = self.p.create(post_body(targets["text"],
                                                   text=text))
            self.assertEqual(status, 202, body)
            ids += [p["id"] for p in body["posts"]]
        return ids

    def statuses(self):
        db = sqlite3.connect("file:%s?mode=ro" % self.w.env.path(
            "herald.db"), uri=True, timeout=10)
        rows = dict(db.execute("SELECT id, status FROM posts"))
        db.close()
        return rows

    def drain_with_kills(self, ids):
        kills = 0
        deadline = time.time() + DEADLINE_S
        while time.time() < deadline:
            time.sleep(self.rng.uniform(0.05, 0.35))
            rows = self.statuses()
            if all(rows.get(i) in END_STATES for i in ids):
                return kills
            self.w.restart(kill=True)
            kills += 1
        self.fail("posts still not in an end state after %d kills: %s" % (
            kills, collections.Counter(self.statuses().values())))

    def test_sigkill_during_drain(self):
        ids = self.accept(self.connect_all())
        kills = self.drain_with_kills(ids)
        rows = self.statuses()

        # Nothing accepted was lost, and everything ended.
        self.assertEqual(sorted(rows), sorted(ids))
        counts = collections.Counter(rows.values())
        self.assertEqual(set(counts) - set(END_STATES), set(), counts)

        # Nothing was published twice, and every publication is there.
        seen = collections.Counter()
        for name, net in self.w.sandbox.networks.items():
            if name == "images":
                continue
            for post in net.control("state", {})["posts"]:
                text = (post.get("text") or post.get("caption") or
                        post.get("message") or post.get("commentary") or "")
                user = post.get("user") or post.get("username") or ""
                seen[(name, str(user), text.split("\n")[0])] += 1
        twice = {k: v for k, v in seen.items() if v > 1}
        self.assertEqual(twice, {}, "published twice")
        published = counts["published"]
        self.assertEqual(sum(seen.values()), published,
                         (kills, counts))
        print("%d posts, %d kills, end states %s" % (len(ids), kills,
                                                     dict(counts)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
