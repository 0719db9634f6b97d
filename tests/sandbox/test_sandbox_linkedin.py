"""Checks that the LinkedIn sandbox speaks LinkedIn's protocol
.

Starts the sandbox in-process on a loopback port and drives it over real
HTTP with urllib, as the plugin would: the login redirect and its
refusals, the token endpoint's rules, the fixed refresh deadline,
identity, posting (the silent cut at an unescaped reserved character,
the 3000-character error, duplicates, the daily throttle), images,
organizations, the user events and the test controls.
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
import sandbox_linkedin  # noqa: E402

REDIRECT = "https://herald.example/v1/oauth/callback"
SCOPES = "openid profile w_member_social"
CLIENT = "sandbox-linkedin-client"
SECRET = "sandbox-linkedin-secret"
DAY = 86400
VERSIONED = {"LinkedIn-Version": "202601",
             "X-Restli-Protocol-Version": "2.0.0"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        self.text = body.decode()
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None


def escape(text):
    return "".join("\\" + c if c in sandbox_linkedin.RESERVED else c
                   for c in text)


class LinkedInSandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = sandbox.SandboxServer(
            [sandbox_linkedin.SandboxNetwork()]).start()
        cls.base = cls.server.base("linkedin")
        cls.net = cls.server.networks["linkedin"]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        net = self.net
        with net.lock:
            net.settings = dict(net.default_settings())
            net.faults = []
            net.clock_offset = 0.0
            net.login_as = "alice"
            net.deny_next = False
            net.codes.clear()
            net.access.clear()
            net.refresh.clear()
            net.posts.clear()
            net.images.clear()
            net.day_counts.clear()

    # -- HTTP helpers ----------------------------------------------------

    def call(self, method, path, body=None, headers=None, base=None):
        url = path if path.startswith("http") else (base or self.base) + path
        data = body
        if isinstance(body, dict):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers=headers or {})
        try:
            with OPENER.open(req, timeout=10) as resp:
                return Answer(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.headers, err.read())

    def form(self, path, fields):
        return self.call("POST", path, urllib.parse.urlencode(fields),
                         {"Content-Type":
                          "application/x-www-form-urlencoded"})

    def control(self, action, body=None):
        base = "http://127.0.0.1:%d/_control/linkedin/" % self.server.port
        if body is None:
            return self.call("GET", base + action).json
        return self.call("POST", base + action, body,
                         {"Content-Type": "application/json"}).json

    def authorize(self, scope=SCOPES, state="st-1", redirect=REDIRECT,
                  client=CLIENT):
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client,
            "redirect_uri": redirect, "state": state, "scope": scope})
        return self.call("GET", "/oauth/v2/authorization?" + query)

    def code(self, **kw):
        answer = self.authorize(**kw)
        self.assertEqual(answer.status, 302)
        location = urllib.parse.urlsplit(answer.headers["Location"])
        return dict(urllib.parse.parse_qsl(location.query))

    def exchange(self, code, redirect=REDIRECT, secret=SECRET):
        return self.form("/oauth/v2/accessToken", {
            "grant_type": "authorization_code", "code": code,
            "client_id": CLIENT, "client_secret": secret,
            "redirect_uri": redirect})

    def refresh(self, token, secret=SECRET):
        return self.form("/oauth/v2/accessToken", {
            "grant_type": "refresh_token", "refresh_token": token,
            "client_id": CLIENT, "client_secret": secret})

    def connect(self, scope=SCOPES):
        answer = self.exchange(self.code(scope=scope)["code"])
        self.assertEqual(answer.status, 200, answer.text)
        return answer.json

    def userinfo(self, token):
        return self.call("GET", "/v2/userinfo",
                         headers={"Authorization": "Bearer " + token})

    def post(self, token, commentary, author=None, content=None,
             headers=None):
        if author is None:
            author = "urn:li:person:" + self.net.users["alice"]["sub"]
        body = {"author": author, "commentary": commentary,
                "visibility": "PUBLIC",
                "distribution": {"feedDistribution": "MAIN_FEED",
                                 "targetEntities": [],
                                 "thirdPartyDistributionChannels": []},
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False}
        if content:
            body["content"] = content
        hdrs = dict(VERSIONED)
        hdrs.update({"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"})
        hdrs.update(headers or {})
        return self.call("POST", "/rest/posts", body, hdrs)

    # -- authorization ---------------------------------------------------

    def test_authorize_redirects_with_code_and_state(self):
        back = self.code(state="xyz")
        self.assertEqual(back["state"], "xyz")
        self.assertTrue(back["code"])
        # Comma-delimited scopes are accepted too.
        back = self.code(scope="openid,profile,w_member_social")
        self.assertTrue(back["code"])

    def test_authorize_refusals(self):
        self.control("login", {"deny": True})
        back = self.code()
        self.assertEqual(back["error"], "user_cancelled_authorize")
        self.assertEqual(back["state"], "st-1")
        self.assertNotIn("code", back)
        self.assertIn("code", self.code())  # the flag resets
        back = self.code(scope="openid r_emailaddress")
        self.assertEqual(back["error"], "unauthorized_scope_error")
        self.assertEqual(self.authorize(client="someone").status, 400)
        self.net.settings["redirect_uris"] = ["https://other.example/cb"]
        self.assertEqual(self.authorize().status, 400)

    def test_code_rules(self):
        code = self.code()["code"]
        self.assertEqual(self.exchange(code, redirect=REDIRECT + "x").status,
                         400)
        bad = self.exchange(code, secret="wrong")
        self.assertEqual(bad.status, 401)
        self.assertEqual(bad.json["error"], "invalid_client")
        first = self.exchange(code)
        self.assertEqual(first.status, 200)
        again = self.exchange(code)
        self.assertEqual(again.status, 400)
        self.assertEqual(again.json["error"], "invalid_request")
        self.assertIn("Unable to retrieve access token",
                      again.json["error_description"])
        late = self.code()["code"]
        self.control("clock", {"advance_s": 1801})
        self.assertEqual(self.exchange(late).status, 400)
        wrong_type = self.call("POST", "/oauth/v2/accessToken",
                               {"grant_type": "authorization_code"},
                               {"Content-Type": "application/json"})
        self.assertEqual(wrong_type.status, 400)

    def test_token_answer(self):
        tokens = self.connect()
        self.assertEqual(tokens["expires_in"], 5184000)
        self.assertEqual(tokens["refresh_token_expires_in"], 31536000)
        self.assertEqual(tokens["scope"], "openid,profile,w_member_social")
        self.assertEqual(tokens["id_token"].count("."), 2)
        self.net.settings["issue_refresh_tokens"] = False
        tokens = self.connect()
        self.assertNotIn("refresh_token", tokens)
        self.assertNotIn("refresh_token_expires_in", tokens)
        dead = self.refresh("AQW-nothing")
        self.assertEqual(dead.status, 400)
        self.assertEqual(dead.json["error"], "invalid_grant")

    def test_refresh_deadline_is_fixed(self):
        tokens = self.connect()
        rt = tokens["refresh_token"]
        self.control("clock", {"advance_s": 59 * DAY})
        renewed = self.refresh(rt)
        self.assertEqual(renewed.status, 200)
        self.assertEqual(renewed.json["refresh_token"], rt)
        self.assertEqual(renewed.json["expires_in"], 60 * DAY)
        self.assertAlmostEqual(renewed.json["refresh_token_expires_in"],
                               306 * DAY, delta=2)
        self.assertEqual(self.userinfo(renewed.json["access_token"]).status,
                         200)
        self.control("clock", {"advance_s": 301 * DAY})
        late = self.refresh(rt)
        self.assertAlmostEqual(late.json["refresh_token_expires_in"],
                               5 * DAY, delta=2)
        self.assertAlmostEqual(late.json["expires_in"], 5 * DAY, delta=2)
        self.control("clock", {"advance_s": 5 * DAY + 1})
        gone = self.refresh(rt)
        self.assertEqual(gone.status, 400)
        self.assertEqual(gone.json, {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked."})
        self.assertEqual(self.refresh(rt, secret="x").status, 401)

    def test_introspection(self):
        tokens = self.connect()
        answer = self.form("/oauth/v2/introspectToken", {
            "client_id": CLIENT, "client_secret": SECRET,
            "token": tokens["access_token"]})
        self.assertTrue(answer.json["active"])
        self.assertEqual(answer.json["status"], "active")
        self.assertEqual(answer.json["auth_type"], "3L")

    # -- identity and token errors ---------------------------------------

    def test_userinfo(self):
        at = self.connect()["access_token"]
        answer = self.userinfo(at)
        self.assertEqual(answer.status, 200)
        alice = self.net.users["alice"]
        self.assertEqual(answer.json["sub"], alice["sub"])
        self.assertEqual(answer.json["name"], "Alice Example")
        self.assertNotIn("email", answer.json)
        self.assertEqual(self.userinfo("garbage").json["serviceErrorCode"],
                         65600)
        at = self.connect(scope="w_member_social")["access_token"]
        denied = self.userinfo(at)
        self.assertEqual(denied.status, 403)
        self.assertEqual(denied.json["serviceErrorCode"], 100)

    def test_user_events(self):
        tokens = self.connect()
        self.control("expire", {"user": "alice"})
        expired = self.userinfo(tokens["access_token"])
        self.assertEqual(expired.status, 401)
        self.assertEqual(expired.json["serviceErrorCode"], 65602)
        renewed = self.refresh(tokens["refresh_token"])
        self.assertEqual(renewed.status, 200)
        at = renewed.json["access_token"]
        self.assertEqual(self.userinfo(at).status, 200)

        self.control("revoke", {"user": "alice"})
        revoked = self.userinfo(at)
        self.assertEqual(revoked.json["serviceErrorCode"], 65601)
        self.assertEqual(revoked.json["code"], "REVOKED_ACCESS_TOKEN")
        self.assertEqual(self.refresh(tokens["refresh_token"]).json["error"],
                         "invalid_grant")

        tokens = self.connect()
        self.control("password", {"user": "alice"})
        invalid = self.userinfo(tokens["access_token"])
        self.assertEqual(invalid.json["serviceErrorCode"], 65600)
        self.assertEqual(self.refresh(tokens["refresh_token"]).status, 400)

    def test_access_token_lifetime(self):
        at = self.connect()["access_token"]
        self.control("clock", {"advance_s": 60 * DAY - 10})
        self.assertEqual(self.userinfo(at).status, 200)
        self.control("clock", {"advance_s": 20})
        self.assertEqual(self.userinfo(at).json["serviceErrorCode"], 65602)

    # -- posting ---------------------------------------------------------

    def test_post_and_silent_cut(self):
        at = self.connect()["access_token"]
        text = "Launch (beta) #news @team <3 a_b ~ *bold* [x] {y} | \\ done"
        cut = self.post(at, text)
        self.assertEqual(cut.status, 201)
        self.assertTrue(cut.headers["x-restli-id"].startswith(
            "urn:li:share:"))
        self.assertEqual(cut.raw, b"")
        whole = self.post(at, escape(text))
        self.assertEqual(whole.status, 201)
        posts = self.control("state")["posts"]
        self.assertEqual(posts[0]["text"], "Launch ")
        self.assertEqual(posts[1]["text"], text)
        self.assertEqual(posts[1]["commentary"], escape(text))
        self.assertEqual(posts[1]["version"], "202601")

    def test_post_errors(self):
        at = self.connect()["access_token"]
        long = self.post(at, "x" * 3001)
        self.assertEqual(long.status, 400)
        self.assertIn("ShareCommentary text length (3001 characters) "
                      "exceeded the maximum allowed (3000 characters)",
                      long.json["message"])
        self.assertEqual(long.json["errorDetails"]["inputErrors"][0]["code"],
                         "FIELD_ARRAY_SIZE_TOO_HIGH")
        self.assertEqual(self.post(at, "\u00e9" * 3000).status, 201)

        first = self.post(at, "same words")
        again = self.post(at, "same words")
        self.assertEqual(again.status, 422)
        self.assertIn(first.headers["x-restli-id"], again.json["message"])
        self.assertEqual(
            again.json["errorDetails"]["inputErrors"][0]["code"],
            "DUPLICATE_POST")

        missing = self.post(at, "v", headers={"LinkedIn-Version": ""})
        self.assertEqual(missing.status, 400)
        restli = self.post(at, "v", headers={
            "X-Restli-Protocol-Version": "1.0.0"})
        self.assertEqual(restli.status, 400)
        other = self.post(at, "someone else",
                          author="urn:li:person:nobody")
        self.assertEqual(other.status, 403)
        self.assertEqual(other.json["serviceErrorCode"], 100)
        noauthor = self.call("POST", "/rest/posts", {"commentary": "x"},
                             dict(VERSIONED, Authorization="Bearer " + at,
                                  **{"Content-Type": "application/json"}))
        self.assertEqual(noauthor.status, 422)
        self.assertIn("/author", noauthor.json["message"])
        notjson = self.call("POST", "/rest/posts", "text",
                            dict(VERSIONED, Authorization="Bearer " + at,
                                 **{"Content-Type": "text/plain"}))
        self.assertEqual(notjson.json["code"], "ILLEGAL_ARGUMENT")
        self.assertEqual(self.post("garbage", "x").status, 401)
        article = self.post(at, "read", content={"article": {
            "source": "https://example.com/a", "title": "A"}})
        self.assertEqual(article.status, 201)

    def test_post_needs_scope_and_throttles(self):
        at = self.connect(scope="openid profile")["access_token"]
        denied = self.post(at, "no scope")
        self.assertEqual(denied.status, 403)
        self.assertEqual(denied.json["message"],
                         "Not enough permissions to access: POST /rest/posts")
        self.net.settings["posts_per_day"] = 2
        at = self.connect()["access_token"]
        self.assertEqual(self.post(at, "one").status, 201)
        self.assertEqual(self.post(at, "two").status, 201)
        limited = self.post(at, "three")
        self.assertEqual(limited.status, 429)
        self.assertEqual(limited.json["serviceErrorCode"], 101)
        self.control("clock", {"advance_s": DAY})
        self.assertEqual(self.post(at, "three").status, 201)

    def test_image_post(self):
        at = self.connect()["access_token"]
        me = "urn:li:person:" + self.net.users["alice"]["sub"]
        hdrs = dict(VERSIONED, Authorization="Bearer " + at,
                    **{"Content-Type": "application/json"})
        init = self.call("POST", "/rest/images?action=initializeUpload",
                         {"initializeUploadRequest": {"owner": me}}, hdrs)
        self.assertEqual(init.status, 200)
        value = init.json["value"]
        self.assertTrue(value["image"].startswith("urn:li:image:"))
        early = self.post(at, "pic", content={"media": {"id":
                                                        value["image"]}})
        self.assertEqual(early.status, 422)
        put = self.call("PUT", value["uploadUrl"], b"\x89PNG bytes",
                        {"Authorization": "Bearer " + at,
                         "Content-Type": "application/octet-stream"})
        self.assertEqual(put.status, 201)
        done = self.post(at, "pic", content={"media": {"id":
                                                       value["image"]}})
        self.assertEqual(done.status, 201)
        state = self.control("state")
        self.assertEqual(state["images"][value["image"]]["status"],
                         "AVAILABLE")
        self.assertEqual(state["posts"][0]["content"]["media"]["id"],
                         value["image"])

    def test_organizations(self):
        scope = SCOPES + " w_organization_social rw_organization_admin"
        at = self.connect(scope=scope)["access_token"]
        hdrs = dict(VERSIONED, Authorization="Bearer " + at)
        acls = self.call("GET", "/rest/organizationAcls?q=roleAssignee"
                         "&role=ADMINISTRATOR&state=APPROVED&count=100", None,
                         hdrs)
        self.assertEqual(acls.status, 200)
        org = acls.json["elements"][0]["organization"]
        oid = org.rsplit(":", 1)[1]
        names = self.call("GET", "/rest/organizations?ids=List(%s)" % oid,
                          None, hdrs)
        self.assertEqual(names.json["results"][oid]["localizedName"],
                         "Alice Example Inc")
        self.assertEqual(self.post(at, "as the page", author=org).status,
                         201)
        bob_org = "urn:li:organization:" + \
            self.net.users["bob"]["organizations"][0]["id"]
        self.assertEqual(self.post(at, "not mine", author=bob_org).status,
                         403)
        plain = self.connect()["access_token"]
        self.assertEqual(self.call(
            "GET", "/rest/organizationAcls?q=roleAssignee", None,
            dict(VERSIONED, Authorization="Bearer " + plain)).status, 403)
        self.assertEqual(self.post(plain, "as the page", author=org).status,
                         403)

    def test_faults_and_request_log(self):
        at = self.connect()["access_token"]
        self.control("fault", {"match": "^/rest/posts$", "status": 503,
                               "count": 1})
        self.assertEqual(self.post(at, "later").status, 503)
        self.assertEqual(self.post(at, "later").status, 201)
        seen = self.control("requests")["requests"]
        self.assertTrue(any(r["path"] == "/oauth/v2/accessToken"
                            for r in seen))


if __name__ == "__main__":
    unittest.main()
