"""The X sandbox: OAuth 2.0 with PKCE, rotating refresh tokens, API v2.

Served under /x/ by sandbox.SandboxServer; point the twitter plugin's URL
keys at it:

    authorize_url  http://127.0.0.1:PORT/x/i/oauth2/authorize
    token_url      http://127.0.0.1:PORT/x/2/oauth2/token
    revoke_url     http://127.0.0.1:PORT/x/2/oauth2/revoke
    api_base       http://127.0.0.1:PORT/x        (api_version "2")

What it enforces, after X's documentation:

- authorize: known client, space-separated known scopes, state, an S256
  (or plain) code challenge; redirects to redirect_uri with code and
  state, or with error=access_denied after the deny control;
- token: HTTP Basic client authentication for a confidential client
  (setting "confidential", default true), client_id in the body for a
  public one; codes that are single-use, expire after code_lifetime_s
  (30 s) and need the exact redirect_uri and the PKCE verifier; access
  tokens of access_lifetime_s (7200 s); a refresh token only with
  offline.access; every refresh returns a new refresh token and kills the
  old one, and presenting a killed one again revokes the whole chain
  (every access and refresh token descending from the same consent);
- revoke: a refresh token revokes its chain, an access token itself;
- /2/users/me and /2/tweets with their scopes, rate-limit headers, the
  per-user 15-minute and the per-user and per-app 24-hour windows, the
  280 weighted-character limit, duplicate text, and the problem-JSON
  error bodies; /2/media/upload for image posts (scope media.write);
- user events: revoke and password change kill the user's tokens, expire
  ends the user's access tokens (a refresh still works).

Bodies and choices that the network's documentation leaves unconfirmed
are marked UNCONFIRMED here too.
"""

import base64
import email.parser
import email.policy
import hashlib
import json
import math
import re
import secrets
import unicodedata
import urllib.parse

import sandbox
from sandbox import Reply

KNOWN_SCOPES = {
    "tweet.read", "tweet.write", "tweet.moderate.write", "users.read",
    "users.email", "follows.read", "follows.write", "offline.access",
    "space.read", "mute.read", "mute.write", "like.read", "like.write",
    "list.read", "list.write", "block.read", "block.write",
    "bookmark.read", "bookmark.write", "media.write", "dm.read", "dm.write",
}

PROBLEMS = "https://api.x.com/2/problems/"
URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
TOO_LONG = ("Your Tweet text is too long. For more information on how "
            "Twitter determines text length see "
            "https://github.com/twitter/twitter-text.")
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
BAD_CODE = "Value passed for the authorization code was invalid."
# UNCONFIRMED: the answer to a dead refresh token.
BAD_TOKEN = "Value passed for the token was invalid."

# Code points weighing 1 in twitter-text's v3 configuration; others 2.
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def weighted_length(text):
    """X's length of text: URLs 23, light code points 1, others 2."""
    text = unicodedata.normalize("NFC", text)
    total = 23 * len(URL_RE.findall(text))
    for ch in URL_RE.sub("", text):
        cp = ord(ch)
        light = any(lo <= cp <= hi for lo, hi in LIGHT_RANGES)
        total += 1 if light else 2
    return total


def problem(status, title, detail, kind="about:blank", errors=None,
            headers=None):
    """An API error in X's problem JSON."""
    body = {"title": title, "detail": detail, "type": kind,
            "status": status}
    if errors:
        body["errors"] = errors
    return Reply(status, json.dumps(body), headers,
                 "application/problem+json")


def invalid_request(message, headers=None):
    return problem(400, "Invalid Request",
                   "One or more parameters to your request was invalid.",
                   PROBLEMS + "invalid-request",
                   [{"parameters": {}, "message": message}], headers)


def oauth_error(status, error, description):
    """A token endpoint error. Extra fields X may add: UNCONFIRMED."""
    return Reply(status, {"error": error, "error_description": description})


