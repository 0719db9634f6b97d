"""Checks that the sandbox Facebook speaks Facebook's documented protocol.

See docs/networks/facebook.md.

Starts the sandbox in-process on a loopback port and drives it over real
HTTP with urllib: the login dialog, the code and fb_exchange_token
exchanges and their rules, identity, Pages with paging, posting, the
documented error bodies and the test controls.
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
import sandbox_facebook  # noqa: E402

APP = "sandbox-facebook-app"
SECRET = "sandbox-facebook-secret"
REDIRECT = "https://herald.test/callback/facebook"
SCOPES = "pages_show_list,pages_manage_posts,pages_read_engagement," \
         "business_management"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.text = body.decode()
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    @property
    def error(self):
        return (self.json or {}).get("error") or {}


class SandboxFacebookTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = sandbox.SandboxServer([]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.net = sandbox_facebook.SandboxNetwork()
        self.server.networks = {"facebook": self.net}
        self.base = self.server.base("facebook")
        self.graph = self.base + "/v25.0"

    # -- helpers ------------------------------------------------------------

    def call(self, method, url, token=None, form=None, params=None):
        if params:
            url += ("&" if "?" in url else "?") + \
                urllib.parse.urlencode(params)
        data = urllib.parse.urlencode(form).encode() if form else None
        req = urllib.request.Request(url, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type",
                           "application/x-www-form-urlencoded")
        try:
            with OPENER.open(req, timeout=10) as resp:
                return Answer(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def control(self, action, body=None):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/_control/facebook/%s" %
            (self.server.port, action),
            data=json.dumps(body or {}).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with OPENER.open(req, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
            return json.loads(resp.read())

    def authorize(self, redirect=REDIRECT, scope=SCOPES, state="st-1"):
        answer = self.call("GET", self.base + "/v25.0/dialog/oauth", params={
            "client_id": APP, "redirect_uri": redirect, "state": state,
            "response_type": "code", "scope": scope})
        self.assertEqual(answer.status, 302)
        location = answer.headers["Location"]
        self.assertTrue(location.startswith(redirect), location)
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            location).query))

    def code_exchange(self, code, redirect=REDIRECT, secret=SECRET):
        return self.call("GET", self.graph + "/oauth/access_token", params={
            "client_id": APP, "redirect_uri": redirect,
            "client_secret": secret, "code": code})

    def long_exchange(self, token):
        return self.call("GET", self.graph + "/oauth/access_token", params={
            "grant_type": "fb_exchange_token", "client_id": APP,
            "client_secret": SECRET, "fb_exchange_token": token})

    def connect(self, **kwargs):
        """Runs the login and both exchanges; returns the long token."""
        code = self.authorize(**kwargs)["code"]
        short = self.code_exchange(code).json["access_token"]
        return self.long_exchange(short).json["access_token"]

    def pages(self, token, limit=100):
        answer = self.call("GET", self.graph + "/me/accounts", token, params={
            "fields": "id,name,access_token", "limit": limit})
        self.assertEqual(answer.status, 200, answer.text)
        return {p["id"]: p for p in answer.json["data"]}

    def assert_error(self, answer, code, subcode=None, status=400):
        self.assertEqual(answer.status, status, answer.text)
        self.assertEqual(answer.error.get("code"), code, answer.text)
        self.assertEqual(answer.error.get("error_subcode"), subcode)
        self.assertEqual(answer.error.get("type"), "OAuthException")
        self.assertTrue(answer.error.get("fbtrace_id"))

    # -- login and tokens ---------------------------------------------------

    def test_full_flow(self):
        back = self.authorize(redirect=REDIRECT + "?n=1")
        self.assertEqual(back["state"], "st-1")
        self.assertEqual(back["n"], "1")

        short = self.code_exchange(back["code"], REDIRECT + "?n=1")
        self.assertEqual(short.status, 200, short.text)
        self.assertEqual(short.json["token_type"], "bearer")
        self.assertEqual(short.json["expires_in"], 3600)
        self.assertIn("call_count", short.headers["X-App-Usage"])

        long = self.long_exchange(short.json["access_token"])
        self.assertEqual(long.status, 200, long.text)
        self.assertEqual(long.json["expires_in"], 5184000)
        token = long.json["access_token"]
        self.assertNotEqual(token, short.json["access_token"])

        me = self.call("GET", self.graph + "/me?fields=id,name", token)
        self.assertEqual(me.json, {"id": self.net.users["alice"]["id"],
                                   "name": "Alice Example"})

        # Two Pages a request: the third comes through paging.next.
        first = self.call("GET", self.graph + "/me/accounts", token,
                          params={"fields": "id,name,access_token",
                                  "limit": 2})
        self.assertEqual(len(first.json["data"]), 2)
        self.assertIn("after", first.json["paging"]["cursors"])
        nxt = first.json["paging"]["next"]
        self.assertTrue(nxt.startswith(self.graph + "/me/accounts?"), nxt)
        self.assertNotIn(token, nxt)
        second = self.call("GET", nxt, token)
        self.assertEqual(len(second.json["data"]), 1)
        self.assertNotIn("next", second.json["paging"])
        pages = first.json["data"] + second.json["data"]
        self.assertEqual([p["name"] for p in pages],
                         ["Alice's Bakery", "Alice's Cafe", "Alice's Deli"])
        self.assertEqual(len({p["access_token"] for p in pages}), 3)
        # The same user token gets the same Page tokens again.
        again = self.pages(token)
        self.assertEqual(again[pages[0]["id"]]["access_token"],
                         pages[0]["access_token"])

        # A token in the query goes on in paging.next.
        q = self.call("GET", self.graph + "/me/accounts", params={
            "access_token": token, "limit": 1})
        self.assertIn("access_token=", q.json["paging"]["next"])

        page = pages[0]
        post = self.call("POST", self.graph + "/%s/feed" % page["id"],
                         page["access_token"],
                         form={"message": "Fresh bread",
                               "link": "https://bakery.test/"})
        self.assertEqual(post.status, 200, post.text)
        self.assertTrue(post.json["id"].startswith(page["id"] + "_"))
        photo = self.call("POST", self.graph + "/%s/photos" % page["id"],
                          page["access_token"],
                          form={"url": "https://cdn.test/a.jpg",
                                "caption": "Rye"})
        self.assertEqual(photo.status, 200, photo.text)
        self.assertTrue(photo.json["post_id"].startswith(page["id"] + "_"))
        self.assertNotEqual(photo.json["id"], photo.json["post_id"])

        state = self.control("state")
        self.assertEqual([(p["kind"], p["page"]) for p in state["posts"]],
                         [("feed", page["id"]), ("photo", page["id"])])
        self.assertEqual(state["posts"][0]["message"], "Fresh bread")
        self.assertEqual(state["posts"][0]["link"], "https://bakery.test/")
        self.assertEqual(state["posts"][1]["url"], "https://cdn.test/a.jpg")
        self.assertEqual(state["posts"][1]["caption"], "Rye")
        kinds = sorted(t["kind"] for t in state["tokens"].values())
        self.assertEqual(kinds, ["long", "page", "page", "page", "short"])

        seen = [r["path"] for r in self.control("requests")["requests"]]
        self.assertIn("/v25.0/oauth/access_token", seen)

    def test_versions_and_no_prefix(self):
        token = self.connect()
        for prefix in ("", "/v26.0", "/v20.0"):
            me = self.call("GET", self.base + prefix + "/me", token)
            self.assertEqual(me.status, 200, prefix)

    def test_deny(self):
        self.control("login", {"deny": True})
        answer = self.call("GET", self.base + "/v25.0/dialog/oauth", params={
            "client_id": APP, "redirect_uri": REDIRECT, "state": "s9"})
        self.assertEqual(answer.status, 302)
        back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            answer.headers["Location"]).query))
        self.assertEqual(back, {"error_reason": "user_denied",
                                "error": "access_denied",
                                "error_description": "Permissions error",
                                "state": "s9"})
        # The refusal is for one login only.
        self.assertIn("code", self.authorize())

    def test_dialog_checks_client(self):
        answer = self.call("GET", self.base + "/v25.0/dialog/oauth", params={
            "client_id": "other", "redirect_uri": REDIRECT})
        self.assertEqual(answer.status, 400)

    def test_login_as(self):
        self.control("login", {"user": "bob"})
        token = self.connect()
        me = self.call("GET", self.graph + "/me", token)
        self.assertEqual(me.json["id"], self.net.users["bob"]["id"])
        self.assertEqual(len(self.pages(token)), 1)

    def test_code_rules(self):
        code = self.authorize()["code"]
        wrong = self.code_exchange(code, REDIRECT + "/other")
        self.assert_error(wrong, 100)
        self.assertIn("redirect_uri", wrong.error["message"])
        self.assert_error(self.code_exchange(code, secret="nope"), 100)
        self.assertEqual(self.code_exchange(code).status, 200)
        used = self.code_exchange(code)
        self.assert_error(used, 100)
        self.assertEqual(used.error["message"],
                         "This authorization code has been used.")
        self.assert_error(self.code_exchange("AQnonsense"), 100)

        code = self.authorize()["code"]
        self.control("clock", {"advance_s": 601})
        expired = self.code_exchange(code)
        self.assert_error(expired, 100)
        self.assertIn("expired", expired.error["message"])

    def test_secret_in_query_only(self):
        code = self.authorize()["code"]
        form = self.call("POST", self.graph + "/oauth/access_token",
                         params={"client_id": APP, "redirect_uri": REDIRECT,
                                 "code": code},
                         form={"client_secret": SECRET})
        self.assert_error(form, 100)
        self.assertIn("query string", form.error["message"])
        wrong_app = self.call("GET", self.graph + "/oauth/access_token",
                              params={"client_id": "x",
                                      "client_secret": SECRET, "code": code,
                                      "redirect_uri": REDIRECT})
        self.assert_error(wrong_app, 101)
        # The code survived both refusals.
        self.assertEqual(self.code_exchange(code).status, 200)

    def test_fb_exchange_token(self):
        code = self.authorize()["code"]
        short = self.code_exchange(code).json["access_token"]
        self.assert_error(self.long_exchange("garbage"), 190)
        long = self.long_exchange(short).json["access_token"]
        # A valid long-lived token can be re-exchanged.
        again = self.long_exchange(long)
        self.assertEqual(again.status, 200)
        self.assertEqual(again.json["expires_in"], 5184000)
        # A Page token cannot.
        page = next(iter(self.pages(long).values()))
        self.assert_error(self.long_exchange(page["access_token"]), 100)
        # An expired short-lived token cannot be exchanged.
        self.control("clock", {"advance_s": 3601})
        expired = self.long_exchange(short)
        self.assert_error(expired, 190, 463)
        self.assertIn("Session has expired", expired.error["message"])
        # The long-lived one still works, and its Page tokens never end.
        self.assertEqual(self.call("GET", self.graph + "/me", long).status,
                         200)
        self.control("clock", {"advance_s": 5184000})
        self.assert_error(self.call("GET", self.graph + "/me", long),
                          190, 463)
        self.assertEqual(self.call(
            "POST", self.graph + "/%s/feed" % page["id"],
            page["access_token"], form={"message": "still here"}).status,
            200)

    def test_page_token_from_short_token_expires(self):
        code = self.authorize()["code"]
        short = self.code_exchange(code).json["access_token"]
        page = next(iter(self.pages(short).values()))
        self.control("clock", {"advance_s": 3601})
        self.assert_error(self.call(
            "POST", self.graph + "/%s/feed" % page["id"],
            page["access_token"], form={"message": "hi"}), 190, 463)

    # -- documented errors ----------------------------------------------------

    def test_token_errors(self):
        garbage = self.call("GET", self.graph + "/me", "not-a-token")
        self.assert_error(garbage, 190)
        self.assertEqual(garbage.error["message"],
                         "Invalid OAuth access token data.")
        self.assert_error(self.call("GET", self.graph + "/me"), 190)

        token = self.connect()
        page = next(iter(self.pages(token).values()))
        self.control("password", {"user": "alice"})
        for t in (token, page["access_token"]):
            answer = self.call("GET", self.graph + "/me", t)
            self.assert_error(answer, 190, 460)
            self.assertIn("changed their password", answer.error["message"])

        token = self.connect()
        self.control("logout", {"user": "alice"})
        self.assert_error(self.call("GET", self.graph + "/me", token),
                          190, 467)

        token = self.connect()
        self.control("expire", {"user": "alice"})
        self.assert_error(self.call("GET", self.graph + "/me", token),
                          190, 463)

        self.control("login", {"user": "bob"})
        bob = self.connect()
        self.control("login", {"user": "alice"})
        token = self.connect()
        page = next(iter(self.pages(token).values()))
        self.control("revoke", {"user": "alice"})
        for t in (token, page["access_token"]):
            answer = self.call("GET", self.graph + "/me", t)
            self.assert_error(answer, 190, 458)
            self.assertIn("has not authorized application",
                          answer.error["message"])
        # Logging in again gives working tokens; Bob was not touched.
        self.assertEqual(self.call("GET", self.graph + "/me",
                                   self.connect()).status, 200)
        self.assertEqual(self.call("GET", self.graph + "/me", bob).status,
                         200)

    def test_remove_app_through_api(self):
        token = self.connect()
        answer = self.call("DELETE", self.graph + "/me/permissions", token)
        self.assertEqual(answer.json, {"success": True})
        self.assert_error(self.call("GET", self.graph + "/me", token),
                          190, 458)

    def test_posting_permissions(self):
        token = self.connect()
        pages = list(self.pages(token).values())
        feed = self.graph + "/%s/feed" % pages[0]["id"]
        # The user token is not the Page token.
        self.assert_error(self.call("POST", feed, token,
                                    form={"message": "x"}), 200)
        # Another Page's token.
        self.assert_error(self.call("POST", feed, pages[1]["access_token"],
                                    form={"message": "x"}), 200)
        # A Page nobody has.
        self.assert_error(self.call("POST", self.graph + "/42/feed",
                                    pages[0]["access_token"],
                                    form={"message": "x"}), 100, 33)
        # A declined permission.
        self.control("settings", {"declined_scopes": ["pages_manage_posts"]})
        token = self.connect()
        page = next(iter(self.pages(token).values()))
        denied = self.call("POST", self.graph + "/%s/feed" % page["id"],
                           page["access_token"], form={"message": "x"})
        self.assert_error(denied, 200)
        self.assertIn("pages_manage_posts", denied.error["message"])
        # Without pages_show_list there are no Pages to see.
        self.control("settings", {"declined_scopes": ["pages_show_list"]})
        self.assertEqual(self.pages(self.connect()), {})

    def test_post_content_rules(self):
        token = self.connect()
        page = next(iter(self.pages(token).values()))
        feed = self.graph + "/%s/feed" % page["id"]
        tok = page["access_token"]
        self.assert_error(self.call("POST", feed, tok, form={"x": "1"}), 100)
        self.assertEqual(self.call("POST", feed, tok,
                                   form={"message": "same"}).status, 200)
        dup = self.call("POST", feed, tok, form={"message": "same"})
        self.assert_error(dup, 506)
        self.assertEqual(dup.error["message"],
                         "(#506) Duplicate status message")
        self.assertEqual(self.call("POST", feed, tok,
                                   form={"link": "https://a.test/"}).status,
                         200)
        self.assert_error(self.call("POST", self.graph + "/%s/photos" %
                                    page["id"], tok,
                                    form={"caption": "x"}), 324)

    def test_throttles(self):
        token = self.connect()
        page = next(iter(self.pages(token).values()))
        self.control("throttle", {"code": 32, "minutes": 5,
                                  "match": "/feed"})
        limited = self.call("POST", self.graph + "/%s/feed" % page["id"],
                            page["access_token"], form={"message": "a"})
        self.assert_error(limited, 32)
        self.assertEqual(limited.error["message"],
                         "(#32) Page request limit reached")
        usage = json.loads(limited.headers["X-Business-Use-Case-Usage"])
        self.assertEqual(
            usage[page["id"]][0]["estimated_time_to_regain_access"], 5)
        self.assertEqual(self.call(
            "POST", self.graph + "/%s/feed" % page["id"],
            page["access_token"], form={"message": "a"}).status, 200)

        self.control("throttle", {"code": 4, "count": 2})
        for _ in range(2):
            app = self.call("GET", self.graph + "/me", token)
            self.assert_error(app, 4)
            self.assertTrue(app.error["is_transient"])
            self.assertEqual(
                json.loads(app.headers["X-App-Usage"])["call_count"], 100)
        self.assertEqual(self.call("GET", self.graph + "/me", token).status,
                         200)
        self.control("throttle", {"code": 17})
        self.assert_error(self.call("GET", self.graph + "/me", token), 17)
        self.control("throttle", {"code": 613})
        self.assert_error(self.call("GET", self.graph + "/me", token), 613)

    def test_transient(self):
        token = self.connect()
        self.control("transient", {"code": 2, "status": 500})
        answer = self.call("GET", self.graph + "/me", token)
        self.assert_error(answer, 2, status=500)
        self.assertTrue(answer.error["is_transient"])
        self.control("transient", {"code": 1, "status": 400,
                                   "match": "/oauth/access_token"})
        code = self.authorize()["code"]
        self.assert_error(self.code_exchange(code), 1)
        self.assertEqual(self.code_exchange(code).status, 200)

    def test_base_fault_still_works(self):
        self.control("fault", {"match": "/me$", "status": 503,
                               "body": "{}"})
        token = self.connect()
        self.assertEqual(self.call("GET", self.graph + "/me", token).status,
                         503)


if __name__ == "__main__":
    unittest.main()
