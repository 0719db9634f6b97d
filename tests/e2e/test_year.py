#!/usr/bin/env python3
"""A simulated year: herald's clock and the sandboxes' clocks move
forward a day at a time (the daemon runs with test_clock), and accounts
on every network are kept, renewed, reminded and disconnected as their
tokens' real lifetimes say.
"""

import collections
import time
import unittest

from world import World

DAY = 86400


class YearTest(unittest.TestCase):
    def setUp(self):
        self.w = World(engine={"test_clock": True}).start()

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)

    def idle(self):
        """Waits until the keeper has nothing in flight, twice running."""
        quiet = 0
        deadline = time.time() + 20
        while quiet < 2 and time.time() < deadline:
            time.sleep(0.03)
            status, health = self.w.api("GET", "/v1/health", key=None)
            busy = (health["keeper"]["in_flight"] +
                    health["scheduler"]["in_flight"])
            quiet = quiet + 1 if busy == 0 else 0

    def advance(self, days=1):
        status, body = self.w.api("POST", "/v1/test/clock",
                                  {"advance_s": days * DAY})
        self.assertEqual(status, 200, body)
        for net in self.w.sandbox.networks.values():
            net.control("clock", {"advance_s": days * DAY})
        self.idle()

    def reminders(self, account_id, kind):
        events = self.w.events(account=account_id, type=kind, limit=1000)
        return [(e["detail"]["deadline"], e["detail"]["days"])
                for e in events]

    def test_a_year_on_every_network(self):
        acc = {n: self.w.connect(n, user="alice")
               for n in ("facebook", "instagram", "linkedin", "twitter")}
        li_deadline = self.w.account(acc["linkedin"])["hard_deadline"]
        fb_cycles = 0
        li_disconnected_on = None
        for day in range(1, 381):
            self.advance()
            for n in ("twitter", "instagram"):
                account = self.w.account(acc[n])
                self.assertEqual(account["status"], "active",
                                 (day, n, account))
            fb = self.w.account(acc["facebook"])
            if (1 in [d for _, d in self.reminders(acc["facebook"],
                                                   "account.expiring")
                      if _ == self.deadline_ms(fb)]):
                # The owner acts on the last reminder: one login.
                status, body = self.w.authorize("facebook", user="alice",
                                                account_id=acc["facebook"])
                self.assertEqual(status, 200, body)
                fb_cycles += 1
            else:
                self.assertEqual(fb["status"], "active", (day, fb))
            li = self.w.account(acc["linkedin"])
            if li["status"] == "disconnected" and not li_disconnected_on:
                li_disconnected_on = day

        # X and Instagram: a year with nobody involved.
        for n in ("twitter", "instagram"):
            types = [e["type"] for e in
                     self.w.events(account=acc[n], limit=1000)]
            self.assertNotIn("account.disconnected", types, n)
            self.assertNotIn("account.expiring", types, n)
        x_renewals = [r for r in self.w.net("twitter").requests
                      if r.get("form", {}).get("grant_type") ==
                      "refresh_token"]
        self.assertGreaterEqual(len(x_renewals), 300)

        # LinkedIn: renewed until its refresh token ends; 14, 7 and 1 day
        # reminders came first, once each; then disconnected.
        li_reminders = self.reminders(acc["linkedin"], "account.expiring")
        self.assertEqual([d for _, d in li_reminders], [14, 7, 1])
        self.assertIsNotNone(li_disconnected_on)
        self.assertGreaterEqual(li_disconnected_on, 365)

        # Facebook: reminders before each 60-day end, none twice.
        fb_reminders = self.reminders(acc["facebook"], "account.expiring")
        self.assertGreaterEqual(fb_cycles, 5)
        counts = collections.Counter(fb_reminders)
        self.assertEqual(max(counts.values()), 1, "a reminder went twice")
        by_deadline = collections.defaultdict(list)
        for deadline, days in fb_reminders:
            by_deadline[deadline].append(days)
        for deadline, days in by_deadline.items():
            self.assertEqual(days, [14, 7, 1], deadline)

    def deadline_ms(self, account):
        import datetime
        return int(datetime.datetime.strptime(
            account["hard_deadline"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp() * 1000)

    def test_reconnect_window_reminders(self):
        li = self.w.connect("linkedin", user="alice")
        self.w.net("linkedin").control("revoke", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % li)
        self.w.wait_status(li, "disconnected")
        for _ in range(31):
            self.advance()
        got = self.reminders(li, "account.reconnect_deadline")
        self.assertEqual([d for _, d in got], [7, 3, 1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