def s256(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class SandboxNetwork(sandbox.Network):
    name = "x"

    def __init__(self):
        self.codes = {}
        self.tokens = {}
        self.posts = []
        self.media = {}
        self.windows = {}
        self.revocations = []
        self.next_post_id = 1445880548472328192
        self.next_media_id = 1455952740635586573
        self.next_family = 1
        super().__init__()

    def default_settings(self):
        return {
            "client_id": "sandbox-x-client",
            "client_secret": "sandbox-x-secret",
            "confidential": True,
            # The registered callbacks; None accepts any.
            "redirect_uris": None,
            "access_lifetime_s": 7200,
            "code_lifetime_s": 30,
            # UNCONFIRMED: about six months unused.
            "refresh_lifetime_s": 180 * 86400,
            # The scopes a person grants; None grants what was asked.
            "grant_scopes": None,
            "max_text": 280,
            "me_limit_15min": 75,
            "tweets_limit_15min": 100,
            # Tier-dependent, UNCONFIRMED.
            "tweets_limit_24h_user": 2400,
            "tweets_limit_24h_app": 10000,
            # UNCONFIRMED: whether a password change ends app tokens.
            "password_change_kills_tokens": True,
        }

    def user_defaults(self, name):
        return {"username": name, "display_name": name.capitalize()}

    def routes(self):
        return [
            ("GET", r"/i/oauth2/authorize", self.authorize),
            ("POST", r"/2/oauth2/token", self.token_endpoint),
            ("POST", r"/2/oauth2/revoke", self.revoke_endpoint),
            ("GET", r"/2/users/me", self.users_me),
            ("POST", r"/2/tweets", self.create_post),
            ("POST", r"/2/media/upload", self.upload_media),
        ]

    def state(self):
        now = self.now()
        return {
            "users": self.users,
            "posts": self.posts,
            "media": self.media,
            "revocations": self.revocations,
            "codes": len(self.codes),
            "tokens": [dict(rec, token=tok, live=self.live(rec, now))
                       for tok, rec in self.tokens.items()],
        }

    # -- authorization ---------------------------------------------------

    def authorize(self, req, match):
        q = req.query
        s = self.settings
        redirect = q.get("redirect_uri", "")
        scopes = q.get("scope", "").split(" ")
        checks = [
            (q.get("client_id") == s["client_id"], "unknown client_id"),
            (q.get("response_type") == "code", "response_type must be code"),
            (redirect.startswith(("http://", "https://")),
             "redirect_uri missing"),
            (s["redirect_uris"] is None or redirect in s["redirect_uris"],
             "redirect_uri is not registered"),
            (0 < len(q.get("state", "")) <= 500, "state missing or too long"),
            (bool(q.get("code_challenge")), "code_challenge missing"),
            (q.get("code_challenge_method") in ("S256", "plain"),
             "code_challenge_method must be S256 or plain"),
            (all(sc in KNOWN_SCOPES for sc in scopes),
             "scope must be known scopes separated by spaces"),
        ]
        for ok, why in checks:
            if not ok:
                return Reply(400, "Something went wrong: %s\n" % why, None,
                             "text/plain")
        sep = "&" if "?" in redirect else "?"
        if self.deny_next:
            # UNCONFIRMED: the standard OAuth refusal, as X's is not cited.
            self.deny_next = False
            return Reply.redirect(redirect + sep + urllib.parse.urlencode(
                {"error": "access_denied", "state": q["state"]}))

        user = self.users[self.login_as]
        user["revoked"] = False
        granted = scopes
        if s["grant_scopes"] is not None:
            granted = [sc for sc in scopes if sc in s["grant_scopes"]]
        code = secrets.token_urlsafe(48)
        self.codes[code] = {
            "user": user["name"], "client_id": q["client_id"],
            "redirect_uri": redirect, "challenge": q["code_challenge"],
            "method": q["code_challenge_method"], "scope": granted,
            "expires": self.now() + s["code_lifetime_s"],
        }
        return Reply.redirect(redirect + sep + urllib.parse.urlencode(
            {"state": q["state"], "code": code}))

    def client_auth(self, req):
        """(client_id, None) or (None, error Reply) for a token request."""
        s = self.settings
        missing = oauth_error(401, "unauthorized_client",
                              "Missing valid authorization header")
        if "application/x-www-form-urlencoded" not in req.headers.get(
                "Content-Type", ""):
            return None, oauth_error(400, "invalid_request",
                                     "Content-Type must be "
                                     "application/x-www-form-urlencoded")
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:], validate=True).decode()
            except ValueError:
                return None, missing
            cid, _, secret = pair.partition(":")
            if cid != s["client_id"] or secret != s["client_secret"]:
                return None, missing
            if req.form.get("client_id", cid) != cid:
                return None, oauth_error(400, "invalid_request",
                                         "client_id does not match")
            return cid, None
        if s["confidential"]:
            return None, missing
        if req.form.get("client_id") != s["client_id"]:
            return None, oauth_error(400, "invalid_request",
                                     "Missing required parameter "
                                     "[client_id].")
        return req.form["client_id"], None

    def token_endpoint(self, req, match):
        cid, error = self.client_auth(req)
        if error:
            return error
        grant = req.form.get("grant_type")
        if grant == "authorization_code":
            return self.code_grant(req, cid)
        if grant == "refresh_token":
            return self.refresh_grant(req, cid)
        return oauth_error(400, "invalid_request",
                           "Value passed for the grant type was invalid.")

    def code_grant(self, req, cid):
        bad = oauth_error(400, "invalid_request", BAD_CODE)
        # Single use: a code is spent by its first presentation.
        code = self.codes.pop(req.form.get("code", ""), None)
        if not code or code["client_id"] != cid:
            return bad
        if self.now() > code["expires"]:
            return bad
        if req.form.get("redirect_uri") != code["redirect_uri"]:
            return bad
        verifier = req.form.get("code_verifier", "")
        expected = s256(verifier) if code["method"] == "S256" else verifier
        if not verifier or expected != code["challenge"]:
            return bad
        user = self.users[code["user"]]
        if user["revoked"]:
            return bad
        family = self.next_family
        self.next_family += 1
        return self.issue(user, cid, code["scope"], family)

    def refresh_grant(self, req, cid):
        bad = oauth_error(400, "invalid_request", BAD_TOKEN)
        rec = self.tokens.get(req.form.get("refresh_token", ""))
        if not rec or rec["kind"] != "refresh" or rec["client_id"] != cid:
            return bad
        if rec["dead"] == "rotated":
            # A spent refresh token again: treat the chain as stolen.
            self.kill(lambda r: r["family"] == rec["family"], "reused")
            return bad
        if not self.live(rec, self.now()):
            return bad
        rec["dead"] = "rotated"
        return self.issue(self.users[rec["user"]], cid, rec["scope"],
                          rec["family"])

    def issue(self, user, cid, scope, family):
        s = self.settings
        now = self.now()
        base = {"user": user["name"], "client_id": cid, "scope": scope,
                "family": family, "dead": None, "issued": now}
        access = secrets.token_urlsafe(48)
        self.tokens[access] = dict(base, kind="access",
                                   expires=now + s["access_lifetime_s"])
        body = {"token_type": "bearer", "expires_in": s["access_lifetime_s"],
                "access_token": access, "scope": " ".join(scope)}
        if "offline.access" in scope:
            refresh = secrets.token_urlsafe(48)
            self.tokens[refresh] = dict(
                base, kind="refresh", expires=now + s["refresh_lifetime_s"])
            body["refresh_token"] = refresh
        return Reply(200, body)

    def revoke_endpoint(self, req, match):
        cid, error = self.client_auth(req)
        if error:
            return error
        token = req.form.get("token", "")
        rec = self.tokens.get(token)
        if rec and rec["client_id"] == cid:
            if rec["kind"] == "refresh":
                self.kill(lambda r: r["family"] == rec["family"], "revoked")
            else:
                rec["dead"] = rec["dead"] or "revoked"
            self.revocations.append({"kind": rec["kind"],
                                     "user": rec["user"],
                                     "hint": req.form.get("token_type_hint")})
        # UNCONFIRMED: the body; RFC 7009 answers 200
        # for an unknown token too.
        return Reply(200, {"revoked": True})

    def live(self, rec, now):
        return not rec["dead"] and now < rec["expires"]

    def kill(self, which, reason):
        for rec in self.tokens.values():
            if which(rec) and not rec["dead"]:
                rec["dead"] = reason

    def on_user_event(self, action, user):
        mine = lambda r: r["user"] == user["name"]  # noqa: E731
        if action == "revoke":
            self.kill(mine, "revoked")
        elif action == "password":
            if self.settings["password_change_kills_tokens"]:
                self.kill(mine, "password")
        elif action == "expire":
            now = self.now()
            for rec in self.tokens.values():
                if mine(rec) and rec["kind"] == "access":
                    rec["expires"] = min(rec["expires"], now)

    # -- API ---------------------------------------------------------------

    def bearer(self, req, needs):
        """(token record, None) or (None, 401/403 Reply)."""
        rec = self.tokens.get(req.bearer() or "")
        if not rec or rec["kind"] != "access" or not self.live(
                rec, self.now()):
            return None, problem(401, "Unauthorized", "Unauthorized")
        if any(sc not in rec["scope"] for sc in needs):
            return None, problem(403, "Forbidden", "Forbidden")
        return rec, None

    def window(self, key, length):
        """The fixed window of key: [start, count], restarted when over."""
        now = self.now()
        win = self.windows.get(key)
        if not win or now >= win[0] + length:
            win = self.windows[key] = [now, 0]
        return win

    def limited(self, windows):
        """Checks (prefix, key, limit, length) windows and counts the
        request in each when none is exhausted: (allowed, headers)."""
        headers = {}
        allowed = all(self.window(key, length)[1] < limit
                      for _, key, limit, length in windows)
        for prefix, key, limit, length in windows:
            win = self.window(key, length)
            if allowed:
                win[1] += 1
            headers.update({
                prefix + "-limit": str(limit),
                prefix + "-remaining": str(max(limit - win[1], 0)),
                prefix + "-reset": str(int(math.ceil(win[0] + length)))})
        return allowed, headers

    def too_many(self, headers):
        return problem(429, "Too Many Requests", "Too Many Requests",
                       headers=headers)

    def users_me(self, req, match):
        rec, error = self.bearer(req, ["tweet.read", "users.read"])
        if error:
            return error
        ok, headers = self.limited([
            ("x-rate-limit", ("me", rec["user"]),
             self.settings["me_limit_15min"], 900)])
        if not ok:
            return self.too_many(headers)
        user = self.users[rec["user"]]
        return Reply(200, {"data": {"id": user["id"],
                                    "name": user["display_name"],
                                    "username": user["username"]}},
                     headers)

    def create_post(self, req, match):
        s = self.settings
        if "application/json" not in req.headers.get("Content-Type", ""):
            return invalid_request("Requests with bodies must have "
                                   "content-type of application/json.")
        rec, error = self.bearer(req,
                                 ["tweet.read", "tweet.write", "users.read"])
        if error:
            return error
        ok, headers = self.limited([
            ("x-rate-limit", ("tweets", rec["user"]),
             s["tweets_limit_15min"], 900),
            ("x-user-limit-24hour", ("tweets24", rec["user"]),
             s["tweets_limit_24h_user"], 86400),
            ("x-app-limit-24hour", ("tweets24app",),
             s["tweets_limit_24h_app"], 86400)])
        if not ok:
            return self.too_many(headers)

        body = req.json if isinstance(req.json, dict) else None
        if body is None:
            return invalid_request("The request body is not a JSON object.",
                                   headers)
        text = body.get("text")
        media = body.get("media") or {}
        ids = media.get("media_ids") if isinstance(media, dict) else None
        if text is not None and not isinstance(text, str):
            return invalid_request("$.text must be a string", headers)
        if not text and not ids:
            return invalid_request("text is required unless media is given",
                                   headers)
        if ids is not None and not self.media_ok(ids, rec["user"]):
            return invalid_request("Your media IDs are invalid.", headers)
        if text and weighted_length(text) > s["max_text"]:
            # UNCONFIRMED: 400, text in both places.
            return problem(400, "Invalid Request", TOO_LONG.split(". ")[0]
                           + ".", PROBLEMS + "invalid-request",
                           [{"parameters": {}, "message": TOO_LONG}],
                           headers)
        if text and any(p["user"] == rec["user"] and p["text"] == text
                        for p in self.posts):
            return problem(403, "Forbidden", DUPLICATE, headers=headers)

        post_id = str(self.next_post_id)
        self.next_post_id += 1 + secrets.randbelow(1000)
        user = self.users[rec["user"]]
        self.posts.append({"id": post_id, "user": rec["user"],
                           "author_id": user["id"], "text": text or "",
                           "media_ids": list(ids or []),
                           "created_at": self.now()})
        shown = URL_RE.sub(
            lambda m: "https://t.co/" + secrets.token_urlsafe(8)[:10],
            text or "")
        return Reply(201, {"data": {"id": post_id, "text": shown,
                                    "edit_history_post_ids": [post_id]}},
                     headers)

    def media_ok(self, ids, user):
        return (isinstance(ids, list) and 1 <= len(ids) <= 4 and
                all(isinstance(i, str) and self.media.get(i, {}).get("user")
                    == user for i in ids))

    def upload_media(self, req, match):
        rec, error = self.bearer(req, ["media.write"])
        if error:
            return error
        data, category = self.read_upload(req)
        if not data:
            return invalid_request("media is required")
        media_id = str(self.next_media_id)
        self.next_media_id += 1
        self.media[media_id] = {"user": rec["user"], "size": len(data),
                                "category": category,
                                "sha256": hashlib.sha256(data).hexdigest()}
        return Reply(200, {"data": {"id": media_id,
                                    "media_key": "3_" + media_id,
                                    "size": len(data),
                                    "expires_after_secs": 86400}})

    def read_upload(self, req):
        """(bytes, media_category) of a multipart or JSON base64 upload."""
        ctype = req.headers.get("Content-Type", "")
        if "multipart/form-data" in ctype:
            parser = email.parser.BytesParser(policy=email.policy.HTTP)
            msg = parser.parsebytes(b"Content-Type: " + ctype.encode() +
                                    b"\r\n\r\n" + req.raw)
            parts = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                parts[name] = part.get_payload(decode=True)
            category = (parts.get("media_category") or b"").decode()
            return parts.get("media"), category
        if isinstance(req.json, dict):
            try:
                data = base64.b64decode(req.json.get("media", ""))
            except ValueError:
                data = None
            return data, req.json.get("media_category", "")
        return None, ""
