"""The Mastodon sandbox: one instance, OAuth 2.0 with PKCE, REST API v1/v2.

Served under /mastodon/ by sandbox.SandboxServer; the plugin's
instance_url is http://127.0.0.1:PORT/mastodon.

What it enforces, after Mastodon's documentation:

- authorize (GET /oauth/authorize): known client, registered
  redirect_uri, known space-separated scopes, an S256 code challenge;
  redirects with code and state, or error=access_denied after the deny
  control;
- token (POST /oauth/token): client_id and client_secret in the body
  (or HTTP Basic); single-use codes of code_lifetime_s (600 s) that need
  the exact redirect_uri and the PKCE verifier; the answer is
  {"access_token", "token_type": "Bearer", "scope", "created_at"} and
  the token does not expire; there is no refresh token;
- revoke (POST /oauth/revoke): ends a token; 200 {} for any token;
- GET /api/v1/accounts/verify_credentials (scope read:accounts);
- POST /api/v1/statuses (write:statuses): status, visibility,
  media_ids[]; the 500-character limit with every URL counting 23 (422
  otherwise); Idempotency-Key: the same key from the same account within
  idempotency_ttl_s answers the status already made; a per-account
  window with X-RateLimit-Limit/Remaining/Reset (ISO 8601) and 429 when
  spent;
- POST /api/v2/media (write:media), multipart "file": 200 when ready, or
  202 while processing (setting media_processing_polls > 0), then
  GET /api/v1/media/:id answers 206 until ready and 200 after; a status
  naming media still processing is refused with 422;
- errors as {"error": "..."}: 401 for a revoked or unknown token, 403 for
  a missing scope, 422 for validation;
- user events: revoke (the person removed the app) and password change
  end the user's tokens; expire does nothing, tokens do not expire.

Choices the documentation leaves open are marked UNCONFIRMED.
"""

import base64
import datetime
import email.parser
import email.policy
import hashlib
import re
import secrets
import urllib.parse

import sandbox
from sandbox import Reply

KNOWN_SCOPES = {
    "read", "write", "follow", "push", "profile", "read:accounts",
    "read:statuses", "write:statuses", "write:media", "write:accounts",
}
URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
BAD_GRANT = ("The provided authorization grant is invalid, expired, "
             "revoked, does not match the redirection URI used in the "
             "authorization request, or was issued to another client.")
BAD_CLIENT = ("Client authentication failed due to unknown client, no "
              "client authentication included, or unsupported "
              "authentication method.")


def text_length(text):
    """Mastodon's length of a status: every URL 23, the rest by code
    point (Mastodon counts grapheme clusters: UNCONFIRMED here)."""
    return 23 * len(URL_RE.findall(text)) + len(URL_RE.sub("", text))


def error(status, message, headers=None):
    return Reply(status, {"error": message}, headers)


