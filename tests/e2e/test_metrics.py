#!/usr/bin/env python3
"""End-to-end tests of GET /metrics.

The real daemon and plugins against the sandbox networks: accounts are
connected, posts published, failed, rate limited, lost and renewed, an
account revoked and a webhook refused then delivered; then /metrics is
scraped, parsed strictly as Prometheus text format 0.0.4, and every
figure is compared with what the API and the sandboxes say happened.
"""

import collections
import re
import time
import unittest

from harness import API_KEY
from webhooks import WebhookListener
from world import Posts, World, post_body

WEBHOOK_SECRET = "whsec-metrics-test-5d1c"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
VALUE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"
                   r"|Inf|NaN)\Z")


def parse_labels(text):
    """Parses 'a="x",b="y"' strictly; returns a tuple of pairs."""
    labels = []
    pos = 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError("bad labels: %r" % text)
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1),
                                                           e.group(1)),
                       m.group(2))
        labels.append((m.group(1), value))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError("bad labels: %r" % text)
            pos += 1
    names = [k for k, _ in labels]
    if len(set(names)) != len(names):
        raise ValueError("a label twice: %r" % text)
    return tuple(sorted(labels))


def parse_exposition(text):
    """Parses Prometheus text format 0.0.4 strictly.

    Returns {family: {"type", "help", "samples": {(name, labels): v}}};
    raises AssertionError on any line that breaks the format, a sample
    without HELP and TYPE before it, a family split in two, or a series
    seen twice.
    """
    assert text.endswith("\n"), "the text must end with a newline"
    families = {}
    current = None
    seen = set()
    for line in text[:-1].split("\n"):
        assert line, "an empty line"
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert NAME.match(name) and help_, line
            assert name not in families, "family twice: " + name
            families[name] = {"help": help_, "type": None, "samples": {}}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, type_ = line[7:].partition(" ")
            assert name == current, "TYPE without its HELP: " + line
            assert type_ in ("counter", "gauge", "histogram"), line
            assert families[name]["type"] is None, line
            families[name]["type"] = type_
            continue
        assert not line.startswith("#"), line
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)\Z",
                     line)
        assert m, "not a sample: %r" % line
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        assert VALUE.match(value), line
        fam = families.get(current)
        assert fam and fam["type"], "a sample before HELP/TYPE: " + line
        base = name
        if fam["type"] == "histogram":
            base = re.sub(r"_(bucket|sum|count)\Z", "", name)
            assert base != name, line
        assert base == current, "sample of another family: " + line
        key = (name, parse_labels(labels))
        assert key not in seen, "a series twice: " + line
        seen.add(key)
        fam["samples"][key] = float(value)
    for name, fam in families.items():
        if fam["type"] == "counter":
            assert name.endswith("_total"), name
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    """Buckets cumulative, +Inf equal to _count, _sum present."""
    series = collections.defaultdict(list)
    for (sample, labels), value in samples.items():
        if sample == name + "_bucket":
            le = dict(labels)["le"]
            rest = tuple(p for p in labels if p[0] != "le")
            series[rest].append((float(le), value))
    for rest, buckets in series.items():
        buckets.sort()
        values = [v for _, v in buckets]
        assert values == sorted(values), (name, rest, buckets)
        assert buckets[-1][0] == float("inf"), (name, rest)
        assert samples[(name + "_count", rest)] == buckets[-1][1], rest
        assert (name + "_sum", rest) in samples, rest


