"""Sandbox Facebook: the login dialog, Graph API tokens, Pages and posting.

Speaks Facebook's documented wire protocol (docs/networks/facebook.md)
under `/facebook`, with or without a `/v{major}.{minor}` version prefix,
so the plugin's
`login_base_url` and `graph_base_url` can both point at
`http://127.0.0.1:PORT/facebook`:

    GET  /v25.0/dialog/oauth          login dialog: 302 to redirect_uri
                                      with code and state (or the refusal)
    GET  /v25.0/oauth/access_token    code -> short-lived user token;
                                      grant_type=fb_exchange_token ->
                                      long-lived user token
    GET  /v25.0/me                    identity (fields=id,name)
    GET  /v25.0/me/accounts           Pages with Page tokens, paged
    POST /v25.0/{page-id}/feed        text / link post (Page token)
    POST /v25.0/{page-id}/photos      photo post by url (Page token)
    DELETE /v25.0/me/permissions      the person removes the app

Rules it enforces: client_id everywhere; client_secret in the query string
of the token endpoint (not a form body, not HTTP Basic); codes are single
use, expire after `code_lifetime_s` and need the exact redirect_uri of the
dialog; short-lived tokens live `short_lifetime_s` (3600), long-lived ones
`long_lifetime_s` (5184000), an expired token cannot be exchanged; a Page
token is issued per user token and Page, never expires when it comes from
a long-lived token, and dies with the user's session (password change, app
removal); posting needs the Page's own token with pages_manage_posts and
pages_read_engagement.

Error bodies are the Meta envelope of Meta's documentation. Test levers beyond
the base controls:

    POST /_control/facebook/revoke    {"user"}  app removed: 190/458
    POST /_control/facebook/password  {"user"}  password changed: 190/460
    POST /_control/facebook/expire    {"user"}  tokens expired: 190/463
    POST /_control/facebook/logout    {"user"}  logged out: 190/467
    POST /_control/facebook/throttle  {"code": 4|17|32|613, "count": 1,
                                       "minutes": 5, "match": "/feed"}
    POST /_control/facebook/transient {"code": 1|2, "status": 500,
                                       "count": 1, "match": ""}
    POST /_control/facebook/settings  {"declined_scopes": [...],
                                       "accounts_page_size": 2, ...}

Choices of this fake where the network's documentation leaves a point
unconfirmed or says nothing: the refusal redirect carries
error_reason=user_denied, error=access_denied, error_description=Permissions
error; the paging block
is {"cursors": {"before", "after"}, "next"}; a wrong client secret is code
100 "Error validating client secret."; re-exchanging a valid long-lived
token gives a new one with a full lifetime; a post without message and
link is code 100, a photo without url code 324, the same text posted twice
in a row to a Page code 506.
"""

import base64
import hashlib
import json
import re
import secrets
import time
import urllib.parse

import sandbox

V = r"(?:/v\d+\.\d+)?"

POST_SCOPES = ("pages_manage_posts", "pages_read_engagement")

THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}

TRANSIENT_MESSAGES = {
    1: "An unknown error has occurred.",
    2: "An unexpected error has occurred. Please retry your request later.",
}


def fb_time(t):
    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(t))


def cursor(index):
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def uncursor(text):
    try:
        pad = "=" * (-len(text) % 4)
        return int(base64.urlsafe_b64decode(text + pad).decode())
    except (ValueError, UnicodeDecodeError):
        return None


def add_query(url, **params):
    params = {k: v for k, v in params.items() if v is not None}
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(params)


