#!/usr/bin/env python3
"""docs/openapi.json against the code and the running daemon.

The document must be sound OpenAPI 3.1 (every $ref resolves, every
operation named once and its path parameters declared); its operations
must be exactly the routes of the route tables in core/api*.c, open
exactly where the code needs no key; docs/api.md must have a heading for
each. Then the real daemon, with the real plugins against the sandbox
networks, a mail sink and a webhook receiver, answers realistic requests
to every documented operation, and errors where they can be caused:
every status must be documented for its operation and every JSON body
must match the documented schema, checked by the small validator below.
An operation never called fails the test.
"""

import http.client
import json
import os
import re
import sqlite3
import unittest
import urllib.parse

from harness import API_KEY, Daemon, Env
from mailsink import MailSink
from test_accounts import collect_secrets
from webhooks import WebhookListener
from world import World, post_body

SOURCE = os.environ["HERALD_SOURCE_DIR"]
DOC_PATH = os.path.join(SOURCE, "docs", "openapi.json")
GUIDE_PATH = os.path.join(SOURCE, "docs", "api.md")
METHODS = ("get", "post", "put", "patch", "delete")
ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*"([^"]+)"'
                   r'\s*,\s*(\w+)\s*,')
# How a route table says whether a route needs a key: open (no key), or
# keyed; /metrics needs one unless metrics_public says otherwise, and is
# documented as it is by default.
OPEN = {"1": True, "0": False, "API_OPEN_IF_METRICS_PUBLIC": False}
HEADING = re.compile(r"^#+ `(GET|POST|PUT|PATCH|DELETE) (/\S+)`\s*$", re.M)
LINK = re.compile(r"http://127\.0\.0\.1:\d+(/v1/r/[A-Za-z0-9_-]{43})")
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                       r"(Z|[+-]\d\d:\d\d)$")
WEBHOOK_SECRET = "whsec-openapi-PLANTED-1f2e3d"
SMTP_USER = "herald-mailer"
SMTP_PASSWORD = "smtp-openapi-PLANTED-9a8b"


def load_doc():
    with open(DOC_PATH) as f:
        return json.load(f)


def code_routes():
    """(METHOD, /path/{param}, open) of every route table entry."""
    routes = set()
    core = os.path.join(SOURCE, "core")
    for name in sorted(os.listdir(core)):
        if not re.match(r"^api(_\w+)?\.c$", name):
            continue
        with open(os.path.join(core, name)) as f:
            for method, path, open_ in ROUTE.findall(f.read()):
                path = re.sub(r":(\w+)", r"{\1}", path)
                if open_ not in OPEN:
                    raise AssertionError("%s: %s %s: unknown openness %r"
                                         % (name, method, path, open_))
                routes.add((method, path, OPEN[open_]))
    return routes


def doc_routes(doc):
    return {(m.upper(), path, op.get("security") == [])
            for path, item in doc["paths"].items()
            for m, op in item.items() if m in METHODS}


# -- a JSON Schema validator for the subset the document uses ------------