def series(fam, **labels):
    """The value of the one sample of fam whose labels include labels."""
    want = set(labels.items())
    found = [v for (_, ls), v in fam["samples"].items()
             if want <= set(ls)]
    assert len(found) == 1, (labels, found)
    return found[0]


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.hooks = WebhookListener(WEBHOOK_SECRET).start()
        self.w = World(engine={"webhook_url": self.hooks.url,
                               "webhook_secret": WEBHOOK_SECRET}).start()
        self.p = Posts(self.w)
        self.created = 0

    def tearDown(self):
        self.assertEqual(self.w.stop(), 0)
        self.hooks.stop()

    def scrape(self, key=API_KEY):
        resp, text = self.w.daemon.request("GET", "/metrics", key=key)
        return resp, text

    def metrics(self):
        resp, text = self.scrape()
        self.assertEqual(resp.status, 200, text)
        self.assertEqual(resp.getheader("Content-Type"), CONTENT_TYPE)
        return parse_exposition(text)

    def post(self, account, text, fault=None, network=None):
        if fault:
            self.w.net(network).control("fault", fault)
        status, body = self.p.create(post_body([account], text=text))
        self.assertEqual(status, 202, body)
        self.created += 1
        return body["posts"][0]["id"]

    def all_posts(self):
        status, body = self.w.api("GET", "/v1/posts?limit=500")
        self.assertEqual(status, 200, body)
        return body["posts"]

    def idle(self):
        def quiet():
            status, health = self.w.api("GET", "/v1/health", key=None)
            return (health["keeper"]["in_flight"] +
                    health["scheduler"]["in_flight"]) == 0
        self.w.wait_for(quiet, 20, "nothing in flight")

    def happen(self):
        """Makes things happen; returns the account ids."""
        acc = {n: self.w.connect(n, user="alice")
               for n in ("linkedin", "twitter")}
        x = acc["twitter"]
        done = [self.post(x, "plain %d" % i) for i in range(3)]
        done.append(self.post(x, "after a 503", network="twitter", fault={
            "match": "^/2/tweets$", "count": 1, "status": 503,
            "body": "{}"}))
        for post_id in done:
            self.p.wait(post_id, "published")
        reset = int(time.time()) + 2
        limited = self.post(x, "rate limited", network="twitter", fault={
            "match": "^/2/tweets$", "count": 1, "status": 429,
            "headers": {"x-rate-limit-limit": "100",
                        "x-rate-limit-remaining": "0",
                        "x-rate-limit-reset": str(reset)},
            "body": '{"title":"Too Many Requests","detail":"Too Many '
                    'Requests","type":"about:blank","status":429}'})
        self.p.wait(limited, "published", timeout=30)
        lost = self.post(x, "lost answer", network="twitter", fault={
            "match": "^/2/tweets$", "count": 1, "status": 0,
            "drop": True})
        self.p.wait(lost, "published")
        self.w.net("twitter").control("expire", {"user": "alice"})
        self.p.wait(self.post(x, "after a renewal"), "published")
        refused = self.post(acc["linkedin"], "refused", network="linkedin",
                            fault={"match": "^/rest/posts$", "count": 1,
                                   "status": 422,
                                   "body": '{"message":"ERROR :: /author ::'
                                           ' field is required but not '
                                           'found","status":422}'})
        self.p.wait(refused, "failed")
        # The webhook receiver refuses, then takes the notices.
        self.hooks.status = 500
        self.w.net("linkedin").control("revoke", {"user": "alice"})
        self.w.api("POST", "/v1/accounts/%d/check" % acc["linkedin"])
        self.w.wait_status(acc["linkedin"], "disconnected")
        self.wait_notices(lambda ns: any(n["attempts"] >= 1 for n in ns
                                         if n["event_type"] ==
                                         "account.disconnected"))
        self.hooks.status = 200
        self.wait_notices(lambda ns: ns and all(
            n["status"] == "delivered" for n in ns))
        self.idle()
        return acc

    def notices(self):
        status, body = self.w.api("GET", "/v1/notices?limit=1000")
        self.assertEqual(status, 200, body)
        return body["notices"]

    def wait_notices(self, pred):
        self.w.wait_for(lambda: pred(self.notices()), 30, "notices")

    def attempts_by_network(self):
        tally = collections.Counter()
        for p in self.all_posts():
            status, post = self.w.api("GET", "/v1/posts/%d" % p["id"])
            for a in post["attempts_detail"]:
                tally[(p["network"], a["outcome"])] += 1
        return tally

    def test_figures_match_what_happened(self):
        acc = self.happen()
        attempts = self.attempts_by_network()
        posts = collections.Counter(
            (p["network"], p["status"]) for p in self.all_posts())
        accounts = collections.Counter(
            (a["network"], a["status"]) for a in self.w.accounts())
        delivered = failed = 0
        for n in self.notices():
            status, notice = self.w.api("GET", "/v1/notices/%d" % n["id"])
            for a in notice["attempt_log"]:
                if a["outcome"] == "delivered":
                    delivered += 1
                else:
                    failed += 1
        m = self.metrics()

        # Every outcome the attempts recorded, and nothing else.
        publish = m["herald_publish_attempts_total"]
        for network in ("facebook", "instagram", "linkedin", "twitter"):
            for outcome in ("done", "retry_later", "rate_limited",
                            "token_expired", "access_lost", "rejected",
                            "duplicate", "unknown"):
                self.assertEqual(
                    series(publish, network=network, outcome=outcome),
                    attempts[(network, outcome)], (network, outcome))
        # The figures the scenario made, spelled out.
        self.assertEqual(attempts[("twitter", "done")], 6)
        self.assertEqual(attempts[("twitter", "rate_limited")], 1)
        # A 503 to a create: unknown, sent again. A dropped answer:
        # unknown and sent again by herald, or sent again by libcurl on
        # a reused connection within the one attempt; either way X
        # answers the repeat as a duplicate.
        self.assertIn(attempts[("twitter", "unknown")], (1, 2))
        self.assertEqual(attempts[("twitter", "duplicate")], 1)
        self.assertEqual(attempts[("twitter", "token_expired")], 1)
        self.assertEqual(attempts[("linkedin", "rejected")], 1)

        # Gauges: as the API lists them.
        for (network, status), n in posts.items():
            self.assertEqual(series(m["herald_posts"], network=network,
                                    status=status), n, (network, status))
        for (network, status), n in accounts.items():
            self.assertEqual(series(m["herald_accounts"], network=network,
                                    status=status), n, (network, status))
        self.assertEqual(series(m["herald_accounts"], network="linkedin",
                                status="disconnected"), 1)
        self.assertEqual(series(m["herald_accounts"], network="linkedin",
                                status="active"), 0)
        self.assertEqual(series(m["herald_posts"], network="linkedin",
                                status="failed"), 1)

        # The keeper: one renewal after the expiry, one failed check.
        renewals = m["herald_token_renewals_total"]
        self.assertEqual(series(renewals, network="twitter",
                                outcome="renewed"), 1)
        self.assertEqual(series(renewals, network="twitter",
                                outcome="failed"), 0)
        checks = m["herald_account_checks_total"]
        self.assertEqual(series(checks, network="linkedin",
                                outcome="failed"), 1)

        # Requests to the networks.
        req = m["herald_network_requests_total"]
        self.assertGreaterEqual(series(req, network="twitter", **{
            "class": "2xx"}), 7)
        self.assertGreaterEqual(series(req, network="twitter", **{
            "class": "4xx"}), 1)
        self.assertGreaterEqual(series(req, network="twitter", **{
            "class": "5xx"}), 1)
        # The dropped answer: a transport error herald saw, or nothing
        # when libcurl sent the request again by itself on a reused
        # connection (herald counts that request once).
        errors = series(req, network="twitter", **{"class": "error"})
        self.assertIn(errors, (0, 1))
        self.assertGreaterEqual(series(req, network="linkedin", **{
            "class": "4xx"}), 2)
        self.assertEqual(series(req, network="facebook", **{
            "class": "2xx"}), 0)
        sent = [r for r in self.w.net("twitter").requests
                if r.get("path") != "/i/oauth2/authorize"]
        self.assertEqual(sum(series(req, network="twitter", **{"class": c})
                             for c in ("2xx", "3xx", "4xx", "5xx",
                                       "error")) + (1 - errors), len(sent))

        # One rate limit, with the wait X announced.
        self.assertEqual(series(m["herald_rate_limits_total"],
                                network="twitter"), 1)
        wait = series(m["herald_rate_limit_wait_seconds_total"],
                      network="twitter")
        self.assertGreater(wait, 0)
        self.assertLessEqual(wait, 3)

        # Lateness: one observation per first attempt.
        late = m["herald_publish_lateness_seconds"]
        self.assertEqual(series(late, network="twitter", le="+Inf"), 7)
        self.assertEqual(series(late, network="linkedin", le="+Inf"), 1)

        # The API, by route pattern: never a raw id.
        api = m["herald_api_requests_total"]
        self.assertEqual(series(api, method="POST", route="/v1/posts",
                                code="2xx"), self.created)
        self.assertGreaterEqual(series(api, method="GET",
                                       route="/v1/posts/:id", code="2xx"),
                                len(self.all_posts()))
        for (_, labels), _ in api["samples"].items():
            self.assertNotRegex(dict(labels)["route"], r"/[0-9]+(/|$)")
        dur = m["herald_api_request_duration_seconds"]
        self.assertEqual(series(dur, method="POST", route="/v1/posts",
                                le="+Inf"), self.created)

        # Notices: every attempt the notices API shows.
        na = m["herald_notice_attempts_total"]
        self.assertGreaterEqual(failed, 1)
        self.assertEqual(series(na, channel="webhook",
                                outcome="delivered"), delivered)
        self.assertEqual(series(na, channel="webhook", outcome="failed"),
                         failed)
        self.assertEqual(series(na, channel="email", outcome="delivered"),
                         0)
        self.assertEqual(series(m["herald_notices_failed_total"],
                                channel="webhook"), 0)

        # The process.
        self.assertEqual(series(m["herald_build_info"],
                                version=self.version()), 1)
        start = m["herald_start_time_seconds"]["samples"][
            ("herald_start_time_seconds", ())]
        self.assertLess(abs(start - time.time()), 600)
        self.assertLessEqual(start, time.time())
        self.assertTrue(acc)

    def version(self):
        status, health = self.w.api("GET", "/v1/health", key=None)
        return health["version"]

    def test_key_needed_unless_public(self):
        resp, text = self.scrape(key=None)
        self.assertEqual(resp.status, 401, text)
        self.assertEqual(resp.getheader("WWW-Authenticate"), "Bearer")
        resp, text = self.scrape(key="wrong-key")
        self.assertEqual(resp.status, 401, text)
        self.assertNotIn("herald_", text)
        m = self.metrics()
        self.assertGreaterEqual(series(m["herald_api_requests_total"],
                                       method="GET", route="/metrics",
                                       code="4xx"), 2)
        # Only GET; other methods name the one allowed.
        resp, text = self.w.daemon.request("POST", "/metrics", key=API_KEY)
        self.assertEqual(resp.status, 405, text)
        self.assertEqual(resp.getheader("Allow"), "GET")

        self.w.env.config["metrics_public"] = True
        self.w.env.write_config()
        self.w.restart()
        resp, text = self.scrape(key=None)
        self.assertEqual(resp.status, 200, text)
        families = parse_exposition(text)
        self.assertIn("herald_posts", families)
        # Counters start again with the process.
        self.assertEqual(series(families["herald_publish_attempts_total"],
                                network="twitter", outcome="done"), 0)
        # The rest of the API still needs its key.
        status, body = self.w.api("GET", "/v1/accounts", key=None)
        self.assertEqual(status, 401, body)


class ParserTest(unittest.TestCase):
    """The strict parser above must refuse what breaks the format."""

    GOOD = ("# HELP a_total A.\n# TYPE a_total counter\n"
            'a_total{x="1"} 1\n')

    def test_refusals(self):
        parse_exposition(self.GOOD)
        parse_exposition("# HELP a A.\n# TYPE a gauge\na 1\n")
        bad = [
            'a_total{x="1"} 1\n',                            # no HELP
            self.GOOD + 'a_total{x="1"} 2\n',                # twice
            "# HELP a A.\n# TYPE a counter\na 1\n",          # no _total
            self.GOOD.replace('x="1"', 'x="1",x="2"'),       # label twice
            self.GOOD.replace('x="1"', 'x="a"b"'),           # bad quote
            "# HELP h H.\n# TYPE h histogram\n"
            'h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\n'
            "h_sum 1\nh_count 1\n",                          # not cumul.
            "# HELP h H.\n# TYPE h histogram\n"
            'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',   # count
        ]
        for text in bad:
            with self.assertRaises((AssertionError, ValueError), msg=text):
                parse_exposition(text)


if __name__ == "__main__":
    unittest.main()