class SandboxNetwork(sandbox.Network):
    name = "facebook"

    def __init__(self):
        self.codes = {}
        self.tokens = {}
        self.page_tokens = {}
        self.posts = []
        self.throttles = []
        self.transients = []
        self.seq = 0
        super().__init__()

    # -- declarations ---------------------------------------------------

    def default_settings(self):
        return {
            "client_id": "sandbox-facebook-app",
            "client_secret": "sandbox-facebook-secret",
            "code_lifetime_s": 600,
            "short_lifetime_s": 3600,
            "long_lifetime_s": 5184000,
            "accounts_page_size": 25,
            "declined_scopes": [],
        }

    def user_defaults(self, name):
        titles = (["Bakery", "Cafe", "Deli"] if name == "alice"
                  else ["Page"])
        pages = []
        for title in titles:
            digest = hashlib.sha256(
                ("facebook-page:%s:%s" % (name, title)).encode())
            pages.append({"id": str(int(digest.hexdigest()[:13], 16)),
                          "name": "%s's %s" % (name.capitalize(), title)})
        return {"display": "%s Example" % name.capitalize(),
                "pages": pages}

    def routes(self):
        return [
            ("GET", V + r"/dialog/oauth", self.dialog),
            ("GET", V + r"/oauth/access_token", self.access_token),
            ("POST", V + r"/oauth/access_token", self.access_token),
            ("GET", V + r"/me", self.me),
            ("GET", V + r"/(me|\d+)/accounts", self.accounts),
            ("POST", V + r"/(\d+)/feed", self.feed),
            ("POST", V + r"/(\d+)/photos", self.photos),
            ("DELETE", V + r"/(me|\d+)/permissions", self.permissions),
        ]

    def state(self):
        return {"users": self.users, "codes": self.codes,
                "tokens": self.tokens, "posts": self.posts,
                "throttles": self.throttles,
                "transients": self.transients}

    # -- controls ---------------------------------------------------------

    def _control(self, action, body):
        if action == "logout":
            self.mark_tokens(self.users[body["user"]], "logged_out")
            return {"user": self.users[body["user"]]}
        if action == "throttle":
            code = int(body.get("code", 4))
            if code not in THROTTLE_MESSAGES:
                return {"error": "code must be one of 4, 17, 32, 613"}
            self.throttles.append({"code": code,
                                   "count": int(body.get("count", 1)),
                                   "minutes": int(body.get("minutes", 0)),
                                   "match": body.get("match", "")})
            return {"throttles": self.throttles}
        if action == "transient":
            self.transients.append({"code": int(body.get("code", 2)),
                                    "status": int(body.get("status", 500)),
                                    "count": int(body.get("count", 1)),
                                    "match": body.get("match", "")})
            return {"transients": self.transients}
        return super()._control(action, body)

    def on_user_event(self, action, user):
        if action == "revoke":
            self.mark_tokens(user, "removed")
            # Logging in again (the dialog) re-authorizes the app and
            # clears user["revoked"]; the old tokens stay dead.
        elif action == "expire":
            self.mark_tokens(user, "expired")
        # "password": the base bumped password_version; tokens issued
        # under the old one fail with 460.

    def mark_tokens(self, user, flag):
        for rec in self.tokens.values():
            if rec["user"] == user["name"]:
                rec[flag] = True

    # -- replies ----------------------------------------------------------

    def error(self, message, code, subcode=None, status=400,
              transient=None, headers=None):
        err = {"message": message, "type": "OAuthException", "code": code}
        if subcode is not None:
            err["error_subcode"] = subcode
        if transient is not None:
            err["is_transient"] = transient
        err["fbtrace_id"] = "A" + secrets.token_urlsafe(9)
        return sandbox.Reply(status, {"error": err}, headers)

    def ok(self, body):
        usage = {"call_count": 1, "total_time": 1, "total_cputime": 1}
        return sandbox.Reply(200, body, {"X-App-Usage": json.dumps(usage)})

    def take(self, queue, path):
        for item in queue:
            if item["count"] > 0 and item["match"] in path:
                item["count"] -= 1
                if item["count"] == 0:
                    queue.remove(item)
                return item
        return None

    def fault(self, req, graph=True):
        """The throttle or transient error this request meets, if any."""
        item = self.take(self.transients, req.path)
        if item:
            return self.error(TRANSIENT_MESSAGES.get(item["code"],
                                                     "Temporary error"),
                              item["code"], status=item["status"],
                              transient=True)
        item = self.take(self.throttles, req.path) if graph else None
        if not item:
            return None
        headers = {}
        if item["code"] in (4, 17):
            headers["X-App-Usage"] = json.dumps(
                {"call_count": 100, "total_time": 25, "total_cputime": 25})
        else:
            owner = re.search(r"/(\d+)/", req.path + "/")
            headers["X-Business-Use-Case-Usage"] = json.dumps(
                {owner.group(1) if owner else self.settings["client_id"]:
                 [{"type": "pages", "call_count": 100,
                        "total_cputime": 12, "total_time": 20,
                        "estimated_time_to_regain_access":
                            item["minutes"]}]})
        return self.error(THROTTLE_MESSAGES[item["code"]], item["code"],
                          transient=item["code"] == 4, headers=headers)

    # -- tokens -----------------------------------------------------------

    def issue(self, kind, user, scopes, lifetime, **extra):
        value = self.token({"short": "EAAshort", "long": "EAAlong",
                            "page": "EAApage"}[kind])
        rec = {"kind": kind, "user": user["name"], "scopes": list(scopes),
               "issued_at": self.now(),
               "expires_at": self.now() + lifetime if lifetime else 0,
               "password_version": user["password_version"]}
        rec.update(extra)
        self.tokens[value] = rec
        return value

    def check(self, value):
        """(record, None) for a live token, or (None, error Reply)."""
        rec = self.tokens.get(value) if value else None
        if not rec:
            return None, self.error("Invalid OAuth access token data.", 190)
        user = self.users[rec["user"]]
        if rec.get("removed"):
            return None, self.error(
                "Error validating access token: The user has not "
                "authorized application %s." % self.settings["client_id"],
                190, 458)
        if rec["password_version"] != user["password_version"]:
            return None, self.error(
                "Error validating access token: The session has been "
                "invalidated because the user changed their password or "
                "Facebook has changed the session for security reasons.",
                190, 460)
        if rec.get("logged_out"):
            return None, self.error(
                "Error validating access token: The session is invalid "
                "because the user logged out.", 190, 467)
        expires = rec["expires_at"]
        if rec.get("expired") or (expires and self.now() >= expires):
            return None, self.error(
                "Error validating access token: Session has expired on "
                "%s. The current time is %s." %
                (fb_time(expires or self.now()), fb_time(self.now())),
                190, 463)
        return rec, None

    # -- login dialog -----------------------------------------------------

    def dialog(self, req, m):
        q = req.query
        if q.get("client_id") != self.settings["client_id"]:
            return sandbox.Reply(400, "Invalid App ID", ctype="text/plain")
        redirect = q.get("redirect_uri")
        if not redirect:
            return sandbox.Reply(400, "redirect_uri is required",
                                 ctype="text/plain")
        if q.get("response_type", "code") != "code":
            return sandbox.Reply(400, "the sandbox only issues codes",
                                 ctype="text/plain")
        if self.deny_next:
            self.deny_next = False
            return sandbox.Reply.redirect(add_query(
                redirect, error_reason="user_denied", error="access_denied",
                error_description="Permissions error", state=q.get("state")))
        user = self.users[self.login_as]
        user["revoked"] = False
        asked = [s for s in q.get("scope", "").split(",") if s]
        granted = [s for s in asked
                   if s not in self.settings["declined_scopes"]]
        code = "AQ" + secrets.token_urlsafe(32)
        self.codes[code] = {
            "user": user["name"], "redirect_uri": redirect,
            "scopes": granted + ["public_profile"], "used": False,
            "expires_at": self.now() + self.settings["code_lifetime_s"]}
        return sandbox.Reply.redirect(
            add_query(redirect, code=code, state=q.get("state")))

    # -- token endpoint -----------------------------------------------------

    def access_token(self, req, m):
        q = req.query
        if q.get("client_id") != self.settings["client_id"]:
            return self.error("Error validating application. Invalid "
                              "application ID.", 101)
        if "client_secret" not in q:
            where = ("a form body" if "client_secret" in req.form
                     else "nowhere")
            return self.error("Missing client_secret parameter: the "
                              "sandbox wants it in the query string, got "
                              "it in %s." % where, 100)
        if q["client_secret"] != self.settings["client_secret"]:
            return self.error("Error validating client secret.", 100)
        fault = self.fault(req, graph=False)
        if fault:
            return fault
        if q.get("grant_type") == "fb_exchange_token":
            return self.exchange_token(q.get("fb_exchange_token"))
        if q.get("grant_type"):
            return self.error("Unsupported grant_type.", 100)
        return self.exchange_code(q.get("code"), q.get("redirect_uri"))

    def exchange_code(self, code, redirect):
        grant = self.codes.get(code) if code else None
        if not grant:
            return self.error("Invalid verification code format.", 100)
        if grant["used"]:
            return self.error("This authorization code has been used.", 100)
        if self.now() >= grant["expires_at"]:
            return self.error("This authorization code has expired.", 100)
        if redirect != grant["redirect_uri"]:
            return self.error(
                "Error validating verification code. Please make sure "
                "your redirect_uri is identical to the one you used in "
                "the OAuth dialog request", 100)
        grant["used"] = True
        lifetime = self.settings["short_lifetime_s"]
        value = self.issue("short", self.users[grant["user"]],
                           grant["scopes"], lifetime)
        return self.ok({"access_token": value, "token_type": "bearer",
                        "expires_in": lifetime})

    def exchange_token(self, value):
        rec, err = self.check(value)
        if err:
            return err
        if rec["kind"] == "page":
            return self.error("(#100) fb_exchange_token must be a user "
                              "access token", 100)
        lifetime = self.settings["long_lifetime_s"]
        new = self.issue("long", self.users[rec["user"]], rec["scopes"],
                         lifetime)
        return self.ok({"access_token": new, "token_type": "bearer",
                        "expires_in": lifetime})

    # -- Graph API ------------------------------------------------------------

    def me(self, req, m):
        rec, err = self.check(req.bearer())
        if err:
            return err
        fault = self.fault(req)
        if fault:
            return fault
        user = self.users[rec["user"]]
        if rec["kind"] == "page":
            page = self.find_page(rec["page"])
            node = {"id": page["id"], "name": page["name"]}
        else:
            node = {"id": user["id"], "name": user["display"]}
        fields = req.query.get("fields", "id,name").split(",")
        return self.ok({k: v for k, v in node.items()
                        if k in fields or k == "id"})

    def find_page(self, page_id):
        for user in self.users.values():
            for page in user["pages"]:
                if page["id"] == page_id:
                    return page
        return None

    def page_token(self, value, rec, page):
        key = value + "|" + page["id"]
        if key not in self.page_tokens:
            # From a long-lived token a Page token never expires; from
            # a short-lived one it ends with it.
            lifetime = (0 if rec["kind"] == "long"
                        else max(rec["expires_at"] - self.now(), 1))
            self.page_tokens[key] = self.issue(
                "page", self.users[rec["user"]], rec["scopes"], lifetime,
                page=page["id"], source=value)
        return self.page_tokens[key]

    def accounts(self, req, m):
        value = req.bearer()
        rec, err = self.check(value)
        if err:
            return err
        fault = self.fault(req)
        if fault:
            return fault
        user = self.users[rec["user"]]
        if rec["kind"] == "page" or (m.group(1) != "me" and
                                     m.group(1) != user["id"]):
            return self.error("(#100) Tried accessing nonexisting field "
                              "(accounts)", 100)
        pages = user["pages"] if "pages_show_list" in rec["scopes"] else []
        q = dict(req.query)
        limit = min(int(q.get("limit") or
                        self.settings["accounts_page_size"]), 100)
        start = 0
        if q.get("after"):
            last = uncursor(q["after"])
            if last is None:
                return self.error("(#100) Invalid after cursor", 100)
            start = last + 1
        fields = q.get("fields", "id,name").split(",")
        data = []
        for page in pages[start:start + limit]:
            item = {"id": page["id"]}
            if "name" in fields:
                item["name"] = page["name"]
            if "access_token" in fields:
                item["access_token"] = self.page_token(value, rec, page)
            if "tasks" in fields:
                item["tasks"] = ["MANAGE", "CREATE_CONTENT"]
            data.append(item)
        body = {"data": data}
        if data:
            end = start + len(data) - 1
            body["paging"] = {"cursors": {"before": cursor(start),
                                          "after": cursor(end)}}
            if end + 1 < len(pages):
                q["after"] = cursor(end)
                host = req.headers.get("Host", "127.0.0.1")
                body["paging"]["next"] = "http://%s/%s%s?%s" % (
                    host, self.name, req.path, urllib.parse.urlencode(q))
        return self.ok(body)

    def post_token(self, req, page_id):
        """(record, None) when the token may post to page_id."""
        rec, err = self.check(req.bearer())
        if err:
            return None, err
        if not self.find_page(page_id):
            return None, self.error(
                "Unsupported post request. Object with ID '%s' does not "
                "exist, cannot be loaded due to missing permissions, or "
                "does not support this operation." % page_id, 100, 33)
        if (rec["kind"] != "page" or rec["page"] != page_id or
                any(s not in rec["scopes"] for s in POST_SCOPES)):
            return None, self.error(
                "(#200) If posting to a page, requires both "
                "pages_read_engagement and pages_manage_posts as an admin "
                "with sufficient administrative permission", 200)
        fault = self.fault(req)
        if fault:
            return None, fault
        return rec, None

    def record_post(self, rec, page_id, kind, **fields):
        self.seq += 1
        post_id = "%s_%d" % (page_id, 100000 + self.seq)
        post = {"id": post_id, "page": page_id, "kind": kind,
                "user": rec["user"], "created_at": self.now()}
        post.update(fields)
        self.posts.append(post)
        return post

    def feed(self, req, m):
        page_id = m.group(1)
        rec, err = self.post_token(req, page_id)
        if err:
            return err
        message = req.param("message") or ""
        link = req.param("link") or ""
        if not message and not link:
            return self.error("(#100) Missing message or attachment", 100)
        mine = [p for p in self.posts if p["page"] == page_id]
        if (mine and mine[-1]["kind"] == "feed" and
                mine[-1]["message"] == message and mine[-1]["link"] == link):
            return self.error("(#506) Duplicate status message", 506)
        post = self.record_post(rec, page_id, "feed", message=message,
                                link=link)
        return self.ok({"id": post["id"]})

    def photos(self, req, m):
        page_id = m.group(1)
        rec, err = self.post_token(req, page_id)
        if err:
            return err
        url = req.param("url")
        if not url:
            return self.error("(#324) Requires upload file", 324)
        caption = req.param("caption") or req.param("message") or ""
        post = self.record_post(rec, page_id, "photo", url=url,
                                caption=caption)
        post["photo_id"] = str(900000000 + self.seq)
        return self.ok({"id": post["photo_id"], "post_id": post["id"]})

    def permissions(self, req, m):
        rec, err = self.check(req.bearer())
        if err:
            return err
        if rec["kind"] == "page":
            return self.error("(#100) A user access token is required",
                              100)
        fault = self.fault(req)
        if fault:
            return fault
        self.mark_tokens(self.users[rec["user"]], "removed")
        return self.ok({"success": True})