KNOWN = {"type", "properties", "required", "additionalProperties",
         "items", "enum", "$ref", "oneOf", "anyOf", "format", "minimum",
         "maximum", "minLength", "maxLength", "pattern", "description",
         "title"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and
    not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def resolve(doc, ref):
    if not ref.startswith("#/"):
        raise AssertionError("only local $refs: " + ref)
    node = doc
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            raise AssertionError("unresolved $ref " + ref)
        node = node[part]
    return node


def unchecked(schema, where="$"):
    """The keywords of schema and its subschemas the validator does not
    check."""
    found = ["%s: %s" % (where, k) for k in sorted(set(schema) - KNOWN)]
    for name, sub in schema.get("properties", {}).items():
        found += unchecked(sub, where + "." + name)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += unchecked(schema[key], where + "." + key)
    for key in ("oneOf", "anyOf"):
        for i, sub in enumerate(schema.get(key, [])):
            found += unchecked(sub, "%s.%s[%d]" % (where, key, i))
    return found


def errors(doc, schema, value, where="$"):
    """Every way value breaks schema, as strings naming where."""
    unknown = set(schema) - KNOWN
    if unknown:
        return ["%s: the schema uses unchecked keywords %s" %
                (where, sorted(unknown))]
    if "$ref" in schema:
        return errors(doc, resolve(doc, schema["$ref"]), value, where)
    found = []
    if "type" in schema:
        types = schema["type"]
        types = types if isinstance(types, list) else [types]
        if not any(TYPES[t](value) for t in types):
            return ["%s: %r is not %s" % (where, value, "/".join(types))]
    if "enum" in schema and value not in schema["enum"]:
        found.append("%s: %r is not one of %s" %
                     (where, value, schema["enum"]))
    if isinstance(value, str):
        if schema.get("format") == "date-time" and \
                not DATE_TIME.match(value):
            found.append("%s: %r is not a date-time" % (where, value))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append("%s: %r does not match %s" %
                         (where, value, schema["pattern"]))
        if len(value) < schema.get("minLength", 0) or \
                len(value) > schema.get("maxLength", len(value)):
            found.append("%s: %r has the wrong length" % (where, value))
    if TYPES["number"](value):
        if value < schema.get("minimum", value) or \
                value > schema.get("maximum", value):
            found.append("%s: %r is out of range" % (where, value))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append("%s: '%s' is missing" % (where, name))
        extra = schema.get("additionalProperties", True)
        for name, v in value.items():
            if name in props:
                found += errors(doc, props[name], v, where + "." + name)
            elif extra is False:
                found.append("%s: '%s' is not documented" % (where, name))
            elif isinstance(extra, dict):
                found += errors(doc, extra, v, where + "." + name)
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            found += errors(doc, schema["items"], v, "%s[%d]" % (where, i))
    if "oneOf" in schema:
        ok = [s for s in schema["oneOf"] if not errors(doc, s, value, where)]
        if len(ok) != 1:
            found.append("%s: %r matches %d of oneOf" %
                         (where, value, len(ok)))
    if "anyOf" in schema:
        if all(errors(doc, s, value, where) for s in schema["anyOf"]):
            found.append("%s: %r matches none of anyOf" % (where, value))
    return found


class ValidatorTest(unittest.TestCase):
    """The validator itself catches what it is there to catch."""

    def test_it_fails_where_it_should(self):
        doc = {"components": {"schemas": {"A": {
            "type": "object", "properties": {
                "n": {"type": ["integer", "null"]},
                "s": {"type": "string", "enum": ["x"]},
                "t": {"type": "string", "format": "date-time"}},
            "required": ["n"], "additionalProperties": False}}}}
        a = {"$ref": "#/components/schemas/A"}
        self.assertEqual(errors(doc, a, {"n": None, "s": "x",
                                         "t": "2026-12-03T10:00:00.000Z"}),
                         [])
        for bad in ({}, {"n": True}, {"n": 1, "s": "y"}, {"n": 1, "z": 1},
                    {"n": 1, "t": "yesterday"}, []):
            self.assertTrue(errors(doc, a, bad), bad)
        self.assertTrue(errors(doc, {"typo": 1}, 1))
        with self.assertRaises(AssertionError):
            errors(doc, {"$ref": "#/components/schemas/B"}, 1)
        one = {"oneOf": [{"type": "integer"}, {"type": "number"}]}
        self.assertTrue(errors(doc, one, 3))
        self.assertEqual(errors(doc, one, 3.5), [])


# -- the document on its own and against the code ------------------------

class DocumentTest(unittest.TestCase):
    def setUp(self):
        self.doc = load_doc()

    def test_structure(self):
        doc = self.doc
        self.assertRegex(doc["openapi"], r"^3\.1\.\d+$")
        for key in ("title", "version"):
            self.assertTrue(doc["info"].get(key), key)
        with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
            version = re.search(r"project\(herald VERSION (\S+)",
                                f.read()).group(1)
        self.assertEqual(doc["info"]["version"], version)
        self.assertTrue(doc["servers"])
        scheme = doc["components"]["securitySchemes"]
        self.assertEqual(len(doc["security"]), 1)
        (name,) = doc["security"][0]
        self.assertEqual(scheme[name]["type"], "http")
        self.assertEqual(scheme[name]["scheme"], "bearer")

        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    resolve(doc, node["$ref"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(doc)

        ids = []
        for path, item in doc["paths"].items():
            declared_in_path = set(re.findall(r"\{(\w+)\}", path))
            for method, op in item.items():
                self.assertIn(method, METHODS, path)
                where = "%s %s" % (method.upper(), path)
                self.assertTrue(op.get("operationId"), where)
                ids.append(op["operationId"])
                self.assertTrue(op.get("responses"), where)
                for status, resp in op["responses"].items():
                    self.assertRegex(status, r"^[1-5]\d\d$", where)
                    self.assertTrue(resp.get("description"), where)
                    for media in resp.get("content", {}).values():
                        self.assertIn("$ref", media["schema"], where)
                params = [p for p in op.get("parameters", [])]
                in_path = {p["name"] for p in params if p["in"] == "path"}
                self.assertEqual(in_path, declared_in_path, where)
                for p in params:
                    self.assertIn(p["in"], ("path", "query", "header"))
                    if p["in"] == "path":
                        self.assertIs(p.get("required"), True, where)
                body = op.get("requestBody")
                if body:
                    for media in body["content"].values():
                        self.assertIn("$ref", media["schema"], where)
        self.assertEqual(len(ids), len(set(ids)), "operationIds repeat")
        # Every schema is used, and each is one the validator can check.
        text = json.dumps(doc["paths"]) + json.dumps(
            doc["components"]["schemas"])
        for name, schema in doc["components"]["schemas"].items():
            self.assertIn('"#/components/schemas/%s"' % name, text, name)
            self.assertEqual(unchecked(schema), [], name)

    def test_routes_match_the_code(self):
        in_code = code_routes()
        self.assertGreater(len(in_code), 20, "the route tables were not "
                           "found in core/api*.c")
        in_doc = doc_routes(self.doc)
        code_ops = {r[:2] for r in in_code}
        doc_ops = {r[:2] for r in in_doc}
        self.assertEqual(code_ops - doc_ops, set(),
                         "routes without documentation")
        self.assertEqual(doc_ops - code_ops, set(),
                         "documented routes that do not exist")
        self.assertEqual(in_doc, in_code, "open routes differ: the code "
                         "needs no key exactly where security is []")

    def test_the_guide_has_a_heading_per_route(self):
        with open(GUIDE_PATH) as f:
            guide = f.read()
        headings = set(HEADING.findall(guide))
        routes = {r[:2] for r in doc_routes(self.doc)}
        self.assertEqual(routes - headings, set(), "missing in api.md")
        self.assertEqual(headings - routes, set(), "api.md headings for "
                         "routes that do not exist")
        self.assertIn("openapi.json", guide.split("\n## ")[0])


# -- the document against the running daemon -----------------------------

class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.doc = load_doc()
        self.called = {}
        self.link_tokens = set()
        self.sink = MailSink(SMTP_USER, SMTP_PASSWORD).start()
        self.hooks = WebhookListener(WEBHOOK_SECRET).start()
        self.w = World(networks=["twitter", "linkedin"], engine={
            "test_clock": True,
            "smtp_url": self.sink.url,
            "smtp_from": "Herald notices <notices@herald.test>",
            "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "webhook_url": self.hooks.url,
            "webhook_secret": WEBHOOK_SECRET,
            "store_busy_timeout_ms": 100,
        }).start()

    def tearDown(self):
        secrets = {WEBHOOK_SECRET, SMTP_PASSWORD}
        for net in self.w.sandbox.networks.values():
            if net.settings.get("client_secret"):
                secrets.add(net.settings["client_secret"])
            collect_secrets(net.state(), secrets)
        secrets |= self.link_tokens
        log = self.w.daemon.read_log()
        self.assertEqual(self.w.stop(), 0)
        self.hooks.stop()
        self.sink.stop()
        for secret in secrets:
            self.assertNotIn(secret, log, "a secret reached the log")

    # -- calling and checking ------------------------------------------

    def operation(self, method, path):
        """The documented (template, operation) for a concrete path."""
        found = []
        for template, item in self.doc["paths"].items():
            op = item.get(method.lower())
            pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+",
                                   re.escape(template)) + "$"
            if op and re.match(pattern, path):
                found.append((template.count("{"), template, op))
        self.assertTrue(found, "%s %s is not documented" % (method, path))
        found.sort()
        return found[0][1], found[0][2]

    def call(self, method, path, body=None, key=API_KEY, headers=None,
             accept="application/json", raw=None, port=None):
        """Calls the daemon and checks the answer against the document.
        Returns (status, parsed JSON or text, headers)."""
        template, op = self.operation(method, path.split("?")[0])
        h = {"Accept": accept}
        h.update(headers or {})
        if key:
            h["Authorization"] = "Bearer " + key
        data = raw if raw is not None else (
            json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(
            "127.0.0.1", port or self.w.daemon.port, timeout=20)
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        got = {k.lower(): v for k, v in resp.getheaders()}
        status = str(resp.status)
        where = "%s %s -> %s: %s" % (method, path, status, text[:300])
        self.called.setdefault((method.upper(), template), set()).add(status)
        if resp.status < 300:
            self.check_request(op, path, body if raw is None else None,
                               headers or {}, where)
        self.assertIn(status, op["responses"], "undocumented status: " +
                      where)
        documented = op["responses"][status]
        for name in documented.get("headers", {}):
            self.assertIn(name.lower(), got, where)
        content = documented.get("content", {})
        if not content:
            return resp.status, text, got
        media = got.get("content-type", "").split(";")[0].strip()
        self.assertIn(media, content, "undocumented content type: " + where)
        if media != "application/json":
            return resp.status, text, got
        value = json.loads(text)
        problems = errors(self.doc, content[media]["schema"], value)
        self.assertEqual(problems, [], where)
        return resp.status, value, got

    def check_request(self, op, path, body, headers, where):
        """A request that succeeded uses only documented parameters, and
        its body matches the documented request body."""
        params = {(p["in"], p["name"].lower()) for p in
                  op.get("parameters", [])}
        query = urllib.parse.urlsplit(path).query
        for name, _ in urllib.parse.parse_qsl(query):
            self.assertIn(("query", name.lower()), params, where)
        for name in headers:
            if name.lower() not in ("content-type", "accept"):
                self.assertIn(("header", name.lower()), params, where)
        if body is not None:
            self.assertIn("requestBody", op, where)
            schema = op["requestBody"]["content"]["application/json"]
            self.assertEqual(errors(self.doc, schema["schema"], body), [],
                             "the request breaks its schema: " + where)

    def expect(self, status, method, path, *args, **kw):
        got, body, headers = self.call(method, path, *args, **kw)
        self.assertEqual(got, status, "%s %s: %s" % (method, path, body))
        return body

    def error_code(self, status, code, method, path, *args, **kw):
        body = self.expect(status, method, path, *args, **kw)
        self.assertEqual(body["error"]["code"], code, body)
        return body

    def browse(self, url):
        """The person's browser on a sandbox network: one step."""
        status, headers, body = self.w.browse(url, accept="text/html")
        self.assertEqual(status, 302, body)
        return headers["Location"]

    def callback_path(self, network, user, deny=False, **kw):
        """Runs the login up to the network's redirect back; returns the
        callback's path and query, not yet called."""
        self.w.net(network).control("login", {"user": user, "deny": deny})
        location = self.browse(self.login_url(network, **kw))
        parts = urllib.parse.urlsplit(location)
        self.assertEqual(parts.port, self.w.port, location)
        return parts.path + "?" + parts.query

    def login_url(self, network, owner="owner-1", account_id=None,
                  return_url=None):
        body = {"network": network, "owner_id": owner,
                "owner_email": "o@example.test"}
        if return_url:
            body["return_url"] = return_url
        if account_id:
            return self.expect(201, "POST", "/v1/accounts/%d/reauthorize"
                               % account_id)["url"]
        return self.expect(201, "POST", "/v1/connect", body)["url"]

    def connect(self, network, user, **kw):
        body = self.expect(200, "GET", self.callback_path(network, user,
                                                          **kw))
        self.assertIn(body["code"], ("connected", "reconnected"), body)
        return body["account_id"]

    def create(self, accounts, **fields):
        body = self.expect(202, "POST", "/v1/posts",
                           post_body(accounts, **fields))
        return body["posts"][0]["id"]

    def wait_post(self, post_id, status):
        return self.w.wait_for(
            lambda: (lambda p: p if p["status"] == status else None)(
                self.expect(200, "GET", "/v1/posts/%d" % post_id)),
            30, "post %d to be %s" % (post_id, status))

    # -- the scenario --------------------------------------------------

    def test_every_operation_answers_as_documented(self):
        self.daemon_routes()
        alice, bob = self.connecting()
        self.accounts(alice, bob)
        self.posts(alice)
        self.bulk(alice)
        self.notices_and_link(alice)
        self.events()
        self.store_locked(bob)
        self.removal()
        self.clock_without_test_clock()
        self.too_many_failures()
        documented = {(m.upper(), p) for p, item in
                      self.doc["paths"].items() for m in item
                      if m in METHODS}
        self.assertEqual(documented - set(self.called), set(),
                         "documented operations never called")

    def daemon_routes(self):
        health = self.expect(200, "GET", "/v1/health", key=None)
        self.assertEqual(health["status"], "ok")
        nets = self.expect(200, "GET", "/v1/networks")["networks"]
        self.assertEqual({n["name"] for n in nets if n["enabled"]},
                         {"twitter", "linkedin"})
        self.error_code(401, "unauthorized", "GET", "/v1/networks",
                        key=None)
        _, text, headers = self.call("GET", "/metrics", accept="text/plain")
        self.assertIn("# TYPE herald_build_info gauge", text)
        self.assertEqual(headers["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        self.error_code(401, "unauthorized", "GET", "/metrics", key=None)
        clock = self.expect(200, "POST", "/v1/test/clock",
                            {"advance_s": 0})
        self.assertEqual(clock["offset_ms"], 0)
        self.error_code(400, "invalid_field", "POST", "/v1/test/clock",
                        {"advance_s": -1})
        self.error_code(400, "invalid_json", "POST", "/v1/test/clock",
                        raw="{")
        self.error_code(413, "body_too_large", "POST", "/v1/test/clock",
                        raw=json.dumps({"advance_s": 0, "pad": "x" * 5000}))

    def connecting(self):
        self.error_code(400, "invalid_field", "POST", "/v1/connect",
                        {"owner_id": "owner-1"})
        self.error_code(400, "return_url_not_allowed", "POST",
                        "/v1/connect", {"network": "twitter",
                                        "owner_id": "owner-1",
                                        "return_url": "http://evil.test/"})
        self.error_code(404, "unknown_network", "POST", "/v1/connect",
                        {"network": "myspace", "owner_id": "owner-1"})
        self.error_code(400, "invalid_body", "POST", "/v1/connect",
                        raw="[]")
        self.error_code(401, "unauthorized", "POST", "/v1/connect",
                        {"network": "twitter"}, key="wrong")

        alice = self.connect("twitter", "alice")
        # A person's browser gets a page; with a return_url, a redirect.
        status, page, headers = self.call(
            "GET", self.callback_path("linkedin", "bob"), accept="text/html")
        self.assertEqual(status, 200, page)
        self.assertIn("Connected", page)
        bob = self.expect(200, "GET", "/v1/accounts?network=linkedin")[
            "accounts"][0]["id"]
        status, _, headers = self.call(
            "GET", self.callback_path("linkedin", "dave",
                                      return_url="http://app.example/x"),
            accept="text/html")
        self.assertEqual(status, 302)
        self.assertIn("status=connected", headers["location"])
        # Refusals.
        body = self.expect(403, "GET", self.callback_path(
            "twitter", "erin", deny=True))
        self.assertEqual(body["code"], "access_denied")
        body = self.expect(400, "GET",
                           "/v1/oauth/twitter/callback?state=forged&code=c",
                           key=None)
        self.assertEqual(body["code"], "invalid_state")
        body = self.expect(400, "GET", "/v1/oauth/twitter/callback?code=c")
        self.assertEqual(body["code"], "invalid_state")
        body = self.expect(404, "GET", "/v1/oauth/myspace/callback?state=s")
        self.assertEqual(body["code"], "unknown_network")
        path = self.callback_path("twitter", "alice")
        body = self.expect(400, "GET", re.sub(r"&?code=[^&]*", "", path))
        self.assertEqual(body["code"], "missing_code")
        body = self.expect(409, "GET", self.callback_path(
            "twitter", "alice", owner="owner-2"))
        self.assertEqual(body["code"], "already_connected")
        x = self.w.net("twitter")
        x.control("fault", {"match": "^/2/oauth2/token$", "count": 5,
                            "status": 503, "body": "{}"})
        body = self.expect(502, "GET", self.callback_path("twitter", "gus"))
        self.assertEqual(body["code"], "network_unavailable")
        x.control("clear_faults", {})
        return alice, bob

    def accounts(self, alice, bob):
        listed = self.expect(200, "GET", "/v1/accounts?limit=1")
        self.assertEqual(len(listed["accounts"]), 1)
        self.assertIsNotNone(listed["next"])
        listed = self.expect(200, "GET", "/v1/accounts?owner=owner-1&"
                             "status=active&after=%d" % listed["next"])
        self.assertTrue(listed["accounts"])
        self.error_code(400, "invalid_query", "GET",
                        "/v1/accounts?status=sleeping")
        self.error_code(400, "invalid_query", "GET", "/v1/accounts?limit=0")
        account = self.expect(200, "GET", "/v1/accounts/%d" % alice)
        self.assertEqual(account["owner"]["id"], "owner-1")
        self.error_code(404, "not_found", "GET", "/v1/accounts/999999")
        self.error_code(404, "not_found", "GET", "/v1/accounts/abc")
        body = self.expect(202, "POST", "/v1/accounts/%d/check" % bob)
        self.assertEqual(body, {"id": bob, "check": "planned"})
        self.error_code(404, "not_found", "POST", "/v1/accounts/999999/check")
        url = self.expect(201, "POST", "/v1/accounts/%d/reauthorize" % bob,
                          {"return_url": "http://app.example/again"})["url"]
        self.assertTrue(url.startswith(self.w.sandbox.base("linkedin")))
        self.expect(201, "POST", "/v1/accounts/%d/reauthorize" % bob)
        self.error_code(404, "not_found", "POST",
                        "/v1/accounts/999999/reauthorize")
        self.error_code(400, "invalid_field", "POST",
                        "/v1/accounts/%d/reauthorize" % bob,
                        {"return_url": 7})

    def posts(self, alice):
        valid = self.expect(200, "POST", "/v1/posts/validate",
                            post_body([alice]))
        self.assertEqual(valid["valid"], True, valid)
        invalid = self.expect(200, "POST", "/v1/posts/validate",
                              post_body([alice, 999999], text="x" * 300))
        self.assertEqual({p["rule"] for p in invalid["problems"]},
                         {"text_too_long", "account_not_found"})
        self.error_code(400, "invalid_json", "POST", "/v1/posts/validate",
                        raw="{]")

        body = post_body([alice], text="first, with a key")
        key = {"Idempotency-Key": "openapi-1"}
        first = self.expect(202, "POST", "/v1/posts", body, headers=key)
        again = self.expect(202, "POST", "/v1/posts", body, headers=key)
        self.assertEqual(first, again)
        self.error_code(409, "idempotency_conflict", "POST", "/v1/posts",
                        post_body([alice], text="another"), headers=key)
        self.error_code(400, "invalid_idempotency_key", "POST", "/v1/posts",
                        body, headers={"Idempotency-Key": "k" * 201})
        self.error_code(422, "invalid_post", "POST", "/v1/posts",
                        post_body([alice], text="x" * 300))
        self.error_code(422, "invalid_post", "POST", "/v1/posts",
                        {"accounts": []})
        self.error_code(413, "body_too_large", "POST", "/v1/posts",
                        post_body([alice], text="x" * 5000))
        post_id = first["posts"][0]["id"]
        post = self.wait_post(post_id, "published")
        self.assertEqual(len(post["attempts_detail"]), 1, post)
        self.error_code(404, "not_found", "GET", "/v1/posts/999999")

        listed = self.expect(200, "GET", "/v1/posts?account=%d&status="
                             "published&since=2000-01-01T00:00:00Z&limit=5"
                             % alice)
        self.assertEqual([p["id"] for p in listed["posts"]], [post_id])
        self.error_code(400, "invalid_query", "GET", "/v1/posts?status=x")
        self.error_code(400, "invalid_query", "GET", "/v1/posts?until=soon")

        later = self.create([alice], text="for tomorrow",
                            scheduled_at="2099-01-01T00:00:00Z")
        canceled = self.expect(200, "POST", "/v1/posts/%d/cancel" % later)
        self.assertEqual(canceled["status"], "canceled")
        self.error_code(409, "wrong_status", "POST",
                        "/v1/posts/%d/cancel" % later)
        self.error_code(404, "not_found", "POST", "/v1/posts/999999/cancel")

        self.w.net("twitter").control("fault", {
            "match": "^/2/tweets$", "count": 1, "status": 400,
            "body": '{"errors":[{"parameters":{},"message":"bad"}],'
                    '"title":"Invalid Request","detail":"invalid",'
                    '"type":"https://api.twitter.com/2/problems/'
                    'invalid-request"}'})
        failed = self.create([alice], text="refused once")
        self.wait_post(failed, "failed")
        retried = self.expect(200, "POST", "/v1/posts/%d/retry" % failed)
        self.assertEqual(retried["status"], "scheduled")
        self.wait_post(failed, "published")
        self.error_code(409, "wrong_status", "POST",
                        "/v1/posts/%d/retry" % failed)
        self.error_code(404, "not_found", "POST", "/v1/posts/999999/retry")

    def bulk(self, alice):
        for verb in ("release", "cancel-blocked", "retry-failed"):
            body = self.expect(200, "POST", "/v1/accounts/%d/%s"
                               % (alice, verb))
            self.assertEqual(body, {"moved": 0})
            self.error_code(404, "not_found", "POST",
                            "/v1/accounts/999999/" + verb)
            body = self.expect(200, "POST", "/v1/networks/linkedin/" + verb)
            self.assertEqual(body, {"moved": 0})
            self.error_code(404, "not_found", "POST",
                            "/v1/networks/myspace/" + verb)

    def notices_and_link(self, alice):
        # A revoked account: its posts are held, its owner gets an email
        # with a one-time link, the app a webhook.
        self.w.net("twitter").control("revoke", {"user": "alice"})
        self.expect(202, "POST", "/v1/accounts/%d/check" % alice)
        self.w.wait_status(alice, "disconnected")
        self.error_code(409, "not_connected", "POST",
                        "/v1/accounts/%d/check" % alice)
        body = self.expect(202, "POST", "/v1/posts",
                           post_body([alice], text="held"))
        self.assertEqual(body["warnings"][0]["code"], "account_disconnected")
        held = body["posts"][0]["id"]
        self.wait_post(held, "blocked")
        self.assertEqual(self.w.account(alice)["blocked_posts"], 1)
        self.error_code(409, "not_connected", "POST",
                        "/v1/accounts/%d/release" % alice)
        body = self.expect(200, "POST", "/v1/networks/twitter/release")
        self.assertEqual(body, {"moved": 1})
        self.wait_post(held, "blocked")
        body = self.expect(200, "POST",
                           "/v1/accounts/%d/cancel-blocked" % alice)
        self.assertEqual(body, {"moved": 1})
        second = self.create([alice], text="held, then canceled")
        self.wait_post(second, "blocked")
        body = self.expect(200, "POST", "/v1/networks/twitter/cancel-blocked")
        self.assertEqual(body, {"moved": 1})

        self.w.wait_for(lambda: self.sink.count() >= 1, 20, "an email")
        self.w.wait_for(lambda: all(
            n["status"] == "delivered" for n in self.expect(
                200, "GET", "/v1/notices?account=%d" % alice)["notices"]),
            20, "the notices to be delivered")
        notices = self.expect(200, "GET", "/v1/notices?account=%d&status="
                              "delivered&limit=10" % alice)["notices"]
        self.assertEqual({n["channel"] for n in notices},
                         {"email", "webhook"}, notices)
        self.expect(200, "GET", "/v1/notices?channel=webhook&type="
                    "account.disconnected")
        self.error_code(400, "invalid_query", "GET", "/v1/notices?channel=fax")
        self.error_code(400, "invalid_query", "GET", "/v1/notices?after=-1")
        for n in notices:
            notice = self.expect(200, "GET", "/v1/notices/%d" % n["id"])
            self.assertEqual(notice["attempt_log"][0]["outcome"],
                             "delivered", notice)
        self.error_code(404, "not_found", "GET", "/v1/notices/999999")

        text = self.sink.messages()[0].get_body(
            preferencelist=("plain",)).get_content()
        link = LINK.search(text).group(1)
        self.link_tokens.add(link.rsplit("/", 1)[1])
        self.w.net("twitter").control("login", {"user": "alice"})
        status, page, headers = self.call("GET", link, key=None,
                                          accept="text/html")
        self.assertEqual(status, 302, page)
        location = self.browse(headers["location"])
        parts = urllib.parse.urlsplit(location)
        body = self.expect(200, "GET", parts.path + "?" + parts.query)
        self.assertEqual(body["code"], "reconnected")
        self.assertEqual(body["account_id"], alice)
        status, page, _ = self.call("GET", link, key=None,
                                    accept="text/html")
        self.assertEqual(status, 410, page)
        status, page, _ = self.call("GET", "/v1/r/" + "A" * 43, key=None,
                                    accept="text/html")
        self.assertEqual(status, 404, page)

    def events(self):
        events = self.expect(200, "GET", "/v1/events?limit=1000")["events"]
        types = {e["type"] for e in events}
        for t in ("account.connected", "account.disconnected",
                  "account.reconnected", "post.created", "post.published",
                  "post.blocked", "post.canceled", "post.retried"):
            self.assertIn(t, types)
        page = self.expect(200, "GET", "/v1/events?limit=2&type=post."
                           "created&since=2000-01-01T00:00:00Z")
        self.assertEqual(len(page["events"]), 2)
        self.expect(200, "GET", "/v1/events?after=%d" % page["next"])
        self.error_code(400, "invalid_query", "GET", "/v1/events?since=x")
        self.error_code(400, "invalid_query", "GET", "/v1/events?account=0")

    def store_locked(self, bob):
        """Another process holds the store's write lock: whatever needs
        to write answers 503 and changes nothing."""
        later = self.create([bob], text="not yet",
                            scheduled_at="2099-01-01T00:00:00Z")
        posts = self.expect(200, "GET", "/v1/posts")["posts"]
        db = sqlite3.connect(self.w.env.path("herald.db"),
                             isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        try:
            health = self.expect(503, "GET", "/v1/health", key=None)
            self.assertEqual(health["status"], "unhealthy")
            self.assertFalse(health["store"]["ok"])
            self.error_code(503, "store_unavailable", "POST", "/v1/posts",
                            post_body([bob], text="not stored"))
            self.error_code(503, "unavailable", "POST", "/v1/connect",
                            {"network": "linkedin", "owner_id": "o-9"})
            self.error_code(503, "unavailable", "POST",
                            "/v1/accounts/%d/reauthorize" % bob)
            self.error_code(503, "unavailable", "POST",
                            "/v1/accounts/%d/check" % bob)
            self.error_code(503, "store_unavailable", "POST",
                            "/v1/posts/%d/cancel" % later)
            self.error_code(503, "store_unavailable", "POST",
                            "/v1/accounts/%d/cancel-blocked" % bob)
            self.error_code(503, "store_unavailable", "POST",
                            "/v1/networks/linkedin/retry-failed")
            self.error_code(503, "store_unavailable", "DELETE",
                            "/v1/accounts/%d" % bob)
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.expect(200, "GET", "/v1/health", key=None)
        self.assertEqual(self.expect(200, "GET", "/v1/posts")["posts"],
                         posts)
        self.assertEqual(self.w.account(bob)["status"], "active")
        self.expect(200, "POST", "/v1/posts/%d/cancel" % later)

    def removal(self):
        carol = self.connect("twitter", "carol")
        # A reauthorization under way when its account is removed.
        path = self.callback_path("twitter", "carol", account_id=carol)
        removal = self.expect(200, "DELETE", "/v1/accounts/%d" % carol)
        self.assertEqual(removal["revocation"], "revoked", removal)
        body = self.expect(410, "GET", path)
        self.assertEqual(body["code"], "account_removed")
        again = self.expect(200, "DELETE", "/v1/accounts/%d" % carol)
        self.assertEqual(again["revocation"], "none")
        self.error_code(404, "not_found", "DELETE", "/v1/accounts/999999")
        self.error_code(404, "not_found", "POST",
                        "/v1/accounts/%d/reauthorize" % carol)
        removed = self.expect(200, "GET", "/v1/accounts?status=removed")
        self.assertEqual([a["id"] for a in removed["accounts"]], [carol])

    def clock_without_test_clock(self):
        env = Env()
        try:
            daemon = Daemon(env)
            try:
                self.error_code(404, "not_found", "POST", "/v1/test/clock",
                                {"advance_s": 1}, port=daemon.port)
            finally:
                self.assertEqual(daemon.stop(), 0)
        finally:
            env.cleanup()

    def too_many_failures(self):
        # Last, as the refusals last the rest of the minute: every
        # operation that needs a key refuses a wrong one, 401 until the
        # failures reach the limit, then 429 even with the right key.
        seen = set()
        for path, item in sorted(self.doc["paths"].items()):
            for method, op in sorted(item.items()):
                if op.get("security") == []:
                    continue
                concrete = re.sub(r"\{name\}", "twitter",
                                  re.sub(r"\{\w+\}", "1", path))
                status, body, _ = self.call(method.upper(), concrete,
                                            key="guess")
                self.assertIn(status, (401, 429), body)
                seen.add(status)
        for _ in range(20):
            if 429 in seen:
                break
            status, body, _ = self.call("GET", "/v1/events", key="guess")
            seen.add(status)
        self.assertEqual(seen, {401, 429})
        self.error_code(429, "too_many_failures", "GET", "/v1/accounts",
                        key=API_KEY)

if __name__ == "__main__":
    unittest.main()