def iso(ts):
    return datetime.datetime.fromtimestamp(
        ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def s256(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def has_scope(granted, needed):
    """Whether granted covers needed ("write" covers "write:media")."""
    return needed in granted or needed.split(":")[0] in granted


class SandboxNetwork(sandbox.Network):
    name = "mastodon"

    def __init__(self):
        self.codes = {}
        self.tokens = {}
        self.posts = []
        self.media = {}
        self.keys = {}
        self.windows = {}
        self.revocations = []
        self.next_id = 109876543210000000
        super().__init__()

    def default_settings(self):
        return {
            "client_id": "sandbox-mastodon-client",
            "client_secret": "sandbox-mastodon-secret",
            # The app's registered redirect URIs; None accepts any.
            "redirect_uris": None,
            "code_lifetime_s": 600,
            "grant_scopes": None,
            "max_text": 500,
            "idempotency_ttl_s": 3600,
            # UNCONFIRMED: the window of status creation per account.
            "statuses_limit": 300,
            "statuses_window_s": 10800,
            # Status requests answered 206 before an upload is ready; 0
            # makes uploads ready at once (200).
            "media_processing_polls": 0,
            # UNCONFIRMED: whether a password change ends app tokens.
            "password_change_kills_tokens": True,
        }

    def user_defaults(self, name):
        return {"username": name, "display_name": name.capitalize()}

    def routes(self):
        return [
            ("GET", r"/oauth/authorize", self.authorize),
            ("POST", r"/oauth/token", self.token_endpoint),
            ("POST", r"/oauth/revoke", self.revoke_endpoint),
            ("GET", r"/api/v1/accounts/verify_credentials",
             self.verify_credentials),
            ("POST", r"/api/v1/statuses", self.create_status),
            ("POST", r"/api/v2/media", self.upload_media),
            ("GET", r"/api/v1/media/([0-9]+)", self.media_status),
        ]

    def state(self):
        return {
            "users": self.users,
            "posts": self.posts,
            "media": self.media,
            "revocations": self.revocations,
            "codes": len(self.codes),
            "tokens": [dict(rec, token=tok)
                       for tok, rec in self.tokens.items()],
        }

    def new_id(self):
        self.next_id += 1 + secrets.randbelow(1000)
        return str(self.next_id)

    # -- authorization ---------------------------------------------------

    def authorize(self, req, match):
        q = req.query
        s = self.settings
        redirect = q.get("redirect_uri", "")
        scopes = q.get("scope", "read").split(" ")
        checks = [
            (q.get("client_id") == s["client_id"], "unknown client"),
            (q.get("response_type") == "code", "response_type must be code"),
            (redirect.startswith(("http://", "https://")),
             "redirect_uri missing"),
            (s["redirect_uris"] is None or redirect in s["redirect_uris"],
             "redirect_uri is not registered"),
            (bool(q.get("code_challenge")), "code_challenge missing"),
            (q.get("code_challenge_method") == "S256",
             "code_challenge_method must be S256"),
            (all(sc in KNOWN_SCOPES for sc in scopes),
             "scope must be known scopes separated by spaces"),
        ]
        for ok, why in checks:
            if not ok:
                # UNCONFIRMED: Doorkeeper shows an HTML error page.
                return Reply(400, "The request is invalid: %s\n" % why,
                             None, "text/plain")
        sep = "&" if "?" in redirect else "?"
        back = {"state": q["state"]} if q.get("state") else {}
        if self.deny_next:
            self.deny_next = False
            back.update({"error": "access_denied",
                         "error_description": "The resource owner or "
                         "authorization server denied the request."})
            return Reply.redirect(redirect + sep +
                                  urllib.parse.urlencode(back))
        user = self.users[self.login_as]
        user["revoked"] = False
        granted = scopes
        if s["grant_scopes"] is not None:
            granted = [sc for sc in scopes if sc in s["grant_scopes"]]
        code = secrets.token_urlsafe(32)
        self.codes[code] = {
            "user": user["name"], "redirect_uri": redirect,
            "challenge": q["code_challenge"], "scope": granted,
            "expires": self.now() + s["code_lifetime_s"],
        }
        back["code"] = code
        return Reply.redirect(redirect + sep + urllib.parse.urlencode(back))

    def client_ok(self, req):
        s = self.settings
        cid = req.form.get("client_id")
        secret = req.form.get("client_secret")
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:], validate=True).decode()
            except ValueError:
                return False
            cid, _, secret = pair.partition(":")
        return cid == s["client_id"] and secret == s["client_secret"]

    def token_endpoint(self, req, match):
        if not self.client_ok(req):
            return Reply(401, {"error": "invalid_client",
                               "error_description": BAD_CLIENT})
        if req.form.get("grant_type") != "authorization_code":
            return Reply(400, {"error": "unsupported_grant_type",
                               "error_description": "The authorization "
                               "grant type is not supported by the "
                               "authorization server."})
        bad = Reply(400, {"error": "invalid_grant",
                          "error_description": BAD_GRANT})
        code = self.codes.pop(req.form.get("code", ""), None)
        if not code or self.now() > code["expires"]:
            return bad
        if req.form.get("redirect_uri") != code["redirect_uri"]:
            return bad
        if s256(req.form.get("code_verifier", "")) != code["challenge"]:
            return bad
        user = self.users[code["user"]]
        token = secrets.token_urlsafe(32)
        self.tokens[token] = {"user": user["name"], "scope": code["scope"],
                              "dead": None, "issued": self.now()}
        return Reply(200, {"access_token": token, "token_type": "Bearer",
                           "scope": " ".join(code["scope"]),
                           "created_at": int(self.now())})

    def revoke_endpoint(self, req, match):
        if not self.client_ok(req):
            return Reply(403, {"error": "unauthorized_client",
                               "error_description": "You are not "
                               "authorized to revoke this token"})
        rec = self.tokens.get(req.form.get("token", ""))
        if rec:
            rec["dead"] = rec["dead"] or "revoked"
            self.revocations.append({"user": rec["user"]})
        return Reply(200, {})

    def on_user_event(self, action, user):
        kill = action == "revoke" or (
            action == "password" and
            self.settings["password_change_kills_tokens"])
        if kill:
            for rec in self.tokens.values():
                if rec["user"] == user["name"] and not rec["dead"]:
                    rec["dead"] = "revoked"

    # -- API ---------------------------------------------------------------

    def bearer(self, req, scope):
        """(token record, None) or (None, 401/403 Reply)."""
        rec = self.tokens.get(req.bearer() or "")
        if not rec:
            return None, error(401, "The access token is invalid")
        if rec["dead"]:
            return None, error(401, "The access token was revoked")
        if not has_scope(rec["scope"], scope):
            return None, error(403, "This action is outside the authorized "
                               "scopes")
        return rec, None

    def account(self, user):
        return {"id": user["id"], "username": user["username"],
                "acct": user["username"],
                "display_name": user["display_name"],
                "url": "https://mastodon.example/@" + user["username"]}

    def verify_credentials(self, req, match):
        rec, err = self.bearer(req, "read:accounts")
        if err:
            return err
        return Reply(200, self.account(self.users[rec["user"]]))

    def limited(self, user):
        """(allowed, headers) of the user's status window."""
        s = self.settings
        now = self.now()
        win = self.windows.get(user)
        if not win or now >= win[0] + s["statuses_window_s"]:
            win = self.windows[user] = [now, 0]
        allowed = win[1] < s["statuses_limit"]
        if allowed:
            win[1] += 1
        return allowed, {
            "X-RateLimit-Limit": str(s["statuses_limit"]),
            "X-RateLimit-Remaining": str(max(s["statuses_limit"] - win[1],
                                             0)),
            "X-RateLimit-Reset": iso(win[0] + s["statuses_window_s"])}

    def status_params(self, req):
        """(text, visibility, media ids) from a form or JSON body."""
        if isinstance(req.json, dict):
            body = req.json
            return (body.get("status") or "", body.get("visibility"),
                    list(body.get("media_ids") or []))
        ids = urllib.parse.parse_qs(req.raw.decode(errors="replace")).get(
            "media_ids[]", [])
        return (req.form.get("status") or "", req.form.get("visibility"),
                ids)

    def create_status(self, req, match):
        rec, err = self.bearer(req, "write:statuses")
        if err:
            return err
        user = self.users[rec["user"]]
        key = req.headers.get("Idempotency-Key")
        known = self.keys.get((user["name"], key)) if key else None
        if known and self.now() < known["until"]:
            # The same status again, as Mastodon answers a repeat.
            return Reply(200, known["status"])
        ok, headers = self.limited(user["name"])
        if not ok:
            return error(429, "Too many requests", headers)
        text, visibility, ids = self.status_params(req)
        if visibility not in (None, "public", "unlisted", "private",
                              "direct"):
            return error(422, "Validation failed: Visibility is not "
                         "included in the list", headers)
        if not text and not ids:
            return error(422, "Validation failed: Text can't be blank",
                         headers)
        if text_length(text) > self.settings["max_text"]:
            return error(422, "Validation failed: Text character limit of "
                         "%d exceeded" % self.settings["max_text"], headers)
        if len(ids) > 4:
            return error(422, "Validation failed: Media attachments are "
                         "too many", headers)
        for mid in ids:
            m = self.media.get(mid)
            if not m or m["user"] != user["name"] or m["status"]:
                return error(422, "Validation failed: Media is invalid",
                             headers)
            if m["polls_left"] > 0:
                return error(422, "Cannot attach files that have not "
                             "finished processing. Try again in a moment!",
                             headers)
        status_id = self.new_id()
        for mid in ids:
            self.media[mid]["status"] = status_id
        url = "https://mastodon.example/@%s/%s" % (user["username"],
                                                   status_id)
        status = {
            "id": status_id, "uri": url.replace("/@", "/users/"),
            "url": url, "content": "<p>%s</p>" % text,
            "visibility": visibility or "public",
            "created_at": iso(self.now()),
            "media_attachments": [{"id": mid, "type": "image"}
                                  for mid in ids],
            "account": self.account(user),
        }
        self.posts.append({"id": status_id, "user": user["name"],
                           "text": text, "visibility": status["visibility"],
                           "media_ids": ids, "idempotency_key": key,
                           "created_at": self.now()})
        if key:
            self.keys[(user["name"], key)] = {
                "status": status,
                "until": self.now() + self.settings["idempotency_ttl_s"]}
        return Reply(200, status, headers)

    def read_file(self, req):
        ctype = req.headers.get("Content-Type", "")
        if "multipart/form-data" not in ctype:
            return None, None
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        msg = parser.parsebytes(b"Content-Type: " + ctype.encode() +
                                b"\r\n\r\n" + req.raw)
        for part in msg.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                return part.get_payload(decode=True), part.get_content_type()
        return None, None

    def upload_media(self, req, match):
        rec, err = self.bearer(req, "write:media")
        if err:
            return err
        data, ctype = self.read_file(req)
        if not data:
            return error(422, "Validation failed: File can't be blank")
        if not ctype.startswith("image/"):
            return error(422, "Validation failed: File content type is "
                         "invalid, File is invalid")
        media_id = self.new_id()
        polls = int(self.settings["media_processing_polls"])
        self.media[media_id] = {
            "user": rec["user"], "size": len(data), "type": ctype,
            "sha256": hashlib.sha256(data).hexdigest(),
            "polls_left": polls, "status": None}
        body = self.attachment(media_id)
        return Reply(202 if polls > 0 else 200, body)

    def attachment(self, media_id):
        m = self.media[media_id]
        ready = m["polls_left"] <= 0
        return {"id": media_id, "type": "image",
                "url": ("https://files.mastodon.example/%s.jpg" % media_id
                        if ready else None),
                "preview_url": "https://files.mastodon.example/%s-s.jpg"
                               % media_id}

    def media_status(self, req, match):
        rec, err = self.bearer(req, "write:media")
        if err:
            return err
        m = self.media.get(match.group(1))
        if not m or m["user"] != rec["user"]:
            return error(404, "Record not found")
        if m["polls_left"] > 0:
            m["polls_left"] -= 1
            return Reply(206, self.attachment(match.group(1)))
        return Reply(200, self.attachment(match.group(1)))
