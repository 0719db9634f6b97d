"""Tests of the sandbox Instagram network, over real HTTP on loopback.

Starts the sandbox server in-process on port 0 with a fresh Instagram
network for every test, drives it with urllib as the plugin would, and
checks Instagram's documented protocol (docs/networks/instagram.md) and
the test controls.
"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sandbox  # noqa: E402
import sandbox_instagram  # noqa: E402

CLIENT_ID = "sandbox-instagram-app"
SECRET = "sandbox-instagram-secret"
REDIRECT = "https://herald.test/v1/callback/instagram"
SCOPES = "instagram_business_basic,instagram_business_content_publish"
IMAGE = "https://cdn.test/cat.jpg"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class InstagramSandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = sandbox.SandboxServer([]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.net = sandbox_instagram.SandboxNetwork()
        self.server.networks["instagram"] = self.net
        self.base = self.server.base("instagram")
        self.root = "http://127.0.0.1:%d" % self.server.port

    # -- HTTP helpers ---------------------------------------------------------

    def call(self, method, path, query=None, form=None, base=None):
        url = (base or self.base) + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=data, method=method,
                                     headers=headers)
        try:
            with OPENER.open(req, timeout=5) as resp:
                body = resp.read()
                return resp.status, dict(resp.headers), body
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json_call(self, method, path, query=None, form=None):
        status, headers, body = self.call(method, path, query, form)
        return status, json.loads(body) if body else None, headers

    def control(self, action, body=None):
        req = urllib.request.Request(
            self.root + "/_control/instagram/" + action,
            data=json.dumps(body or {}).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with OPENER.open(req, timeout=5) as resp:
            self.assertEqual(resp.status, 200)
            return json.loads(resp.read())

    def read_control(self, action):
        status, _, body = self.call("GET", "/_control/instagram/" + action,
                                    base=self.root)
        self.assertEqual(status, 200)
        return json.loads(body)

    def authorize(self, scope=SCOPES, redirect=REDIRECT, state="s1"):
        status, headers, _ = self.call("GET", "/oauth/authorize", {
            "client_id": CLIENT_ID, "redirect_uri": redirect,
            "response_type": "code", "scope": scope, "state": state})
        return status, headers.get("Location", "")

    def code(self, **kw):
        status, location = self.authorize(**kw)
        self.assertEqual(status, 302)
        query = urllib.parse.urlsplit(location).query
        return urllib.parse.parse_qs(query)["code"][0]

    def exchange(self, code, redirect=REDIRECT, secret=SECRET):
        return self.json_call("POST", "/oauth/access_token", form={
            "client_id": CLIENT_ID, "client_secret": secret,
            "grant_type": "authorization_code", "redirect_uri": redirect,
            "code": code})

    def long_token(self, **kw):
        status, body, _ = self.exchange(self.code(**kw))
        self.assertEqual(status, 200)
        status, body, _ = self.json_call("GET", "/graph/access_token", {
            "grant_type": "ig_exchange_token", "client_secret": SECRET,
            "access_token": body["access_token"]})
        self.assertEqual(status, 200)
        return body["access_token"]

    def me(self, token):
        return self.json_call("GET", "/graph/v25.0/me", {
            "fields": "user_id,username", "access_token": token})

    def ig_id(self, user="alice"):
        return self.net.users[user]["ig_id"]

    def create(self, token, image=IMAGE, caption="hello"):
        return self.json_call(
            "POST", "/graph/v25.0/%s/media" % self.ig_id(),
            form={"image_url": image, "caption": caption,
                  "access_token": token})

    def status(self, token, cid):
        return self.json_call("GET", "/graph/v25.0/" + cid, {
            "fields": "status_code,status", "access_token": token})

    def publish(self, token, cid):
        return self.json_call(
            "POST", "/graph/v25.0/%s/media_publish" % self.ig_id(),
            {"creation_id": cid}, form={"access_token": token})

    def post_once(self, token, caption="hello"):
        status, body, _ = self.create(token, caption=caption)
        self.assertEqual(status, 200)
        cid = body["id"]
        self.assertEqual(self.status(token, cid)[1]["status_code"],
                         "FINISHED")
        return cid, self.publish(token, cid)

    def assert_error(self, answer, code, subcode=None, status=400):
        got_status, body, _ = answer
        self.assertEqual(got_status, status, body)
        self.assertEqual(body["error"]["code"], code, body)
        self.assertIn("message", body["error"])
        if subcode is not None:
            self.assertEqual(body["error"].get("error_subcode"), subcode,
                             body)
        self.assertIn("fbtrace_id", body["error"])
        return body["error"]

    def advance(self, seconds):
        self.control("clock", {"advance_s": seconds})

    # -- authorization --------------------------------------------------------

    def test_authorize_redirects_with_code_and_state(self):
        status, location = self.authorize()
        self.assertEqual(status, 302)
        self.assertTrue(location.startswith(REDIRECT + "?"))
        self.assertTrue(location.endswith("#_"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        self.assertEqual(query["state"], ["s1"])
        self.assertTrue(query["code"][0])

    def test_authorize_checks_app_and_scopes(self):
        status, _, body = self.call("GET", "/oauth/authorize", {
            "client_id": "other", "redirect_uri": REDIRECT,
            "response_type": "code", "scope": SCOPES})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error_type"], "OAuthException")
        self.assertEqual(self.authorize(
            scope="instagram_business_content_publish")[0], 400)
        self.assertEqual(self.authorize(scope="business_basic")[0], 400)
        self.assertEqual(self.authorize(
            scope="instagram_business_basic instagram_business_content_"
                  "publish")[0], 302)

    def test_deny_redirects_with_refusal_once(self):
        self.control("login", {"deny": True})
        status, location = self.authorize()
        self.assertEqual(status, 302)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        self.assertEqual(query["error"], ["access_denied"])
        self.assertEqual(query["error_reason"], ["user_denied"])
        self.assertEqual(query["state"], ["s1"])
        self.assertNotIn("code", query)
        self.assertIn("code=", self.authorize()[1])

    def test_code_exchange_flat_and_nested(self):
        status, body, _ = self.exchange(self.code())
        self.assertEqual(status, 200)
        self.assertTrue(body["access_token"].startswith("IGAA"))
        self.assertEqual(body["user_id"], int(self.ig_id()))
        self.assertEqual(body["permissions"], SCOPES)

        self.control("settings", {"token_shape": "nested"})
        status, body, _ = self.exchange(self.code())
        self.assertEqual(status, 200)
        self.assertEqual(body["data"][0]["user_id"], self.ig_id())
        self.assertTrue(body["data"][0]["access_token"])

    def test_codes_are_single_use_bound_and_expire(self):
        code = self.code()
        status, body, _ = self.exchange(code, redirect=REDIRECT + "/x")
        self.assertEqual(status, 400)
        self.assertIn("redirect_uri", body["error_message"])
        self.assertEqual(self.exchange(code, secret="wrong")[0], 400)
        self.assertEqual(self.exchange(code)[0], 200)
        status, body, _ = self.exchange(code)
        self.assertEqual(status, 400)
        self.assertEqual(body["code"], 400)
        self.assertIn("already used", body["error_message"])

        code = self.code()
        self.advance(3601)
        status, body, _ = self.exchange(code)
        self.assertEqual(status, 400)
        self.assertIn("expired", body["error_message"])

    def test_long_lived_token_and_identity(self):
        status, body, _ = self.exchange(self.code())
        short = body["access_token"]
        status, body, _ = self.json_call("GET", "/graph/access_token", {
            "grant_type": "ig_exchange_token", "client_secret": "wrong",
            "access_token": short})
        self.assertEqual(status, 400)
        status, body, _ = self.json_call("GET", "/graph/access_token", {
            "grant_type": "ig_exchange_token", "client_secret": SECRET,
            "access_token": short})
        self.assertEqual(status, 200)
        self.assertEqual(body["token_type"], "bearer")
        self.assertEqual(body["expires_in"], 5184000)
        status, me, _ = self.me(body["access_token"])
        self.assertEqual(status, 200)
        self.assertEqual(me["user_id"], self.ig_id())
        self.assertEqual(me["username"], "alice")
        self.assertNotEqual(me["id"], me["user_id"])
        # Unversioned paths work too.
        status, _, _ = self.json_call("GET", "/graph/me", {
            "access_token": body["access_token"]})
        self.assertEqual(status, 200)

    def test_short_token_expires_after_an_hour(self):
        status, body, _ = self.exchange(self.code())
        self.advance(3601)
        error = self.assert_error(self.me(body["access_token"]), 190, 463)
        self.assertIn("Session has expired", error["message"])
        self.assert_error(self.me("garbage"), 190)

    def test_refresh_rules(self):
        token = self.long_token()
        refresh = {"grant_type": "ig_refresh_token", "access_token": token}
        error = self.assert_error(self.json_call(
            "GET", "/graph/refresh_access_token", refresh), 100)
        self.assertIn("24 hours", error["message"])

        self.advance(86400 + 1)
        status, body, _ = self.json_call(
            "GET", "/graph/refresh_access_token", refresh)
        self.assertEqual(status, 200)
        self.assertEqual(body["expires_in"], 5184000)
        self.assertNotEqual(body["access_token"], token)
        self.assertEqual(self.me(body["access_token"])[0], 200)
        self.assertEqual(self.me(token)[0], 200)

        # The old token still dies at its own end; the new one lives on.
        self.advance(5184000 - 86400)
        self.assert_error(self.json_call(
            "GET", "/graph/refresh_access_token", refresh), 190, 463)
        self.assertEqual(self.me(body["access_token"])[0], 200)

    def test_refresh_same_token_setting(self):
        token = self.long_token()
        self.control("settings", {"refresh_same_token": True})
        self.advance(86401)
        status, body, _ = self.json_call(
            "GET", "/graph/refresh_access_token",
            {"grant_type": "ig_refresh_token", "access_token": token})
        self.assertEqual(status, 200)
        self.assertEqual(body["access_token"], token)

    def test_user_events(self):
        token = self.long_token()
        self.control("password", {"user": "alice"})
        self.assert_error(self.me(token), 190, 460)
        token = self.long_token()
        self.control("revoke", {"user": "alice"})
        error = self.assert_error(self.me(token), 190, 458)
        self.assertIn("has not authorized application", error["message"])
        token = self.long_token()
        self.assertEqual(self.me(token)[0], 200)
        self.control("expire", {"user": "alice"})
        self.assert_error(self.me(token), 190, 463)

    def test_permissions_control(self):
        token = self.long_token()
        self.control("permissions", {"user": "alice",
                                     "scopes": ["instagram_business_basic"]})
        error = self.assert_error(self.create(token), 10)
        self.assertIn("(#10)", error["message"])
        self.assertEqual(self.me(token)[0], 200)
        status, body, _ = self.exchange(self.code())
        self.assertEqual(body["permissions"], "instagram_business_basic")

    # -- publishing -----------------------------------------------------------

    def test_publish_image_post(self):
        token = self.long_token()
        cid, (status, body, _) = self.post_once(token, "Caption #tag")
        self.assertEqual(status, 200)
        mid = body["id"]
        status, media, _ = self.json_call("GET", "/graph/v25.0/" + mid, {
            "fields": "permalink", "access_token": token})
        self.assertEqual(status, 200)
        self.assertTrue(media["permalink"].startswith(
            "https://www.instagram.com/p/"))
        self.assertEqual(self.status(token, cid)[1]["status_code"],
                         "PUBLISHED")
        self.assert_error(self.publish(token, cid), 100)
        state = self.read_control("state")
        self.assertEqual(len(state["posts"]), 1)
        self.assertEqual(state["posts"][0]["caption"], "Caption #tag")
        self.assertEqual(state["posts"][0]["image_url"], IMAGE)
        self.assertEqual(state["quota_usage"]["alice"], 1)

    def test_publish_requires_owner_image_and_scope(self):
        token = self.long_token()
        status, body, _ = self.json_call(
            "POST", "/graph/v25.0/%s/media" % self.ig_id("bob"),
            form={"image_url": IMAGE, "access_token": token})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], 100)
        self.assert_error(self.create(token, image=""), 100)
        self.assert_error(self.create(token, caption="x" * 2201), 100,
                          2207010)
        self.assertEqual(self.create(token, caption="é" * 2200)[0], 200)
        error = self.assert_error(
            self.create(token, image="https://cdn.test/too-large.jpg"),
            36000, 2207004)
        self.assertEqual(error["message"], "The image size is too large.")
        self.assertIs(error["is_transient"], False)

    def test_container_polls_and_readiness(self):
        self.control("settings", {"container_polls": 2})
        token = self.long_token()
        status, body, _ = self.create(token)
        cid = body["id"]
        self.assert_error(self.publish(token, cid), 9007, 2207027)
        self.assertEqual(self.status(token, cid)[1]["status_code"],
                         "IN_PROGRESS")
        self.assertEqual(self.status(token, cid)[1]["status_code"],
                         "IN_PROGRESS")
        answer = self.status(token, cid)[1]
        self.assertEqual(answer["status_code"], "FINISHED")
        self.assertIn("Finished", answer["status"])
        self.assertEqual(self.publish(token, cid)[0], 200)

    def test_container_expiry_and_error(self):
        token = self.long_token()
        status, body, _ = self.create(token)
        cid = body["id"]
        self.advance(86401)
        self.assertEqual(self.status(token, cid)[1]["status_code"],
                         "EXPIRED")
        self.assert_error(self.publish(token, cid), -2, 2207020)
        status, body, _ = self.create(
            token, image="https://cdn.test/bad-format.jpg")
        self.assertEqual(self.status(token, body["id"])[1]["status_code"],
                         "ERROR")

    def test_publishing_cap_and_quota(self):
        self.control("settings", {"publish_cap": 2})
        token = self.long_token()
        self.assertEqual(self.post_once(token)[1][0], 200)
        self.advance(3600)
        self.assertEqual(self.post_once(token)[1][0], 200)
        cid, answer = self.post_once(token)
        error = self.assert_error(answer, 9, 2207042)
        self.assertIn("maximum number of posts", error["message"])

        limit = "/graph/v25.0/%s/content_publishing_limit" % self.ig_id()
        status, body, _ = self.json_call("GET", limit, {
            "fields": "quota_usage,config", "access_token": token})
        self.assertEqual(status, 200)
        self.assertEqual(body["data"][0]["quota_usage"], 2)
        self.assertEqual(body["data"][0]["config"],
                         {"quota_total": 2, "quota_duration": 86400})
        since = int(self.net.now()) - 1800
        status, body, _ = self.json_call("GET", limit, {
            "fields": "quota_usage,config", "since": str(since),
            "access_token": token})
        self.assertEqual(body["data"][0]["quota_usage"], 1)

        # The first post leaves the rolling window: one slot is free.
        self.advance(86400 - 3600 + 1)
        self.assertEqual(self.publish(token, cid)[0], 200)
        cid, answer = self.post_once(token)
        self.assert_error(answer, 9, 2207042)

    def test_quota_control(self):
        self.control("settings", {"publish_cap": 3})
        token = self.long_token()
        answer = self.control("quota", {"user": "alice",
                                        "published_ago_s": [600, 7200,
                                                            90000]})
        # 90000 s ago is outside the 24-hour window: two count.
        self.assertEqual(answer["quota_usage"], 2)
        self.assertIn("error", self.control("quota", {
            "user": "alice", "published_ago_s": [-1]}))
        limit = "/graph/v25.0/%s/content_publishing_limit" % self.ig_id()
        status, body, _ = self.json_call("GET", limit, {
            "fields": "quota_usage,config", "access_token": token})
        self.assertEqual(body["data"][0]["quota_usage"], 2)
        since = int(self.net.now()) - 3600
        status, body, _ = self.json_call("GET", limit, {
            "fields": "quota_usage", "since": str(since),
            "access_token": token})
        self.assertEqual(body["data"][0]["quota_usage"], 1)
        self.assertEqual(self.post_once(token)[1][0], 200)
        self.assert_error(self.post_once(token)[1], 9, 2207042)
        self.assertEqual(self.read_control("state")["quota_usage"]["alice"],
                         3)

    def test_rate_limits(self):
        token = self.long_token()
        self.control("settings", {"user_call_limit": 2})
        self.assertEqual(self.me(token)[0], 200)
        self.assertEqual(self.me(token)[0], 200)
        status, body, headers = self.me(token)
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], 17)
        usage = json.loads(headers["X-Business-Use-Case-Usage"])
        entry = usage[self.ig_id()][0]
        self.assertEqual(entry["estimated_time_to_regain_access"], 60)

        self.control("settings", {"user_call_limit": 0,
                                  "app_call_limit": 1})
        status, body, headers = self.me(token)
        self.assertEqual(body["error"]["code"], 4)
        self.assertIs(body["error"]["is_transient"], True)
        self.assertIn("X-App-Usage", headers)
        self.advance(3601)
        self.assertEqual(self.me(token)[0], 200)

    def test_error_and_fault_controls(self):
        token = self.long_token()
        self.control("error", {"kind": "transient", "match": "/me$"})
        error = self.assert_error(self.me(token), 2, status=500)
        self.assertIs(error["is_transient"], True)
        self.assertEqual(self.me(token)[0], 200)
        self.control("fault", {"match": "media_publish", "status": 503,
                               "body": "down"})
        status, body, _ = self.create(token)
        self.assertEqual(self.status(token, body["id"])[0], 200)
        status, _, _ = self.call(
            "POST", "/graph/v25.0/%s/media_publish" % self.ig_id(),
            {"creation_id": body["id"]}, form={"access_token": token})
        self.assertEqual(status, 503)
        seen = self.read_control("requests")["requests"]
        self.assertEqual(seen[-1]["fault"], 503)
        form = [r for r in seen if r.get("path", "").endswith("/media")]
        self.assertEqual(form[-1]["form"]["image_url"], IMAGE)


def main():
    program = unittest.main(exit=False, verbosity=1)
    result = program.result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
