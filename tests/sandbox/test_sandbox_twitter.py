"""Checks that the X sandbox speaks X's protocol .

Starts the sandbox in-process on a loopback port and drives it over real
HTTP with urllib, as the plugin would: the login redirect, the token
endpoint's rules, rotation and reuse of refresh tokens, identity,
posting and its errors, revocation, and the test controls.
"""

import base64
import hashlib
import json
import os
import secrets
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sandbox  # noqa: E402
import sandbox_twitter  # noqa: E402

REDIRECT = "https://herald.example/v1/oauth/callback"
SCOPES = "tweet.read tweet.write users.read offline.access"
CLIENT = "sandbox-x-client"
SECRET = "sandbox-x-secret"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def basic(cid=CLIENT, secret=SECRET):
    pair = ("%s:%s" % (cid, secret)).encode()
    return "Basic " + base64.b64encode(pair).decode()


def challenge(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.text = body.decode()
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None


class XSandboxTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = sandbox.SandboxServer(
            [sandbox_twitter.SandboxNetwork()]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        # A fresh network per test, on the one server.
        self.net = sandbox_twitter.SandboxNetwork()
        self.server.networks["x"] = self.net
        self.base = self.server.base("x")

    # -- helpers -----------------------------------------------------------

    def http(self, method, path, form=None, body=None, headers=None,
             ctype=None):
        headers = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers.setdefault("Content-Type",
                               "application/x-www-form-urlencoded")
        elif body is not None:
            data = body if isinstance(body, bytes) else json.dumps(
                body).encode()
            headers.setdefault("Content-Type", ctype or "application/json")
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, headers=headers,
                                     method=method)
        try:
            with OPENER.open(req, timeout=5) as resp:
                return Answer(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.headers, err.read())

    def control(self, action, body=None):
        url = "http://127.0.0.1:%d/_control/x/%s" % (self.server.port,
                                                      action)
        if body is None:
            return json.loads(urllib.request.urlopen(url, timeout=5).read())
        req = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=5).read())

    def authorize(self, scopes=SCOPES, state="st-1", verifier=None,
                  **extra):
        verifier = verifier or secrets.token_urlsafe(48)
        query = {"response_type": "code", "client_id": CLIENT,
                 "redirect_uri": REDIRECT, "scope": scopes, "state": state,
                 "code_challenge": challenge(verifier),
                 "code_challenge_method": "S256"}
        query.update(extra)
        ans = self.http("GET", "/i/oauth2/authorize?" +
                        urllib.parse.urlencode(query,
                                               quote_via=urllib.parse.quote))
        return ans, verifier

    def code_of(self, ans):
        self.assertEqual(ans.status, 302)
        loc = urllib.parse.urlsplit(ans.headers["Location"])
        self.assertEqual("%s://%s%s" % (loc.scheme, loc.netloc, loc.path),
                         REDIRECT)
        return dict(urllib.parse.parse_qsl(loc.query))

    def exchange(self, code, verifier, auth=True, **form):
        fields = {"code": code, "grant_type": "authorization_code",
                  "client_id": CLIENT, "redirect_uri": REDIRECT,
                  "code_verifier": verifier}
        fields.update(form)
        headers = {"Authorization": basic()} if auth else {}
        return self.http("POST", "/2/oauth2/token", form=fields,
                         headers=headers)

    def connect(self, scopes=SCOPES):
        ans, verifier = self.authorize(scopes)
        got = self.exchange(self.code_of(ans)["code"], verifier)
        self.assertEqual(got.status, 200, got.text)
        return got.json

    def refresh(self, token):
        return self.http("POST", "/2/oauth2/token",
                         form={"grant_type": "refresh_token",
                               "refresh_token": token, "client_id": CLIENT},
                         headers={"Authorization": basic()})

    def me(self, access):
        return self.http("GET", "/2/users/me",
                         headers={"Authorization": "Bearer " + access})

    def tweet(self, access, text, **extra):
        body = {"text": text}
        body.update(extra)
        return self.http("POST", "/2/tweets", body=body,
                         headers={"Authorization": "Bearer " + access})

    # -- authorization -----------------------------------------------------

    def test_authorize_redirects_with_code_and_state(self):
        ans, _ = self.authorize(state="s" * 500)
        params = self.code_of(ans)
        self.assertEqual(params["state"], "s" * 500)
        self.assertTrue(params["code"])

    def test_deny_redirects_with_access_denied_once(self):
        self.control("login", {"deny": True})
        params = self.code_of(self.authorize(state="abc")[0])
        self.assertEqual(params, {"error": "access_denied", "state": "abc"})
        self.assertIn("code", self.code_of(self.authorize()[0]))

    def test_authorize_refuses_malformed_requests(self):
        for extra in ({"client_id": "nobody"},
                      {"code_challenge": ""},
                      {"code_challenge_method": "md5"},
                      {"scope": "tweet.read,users.read"},
                      {"state": ""},
                      {"response_type": "token"}):
            ans, _ = self.authorize(**extra)
            self.assertEqual(ans.status, 400, extra)
        self.control("settings", {"redirect_uris": ["https://other/cb"]})
        self.assertEqual(self.authorize()[0].status, 400)

    # -- token endpoint ------------------------------------------------------

    def test_code_exchange_gives_x_token_answer(self):
        ans, verifier = self.authorize()
        tok = self.exchange(self.code_of(ans)["code"], verifier)
        self.assertEqual(tok.status, 200)
        self.assertEqual(tok.json["token_type"], "bearer")
        self.assertEqual(tok.json["expires_in"], 7200)
        self.assertEqual(tok.json["scope"], SCOPES)
        self.assertTrue(tok.json["access_token"])
        self.assertTrue(tok.json["refresh_token"])

    def test_confidential_client_needs_basic_auth(self):
        ans, verifier = self.authorize()
        code = self.code_of(ans)["code"]
        got = self.exchange(code, verifier, auth=False)
        self.assertEqual(got.status, 401)
        self.assertEqual(got.json, {
            "error": "unauthorized_client",
            "error_description": "Missing valid authorization header"})
        got = self.http("POST", "/2/oauth2/token",
                        form={"code": code, "grant_type":
                              "authorization_code", "redirect_uri": REDIRECT,
                              "code_verifier": verifier},
                        headers={"Authorization": basic(secret="wrong")})
        self.assertEqual(got.status, 401)

    def test_code_is_single_use(self):
        ans, verifier = self.authorize()
        code = self.code_of(ans)["code"]
        self.assertEqual(self.exchange(code, verifier).status, 200)
        again = self.exchange(code, verifier)
        self.assertEqual(again.status, 400)
        self.assertEqual(again.json, {
            "error": "invalid_request",
            "error_description":
                "Value passed for the authorization code was invalid."})

    def test_code_rules(self):
        # Wrong verifier, other redirect_uri, expired: each spends the code.
        ans, verifier = self.authorize()
        got = self.exchange(self.code_of(ans)["code"], "not-the-verifier")
        self.assertEqual(got.status, 400)
        ans, verifier = self.authorize()
        got = self.exchange(self.code_of(ans)["code"], verifier,
                            redirect_uri=REDIRECT + "/other")
        self.assertEqual(got.status, 400)
        ans, verifier = self.authorize()
        code = self.code_of(ans)["code"]
        self.control("clock", {"advance_s": 31})
        self.assertEqual(self.exchange(code, verifier).status, 400)

    def test_plain_challenge_is_accepted(self):
        verifier = secrets.token_urlsafe(48)
        ans, _ = self.authorize(code_challenge=verifier,
                                code_challenge_method="plain")
        got = self.exchange(self.code_of(ans)["code"], verifier)
        self.assertEqual(got.status, 200)

    def test_public_client_sends_client_id_in_body(self):
        self.control("settings", {"confidential": False})
        ans, verifier = self.authorize()
        code = self.code_of(ans)["code"]
        got = self.exchange(code, verifier, auth=False, client_id="other")
        self.assertEqual(got.status, 400)
        ans, verifier = self.authorize()
        got = self.exchange(self.code_of(ans)["code"], verifier, auth=False)
        self.assertEqual(got.status, 200)

    def test_no_refresh_token_without_offline_access(self):
        tok = self.connect("tweet.read tweet.write users.read")
        self.assertNotIn("refresh_token", tok)

    def test_refresh_rotates_and_reuse_kills_the_chain(self):
        tok = self.connect()
        first = self.refresh(tok["refresh_token"])
        self.assertEqual(first.status, 200)
        self.assertNotEqual(first.json["refresh_token"],
                            tok["refresh_token"])
        self.assertEqual(first.json["expires_in"], 7200)
        self.assertEqual(self.me(first.json["access_token"]).status, 200)

        reused = self.refresh(tok["refresh_token"])
        self.assertEqual(reused.status, 400)
        self.assertEqual(reused.json, {
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid."})
        # The whole chain is dead now: the newest tokens too.
        self.assertEqual(self.refresh(first.json["refresh_token"]).status,
                         400)
        self.assertEqual(self.me(first.json["access_token"]).status, 401)

    def test_access_token_lifetime(self):
        tok = self.connect()
        self.assertEqual(self.me(tok["access_token"]).status, 200)
        self.control("clock", {"advance_s": 7201})
        got = self.me(tok["access_token"])
        self.assertEqual(got.status, 401)
        self.assertEqual(got.headers["Content-Type"],
                         "application/problem+json")
        self.assertEqual(got.json, {"title": "Unauthorized",
                                    "type": "about:blank", "status": 401,
                                    "detail": "Unauthorized"})
        self.assertEqual(self.refresh(tok["refresh_token"]).status, 200)

    # -- identity and posting ------------------------------------------------

    def test_users_me(self):
        tok = self.connect()
        got = self.me(tok["access_token"])
        alice = self.net.users["alice"]
        self.assertEqual(got.json, {"data": {"id": alice["id"],
                                             "name": "Alice",
                                             "username": "alice"}})
        self.assertEqual(got.headers["x-rate-limit-limit"], "75")
        self.assertEqual(got.headers["x-rate-limit-remaining"], "74")
        only = self.connect("users.read")
        self.assertEqual(self.me(only["access_token"]).status, 403)

    def test_post_and_state(self):
        tok = self.connect()
        got = self.tweet(tok["access_token"],
                         "Hello from the scheduler https://example.com/a")
        self.assertEqual(got.status, 201)
        data = got.json["data"]
        self.assertRegex(data["id"], r"^\d{1,19}$")
        self.assertRegex(data["text"],
                         r"^Hello from the scheduler https://t\.co/\S+$")
        self.assertEqual(data["edit_history_post_ids"], [data["id"]])
        for h in ("x-rate-limit-reset", "x-user-limit-24hour-remaining",
                  "x-app-limit-24hour-reset"):
            self.assertIn(h, got.headers)
        posts = self.control("state")["posts"]
        self.assertEqual(posts[0]["id"], data["id"])
        self.assertEqual(posts[0]["text"],
                         "Hello from the scheduler https://example.com/a")
        self.assertEqual(posts[0]["user"], "alice")

    def test_post_errors(self):
        tok = self.connect()
        access = tok["access_token"]
        self.assertEqual(self.tweet(access, "once").status, 201)
        dup = self.tweet(access, "once")
        self.assertEqual(dup.status, 403)
        self.assertEqual(dup.json["detail"], sandbox_twitter.DUPLICATE)

        # 280 weighted characters; a URL is 23, CJK weighs 2.
        self.assertEqual(self.tweet(access, "a" * 280).status, 201)
        self.assertEqual(self.tweet(access, "\u4e2d" * 140).status, 201)
        link = "b" * 256 + " https://example.com/" + "x" * 200
        self.assertEqual(self.tweet(access, link).status, 201)
        long = self.tweet(access, "c" * 281)
        self.assertEqual(long.status, 400)
        self.assertEqual(long.json["errors"][0]["message"],
                         sandbox_twitter.TOO_LONG)
        self.assertEqual(long.json["detail"], "Your Tweet text is too long.")

        wrong = self.http("POST", "/2/tweets", body=b"text=hi",
                          ctype="application/x-www-form-urlencoded",
                          headers={"Authorization": "Bearer " + access})
        self.assertEqual(wrong.status, 400)
        self.assertEqual(wrong.json["type"],
                         "https://api.x.com/2/problems/invalid-request")
        self.assertEqual(wrong.json["errors"][0]["message"],
                         "Requests with bodies must have content-type of "
                         "application/json.")
        self.assertEqual(self.tweet("garbage", "hi").status, 401)

        self.control("settings", {"grant_scopes": ["tweet.read",
                                                   "users.read"]})
        readonly = self.connect()
        got = self.tweet(readonly["access_token"], "no write scope")
        self.assertEqual(got.status, 403)
        self.assertEqual(got.json["detail"], "Forbidden")

    def test_rate_limits(self):
        self.control("settings", {"tweets_limit_15min": 2})
        access = self.connect()["access_token"]
        self.assertEqual(self.tweet(access, "one").status, 201)
        self.assertEqual(self.tweet(access, "two").status, 201)
        got = self.tweet(access, "three")
        self.assertEqual(got.status, 429)
        self.assertEqual(got.json["title"], "Too Many Requests")
        self.assertEqual(got.headers["x-rate-limit-remaining"], "0")
        reset = int(got.headers["x-rate-limit-reset"])
        self.assertGreater(reset, self.net.now())
        self.control("clock", {"advance_s": 901})
        # The access token lasts 2 h: still valid after 15 min.
        self.assertEqual(self.tweet(access, "three").status, 201)

        self.control("settings", {"tweets_limit_24h_app": 4})
        self.control("login", {"user": "bob"})
        bob_access = self.connect()["access_token"]
        self.assertEqual(self.tweet(bob_access, "bob one").status, 201)
        got = self.tweet(bob_access, "bob two")
        self.assertEqual(got.status, 429)
        self.assertEqual(got.headers["x-app-limit-24hour-remaining"], "0")

    def test_media_upload_and_image_post(self):
        tok = self.connect(SCOPES + " media.write")
        access = tok["access_token"]
        boundary = "herald-boundary"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"media\"; "
                "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
                "PNGDATA\r\n--%s\r\nContent-Disposition: form-data; "
                "name=\"media_category\"\r\n\r\ntweet_image\r\n--%s--\r\n"
                % (boundary, boundary, boundary)).encode()
        up = self.http("POST", "/2/media/upload", body=body,
                       ctype="multipart/form-data; boundary=" + boundary,
                       headers={"Authorization": "Bearer " + access})
        self.assertEqual(up.status, 200, up.text)
        media_id = up.json["data"]["id"]
        self.assertEqual(up.json["data"]["media_key"], "3_" + media_id)
        self.assertEqual(self.net.media[media_id]["size"], 7)
        got = self.tweet(access, "with image",
                         media={"media_ids": [media_id]})
        self.assertEqual(got.status, 201)
        self.assertEqual(self.control("state")["posts"][0]["media_ids"],
                         [media_id])
        bad = self.tweet(access, "bad image", media={"media_ids": ["1"]})
        self.assertEqual(bad.status, 400)
        plain = self.connect()["access_token"]
        self.assertEqual(self.http(
            "POST", "/2/media/upload", body={"media": "UE5H"},
            headers={"Authorization": "Bearer " + plain}).status, 403)

    # -- user events and revocation ------------------------------------------

    def test_revoked_user(self):
        tok = self.connect()
        self.control("revoke", {"user": "alice"})
        self.assertEqual(self.me(tok["access_token"]).status, 401)
        self.assertEqual(self.refresh(tok["refresh_token"]).status, 400)
        # Logging in again is a new consent.
        self.assertEqual(self.me(self.connect()["access_token"]).status, 200)

    def test_password_change(self):
        tok = self.connect()
        self.control("password", {"user": "alice"})
        self.assertEqual(self.tweet(tok["access_token"], "x").status, 401)
        self.assertEqual(self.refresh(tok["refresh_token"]).status, 400)

    def test_expired_tokens_can_be_refreshed(self):
        tok = self.connect()
        self.control("expire", {"user": "alice"})
        self.assertEqual(self.me(tok["access_token"]).status, 401)
        fresh = self.refresh(tok["refresh_token"])
        self.assertEqual(fresh.status, 200)
        self.assertEqual(self.me(fresh.json["access_token"]).status, 200)

    def test_revoke_endpoint(self):
        tok = self.connect()
        got = self.http("POST", "/2/oauth2/revoke",
                        form={"token": tok["refresh_token"],
                              "token_type_hint": "refresh_token",
                              "client_id": CLIENT},
                        headers={"Authorization": basic()})
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json, {"revoked": True})
        self.assertEqual(self.refresh(tok["refresh_token"]).status, 400)
        self.assertEqual(self.me(tok["access_token"]).status, 401)
        self.assertEqual(self.control("state")["revocations"],
                         [{"kind": "refresh", "user": "alice",
                           "hint": "refresh_token"}])
        unauth = self.http("POST", "/2/oauth2/revoke",
                           form={"token": "x", "client_id": CLIENT})
        self.assertEqual(unauth.status, 401)

    # -- controls ------------------------------------------------------------

    def test_faults_and_request_log(self):
        access = self.connect()["access_token"]
        self.control("fault", {"match": "^/2/tweets$", "count": 1,
                               "status": 503,
                               "body": "{\"title\":\"Service Unavailable\"}",
                               "headers": {"Retry-After": "5"}})
        got = self.tweet(access, "after fault")
        self.assertEqual(got.status, 503)
        self.assertEqual(got.headers["Retry-After"], "5")
        self.assertEqual(self.tweet(access, "after fault").status, 201)
        paths = [r["path"] for r in self.control("requests")["requests"]]
        self.assertEqual(paths[-2:], ["/2/tweets", "/2/tweets"])
        self.assertIn("/i/oauth2/authorize", paths)


if __name__ == "__main__":
    unittest.main()
