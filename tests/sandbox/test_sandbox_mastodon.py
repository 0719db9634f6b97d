"""Checks that the Mastodon sandbox speaks Mastodon's protocol.

Starts the sandbox in-process on a loopback port and drives it over real
HTTP with urllib, as the plugin would: the login redirect with PKCE, the
token endpoint's rules, identity, statuses with Idempotency-Key, the
500-character limit, rate limiting, media uploads, revocation and the
test controls.
"""

import base64
import datetime
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
import sandbox_mastodon  # noqa: E402

REDIRECT = "https://herald.example/v1/oauth/mastodon/callback"
SCOPES = "read:accounts write:statuses write:media"
CLIENT = "sandbox-mastodon-client"
SECRET = "sandbox-mastodon-secret"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def challenge(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.text = body.decode(errors="replace")
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None


class MastodonSandboxTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = sandbox.SandboxServer(
            [sandbox_mastodon.SandboxNetwork()]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.net = sandbox_mastodon.SandboxNetwork()
        self.server.networks["mastodon"] = self.net
        self.base = self.server.base("mastodon")

    # -- helpers -----------------------------------------------------------

    def http(self, method, path, form=None, body=None, headers=None,
             token=None):
        h = dict(headers or {})
        data = body
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if token:
            h["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.base + path, data=data,
                                     headers=h, method=method)
        try:
            with OPENER.open(req, timeout=10) as resp:
                return Answer(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def authorize(self, verifier, **extra):
        query = {"response_type": "code", "client_id": CLIENT,
                 "redirect_uri": REDIRECT, "scope": SCOPES,
                 "state": "st-1", "code_challenge": challenge(verifier),
                 "code_challenge_method": "S256"}
        query.update(extra)
        return self.http("GET", "/oauth/authorize?" +
                         urllib.parse.urlencode(query))

    def code_of(self, answer):
        self.assertEqual(answer.status, 302, answer.text)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(
            answer.headers["Location"]).query)
        self.assertEqual(q["state"], ["st-1"])
        return q.get("code", [None])[0], q

    def exchange(self, code, verifier, **extra):
        form = {"grant_type": "authorization_code", "code": code,
                "client_id": CLIENT, "client_secret": SECRET,
                "redirect_uri": REDIRECT, "code_verifier": verifier}
        form.update(extra)
        return self.http("POST", "/oauth/token", form=form)

    def login(self, user="alice"):
        self.net.control("login", {"user": user})
        verifier = secrets.token_urlsafe(40)
        code, _ = self.code_of(self.authorize(verifier))
        answer = self.exchange(code, verifier)
        self.assertEqual(answer.status, 200, answer.text)
        return answer.json["access_token"]

    def status(self, token, text, key=None, media=()):
        form = [("status", text), ("visibility", "public")]
        form += [("media_ids[]", m) for m in media]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if key:
            headers["Idempotency-Key"] = key
        return self.http("POST", "/api/v1/statuses",
                         body=urllib.parse.urlencode(form).encode(),
                         headers=headers, token=token)

    def upload(self, token, data=b"\xff\xd8jpeg", ctype="image/jpeg"):
        boundary = "b-" + secrets.token_hex(8)
        body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                 "filename=\"a.jpg\"\r\nContent-Type: %s\r\n\r\n")
                % (boundary, ctype)).encode() + data + (
                    "\r\n--%s--\r\n" % boundary).encode()
        return self.http("POST", "/api/v2/media", body=body, headers={
            "Content-Type": "multipart/form-data; boundary=" + boundary},
            token=token)

    # -- authorization -----------------------------------------------------

    def test_code_flow_with_pkce(self):
        verifier = secrets.token_urlsafe(40)
        code, _ = self.code_of(self.authorize(verifier))
        answer = self.exchange(code, verifier)
        self.assertEqual(answer.status, 200, answer.text)
        self.assertEqual(answer.json["token_type"], "Bearer")
        self.assertEqual(answer.json["scope"], SCOPES)
        self.assertIsInstance(answer.json["created_at"], int)
        self.assertNotIn("refresh_token", answer.json)
        self.assertNotIn("expires_in", answer.json)
        me = self.http("GET", "/api/v1/accounts/verify_credentials",
                       token=answer.json["access_token"])
        self.assertEqual(me.status, 200)
        self.assertEqual(me.json["acct"], "alice")
        self.assertEqual(me.json["id"], self.net.users["alice"]["id"])

    def test_authorize_needs_s256_and_known_scopes(self):
        verifier = secrets.token_urlsafe(40)
        self.assertEqual(self.authorize(
            verifier, code_challenge_method="plain").status, 400)
        self.assertEqual(self.authorize(verifier, scope="tweet.write").status,
                         400)
        self.assertEqual(self.authorize(verifier, client_id="x").status, 400)

    def test_deny(self):
        self.net.control("login", {"deny": True})
        code, q = self.code_of(self.authorize("v" * 43))
        self.assertIsNone(code)
        self.assertEqual(q["error"], ["access_denied"])

    def test_code_is_single_use_and_bound(self):
        verifier = secrets.token_urlsafe(40)
        code, _ = self.code_of(self.authorize(verifier))
        wrong = self.exchange(code, "not-the-verifier")
        self.assertEqual(wrong.status, 400)
        self.assertEqual(wrong.json["error"], "invalid_grant")
        # The failed try spent the code.
        self.assertEqual(self.exchange(code, verifier).status, 400)
        code, _ = self.code_of(self.authorize(verifier))
        self.assertEqual(self.exchange(code, verifier,
                                       client_secret="bad").status, 401)

    # -- statuses ----------------------------------------------------------

    def test_idempotency_key_makes_one_status(self):
        token = self.login()
        first = self.status(token, "hello", key="k-1")
        again = self.status(token, "hello", key="k-1")
        self.assertEqual(first.status, 200, first.text)
        self.assertEqual(again.status, 200)
        self.assertEqual(first.json["id"], again.json["id"])
        self.assertTrue(first.json["url"].endswith(first.json["id"]))
        other = self.status(token, "hello", key="k-2")
        self.assertNotEqual(other.json["id"], first.json["id"])
        posts = self.net.control("state", {})["posts"]
        self.assertEqual([p["idempotency_key"] for p in posts],
                         ["k-1", "k-2"])
        # Past its retention the key is forgotten.
        self.net.control("clock", {"advance_s": 3601})
        late = self.status(token, "hello", key="k-1")
        self.assertNotEqual(late.json["id"], first.json["id"])

    def test_500_characters_with_urls_as_23(self):
        token = self.login()
        self.assertEqual(self.status(token, "a" * 500).status, 200)
        long = self.status(token, "b" * 501)
        self.assertEqual(long.status, 422)
        self.assertIn("character limit of 500", long.json["error"])
        url = "https://example.com/" + "p" * 200
        self.assertEqual(self.status(token, "c" * 476 + " " + url).status,
                         200)
        self.assertEqual(self.status(token, "d" * 477 + " " + url).status,
                         422)

    def test_rate_limit_headers_and_429(self):
        self.net.control("settings", {"statuses_limit": 2})
        token = self.login()
        ok = self.status(token, "one")
        self.assertEqual(ok.headers["X-RateLimit-Limit"], "2")
        self.assertEqual(ok.headers["X-RateLimit-Remaining"], "1")
        self.status(token, "two")
        limited = self.status(token, "three")
        self.assertEqual(limited.status, 429)
        self.assertEqual(limited.headers["X-RateLimit-Remaining"], "0")
        reset = datetime.datetime.strptime(
            limited.headers["X-RateLimit-Reset"],
            "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        self.assertGreater(reset, datetime.datetime.now(
            datetime.timezone.utc))
        self.assertEqual(len(self.net.posts), 2)

    def test_media_upload_processing_and_attach(self):
        self.net.control("settings", {"media_processing_polls": 1})
        token = self.login()
        up = self.upload(token)
        self.assertEqual(up.status, 202, up.text)
        self.assertIsNone(up.json["url"])
        early = self.status(token, "pic", media=[up.json["id"]])
        self.assertEqual(early.status, 422)
        self.assertEqual(self.http("GET", "/api/v1/media/" + up.json["id"],
                                   token=token).status, 206)
        done = self.http("GET", "/api/v1/media/" + up.json["id"],
                         token=token)
        self.assertEqual(done.status, 200)
        self.assertTrue(done.json["url"])
        posted = self.status(token, "pic", media=[up.json["id"]])
        self.assertEqual(posted.status, 200, posted.text)
        self.assertEqual(posted.json["media_attachments"][0]["id"],
                         up.json["id"])
        self.assertEqual(self.net.posts[-1]["media_ids"], [up.json["id"]])
        self.assertEqual(self.upload(token, ctype="text/plain").status, 422)

    def test_scopes_are_enforced(self):
        self.net.control("settings", {"grant_scopes": ["read:accounts"]})
        token = self.login()
        refused = self.status(token, "hi")
        self.assertEqual(refused.status, 403)
        self.assertIn("scopes", refused.json["error"])

    # -- revocation and controls --------------------------------------------

    def test_revoke_control_and_endpoint(self):
        token = self.login()
        self.net.control("revoke", {"user": "alice"})
        gone = self.status(token, "hi")
        self.assertEqual(gone.status, 401)
        self.assertEqual(gone.json["error"], "The access token was revoked")
        token = self.login()
        self.assertEqual(self.status(token, "back").status, 200)
        answer = self.http("POST", "/oauth/revoke", form={
            "client_id": CLIENT, "client_secret": SECRET, "token": token})
        self.assertEqual(answer.status, 200)
        self.assertEqual(self.status(token, "x").status, 401)
        unknown = self.http("GET", "/api/v1/accounts/verify_credentials",
                            token="nope")
        self.assertEqual(unknown.json["error"], "The access token is invalid")

    def test_fault_and_request_log(self):
        token = self.login()
        self.net.control("fault", {"match": "/api/v1/statuses",
                                   "status": 503, "body": "{}"})
        self.assertEqual(self.status(token, "x").status, 503)
        self.assertEqual(self.status(token, "x", key="k").status, 200)
        seen = self.net.control("requests", {})["requests"]
        self.assertEqual(seen[-1]["headers"].get("Idempotency-Key"), "k")


if __name__ == "__main__":
    unittest.main(verbosity=2)
