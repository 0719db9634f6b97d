"""Sandbox Instagram: the Instagram API with Instagram Login, on loopback.

Serves, under the `/instagram` prefix, the three Instagram hosts the
plugin talks to (see docs/networks/instagram.md):

    www.instagram.com    GET  /oauth/authorize
    api.instagram.com    POST /oauth/access_token
    graph.instagram.com  GET  /graph/access_token          ig_exchange_token
                         GET  /graph/refresh_access_token  ig_refresh_token
                         GET  /graph[/vX.Y]/me
                         POST /graph[/vX.Y]/{ig-user-id}/media
                         POST /graph[/vX.Y]/{ig-user-id}/media_publish
                         GET  /graph[/vX.Y]/{ig-user-id}/
                              content_publishing_limit
                         GET  /graph[/vX.Y]/{container-id or media-id}

so the plugin's keys point at `http://127.0.0.1:PORT/instagram/oauth/
authorize`, `.../instagram/oauth/access_token` and `.../instagram/graph`.

Rules it enforces: the app's client_id and client_secret (settings),
single-use codes that expire (code_lifetime_s), the exact redirect_uri of
the authorization, instagram_business_basic in the scopes, short-lived
tokens (short_lifetime_s, 1 h), long-lived ones (long_lifetime_s, 60 d),
ig_refresh_token only for a long-lived token at least refresh_min_age_s
(24 h) old and unexpired, instagram_business_content_publish for
publishing, containers that answer IN_PROGRESS to their first
container_polls status reads and expire after container_lifetime_s, and
a publishing cap of publish_cap posts per rolling 24 hours reported by
content_publishing_limit (which honours `since`).

Error bodies follow the Meta envelope of Meta's documentation; the code
endpoint answers with the flat {"error_type", "code", "error_message"}
shape of api.instagram.com. Choices where the documentation leaves it
unconfirmed: the too-young refresh answer is code 100, an extended token
leaves the old one valid until it expires, a `since` older than 24 h is
clamped.

Extra controls beyond sandbox.py's:

    POST /_control/instagram/permissions {"user": "alice",
         "scopes": ["instagram_business_basic"]}   grant only these, now
         and at the next logins
    POST /_control/instagram/error {"kind": "transient", "match": "...",
         "count": 1}   answer the next matching requests with one of the
         documented bodies in ERRORS
    POST /_control/instagram/quota {"user": "alice",
         "published_ago_s": [3600, 7200]}   count API posts made that many
         seconds ago (by another app of the account) against the
         publishing cap, as content_publishing_limit and media_publish do
"""

import hashlib
import json
import time
import urllib.parse

import sandbox
from sandbox import Reply

BASIC = "instagram_business_basic"
PUBLISH = "instagram_business_content_publish"
KNOWN_SCOPES = {BASIC, PUBLISH, "instagram_business_manage_comments",
                "instagram_business_manage_messages",
                "instagram_business_manage_insights"}
GRAPH = r"/graph(?:/v\d+\.\d+)?"

CAP_MESSAGE = ("You reached maximum number of posts that is allowed to be "
               "published by Content Publishing API.")


def meta_error(code, message, subcode=None, transient=None,
               etype="OAuthException"):
    """The Meta error envelope ."""
    err = {"message": message, "type": etype, "code": code,
           "fbtrace_id": "AsandboxTrace1"}
    if subcode is not None:
        err["error_subcode"] = subcode
    if transient is not None:
        err["is_transient"] = transient
    return {"error": err}


# Documented bodies, for the "error" control and for tests: (status, body).
ERRORS = {
    "expired": (400, meta_error(
        190, "Error validating access token: Session has expired on "
        "Monday, 02-Nov-20 10:00:00 PST. The current time is Monday, "
        "02-Nov-20 11:02:27 PST.", 463)),
    "password_changed": (400, meta_error(
        190, "Error validating access token: The session has been "
        "invalidated because the user changed their password or Facebook "
        "has changed the session for security reasons.", 460)),
    "app_removed": (400, meta_error(
        190, "Error validating access token: The user has not authorized "
        "application 875877299126.", 458)),
    "invalid_token": (400, meta_error(190, "Invalid OAuth access token.")),
    "permission": (400, meta_error(
        10, "(#10) Application does not have permission for this action")),
    "app_rate_limit": (400, meta_error(
        4, "(#4) Application request limit reached", transient=True)),
    "user_rate_limit": (400, meta_error(17, "(#17) User request limit "
                                        "reached")),
    "transient": (500, meta_error(
        2, "An unexpected error has occurred. Please retry your request "
        "later.", transient=True)),
    "server_error": (400, meta_error(-1, "Instagram server error.",
                                     2207001, False)),
    "fetch_timeout": (400, meta_error(
        -2, "It took too long to download the media.", 2207003, False)),
    "container_expired": (400, meta_error(
        -2, "The media you are trying to access has expired. Please try to "
        "upload again.", 2207020, False)),
    "not_ready": (400, meta_error(
        9007, "The media is not ready for publishing, please wait for a "
        "moment", 2207027, False)),
    "publish_cap": (400, meta_error(9, CAP_MESSAGE, 2207042, False)),
    "spam_block": (400, meta_error(
        4, "We restrict certain activity to protect our community.",
        2207051, False)),
    "image_too_large": (400, meta_error(
        36000, "The image size is too large.", 2207004, False)),
    "caption_too_long": (400, meta_error(
        100, "The caption is too long.", 2207010, False)),
    "invalid_parameter": (400, meta_error(
        100, "(#100) Invalid parameter")),
}


def flat_error(message):
    """The api.instagram.com error shape of the code exchange."""
    return Reply(400, {"error_type": "OAuthException", "code": 400,
                       "error_message": message})


def err(status_body):
    status, body = status_body
    return Reply(status, body)


class SandboxNetwork(sandbox.Network):
    name = "instagram"

    def __init__(self):
        self.codes = {}
        self.tokens = {}
        self.containers = {}
        self.media = {}
        self.publishes = []
        self.calls = []
        self.next_id = 17889455560051444
        self.next_media = 17920238422030506
        super().__init__()

    def default_settings(self):
        return {
            "client_id": "sandbox-instagram-app",
            "client_secret": "sandbox-instagram-secret",
            "code_lifetime_s": 3600,
            "short_lifetime_s": 3600,
            "long_lifetime_s": 5184000,
            "refresh_min_age_s": 86400,
            "refresh_same_token": False,
            "token_shape": "flat",
            "container_polls": 0,
            "container_lifetime_s": 86400,
            "publish_cap": 50,
            "user_call_limit": 0,
            "app_call_limit": 0,
        }

    def user_defaults(self, name):
        digest = hashlib.sha256(("instagram-ig:" + name).encode())
        digits = str(int(digest.hexdigest(), 16))[-11:]
        return {"username": name, "allowed_scopes": None,
                "ig_id": "178414" + digits}

    def routes(self):
        return [
            ("GET", r"/oauth/authorize", self.authorize),
            ("POST", r"/oauth/access_token", self.code_exchange),
            ("GET", r"/graph/access_token", self.long_lived),
            ("GET", r"/graph/refresh_access_token", self.refresh),
            ("GET", GRAPH + r"/me", self.me),
            ("POST", GRAPH + r"/(\d+)/media", self.create_container),
            ("POST", GRAPH + r"/(\d+)/media_publish", self.media_publish),
            ("GET", GRAPH + r"/(\d+)/content_publishing_limit",
             self.publishing_limit),
            ("GET", GRAPH + r"/(\d+)", self.read_object),
        ]

    # -- helpers ------------------------------------------------------------

    def new_id(self):
        self.next_id += 1
        return str(self.next_id)

    def user_by_ig_id(self, ig_id):
        for user in self.users.values():
            if user["ig_id"] == ig_id:
                return user
        return None

    @staticmethod
    def stamp(t):
        return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(t))

    def issue(self, user, kind, scopes):
        lifetime = self.settings["short_lifetime_s" if kind == "short"
                                 else "long_lifetime_s"]
        token = self.token("IGAA" + kind)
        self.tokens[token] = {
            "user": user["name"], "kind": kind, "scopes": list(scopes),
            "issued_at": self.now(), "expires_at": self.now() + lifetime,
            "password_version": user["password_version"], "revoked": False}
        return token, lifetime

    def rate_limited(self, user):
        """Counts a Graph call; answers code 17 or 4 past the limits."""
        now = self.now()
        self.calls = [c for c in self.calls if c[1] > now - 3600]
        app_limit = int(self.settings["app_call_limit"])
        user_limit = int(self.settings["user_call_limit"])
        mine = [c for c in self.calls if c[0] == user["name"]]
        if app_limit and len(self.calls) >= app_limit:
            usage = {"call_count": 100, "total_cputime": 40,
                     "total_time": 40}
            return Reply(400, ERRORS["app_rate_limit"][1],
                         {"X-App-Usage": json.dumps(usage)})
        if user_limit and len(mine) >= user_limit:
            wait = int((mine[0][1] + 3600 - now + 59) // 60)
            usage = {user["ig_id"]: [{
                "type": "instagram", "call_count": 100, "total_cputime": 30,
                "total_time": 30, "estimated_time_to_regain_access": wait}]}
            return Reply(400, ERRORS["user_rate_limit"][1],
                         {"X-Business-Use-Case-Usage": json.dumps(usage)})
        self.calls.append((user["name"], now))
        return None

    def check_token(self, req, need=BASIC, count=True):
        """Returns (token record, user, None) or (None, None, Reply)."""
        value = req.bearer()
        rec = self.tokens.get(value or "")
        if not rec:
            return None, None, Reply(400, meta_error(
                190, "Invalid OAuth access token - Cannot parse access "
                "token"))
        user = self.users[rec["user"]]
        if rec["revoked"]:
            return None, None, Reply(400, meta_error(
                190, "Error validating access token: The user has not "
                "authorized application %s." % self.settings["client_id"],
                458))
        if rec["password_version"] != user["password_version"]:
            return None, None, err(ERRORS["password_changed"])
        if self.now() >= rec["expires_at"]:
            return None, None, Reply(400, meta_error(
                190, "Error validating access token: Session has expired on "
                "%s. The current time is %s." % (
                    time.strftime("%A, %d-%b-%y %H:%M:%S UTC",
                                  time.gmtime(rec["expires_at"])),
                    time.strftime("%A, %d-%b-%y %H:%M:%S UTC",
                                  time.gmtime(self.now()))), 463))
        if need and need not in rec["scopes"]:
            return None, None, err(ERRORS["permission"])
        if count:
            limited = self.rate_limited(user)
            if limited:
                return None, None, limited
        return rec, user, None

    @staticmethod
    def unsupported(method, object_id):
        return Reply(400, meta_error(
            100, "Unsupported %s request. Object with ID '%s' does not "
            "exist, cannot be loaded due to missing permissions, or does "
            "not support this operation." % (method, object_id), 33,
            etype="GraphMethodException"))

    # -- Business Login for Instagram ---------------------------------------

    def authorize(self, req, m):
        q = req.query
        for field in ("client_id", "redirect_uri", "response_type",
                      "scope"):
            if not q.get(field):
                return flat_error("Missing required field %s" % field)
        if q["client_id"] != self.settings["client_id"]:
            return flat_error("Invalid platform app")
        if q["response_type"] != "code":
            return flat_error("Invalid response_type")
        scopes = [s for s in q["scope"].replace(",", " ").split() if s]
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            return flat_error("Invalid scope: %s" % ",".join(unknown))
        if BASIC not in scopes:
            return flat_error("Invalid scope: %s is required" % BASIC)
        sep = "&" if "?" in q["redirect_uri"] else "?"
        if self.deny_next:
            self.deny_next = False
            params = {"error": "access_denied", "error_reason": "user_denied",
                      "error_description": "The user denied your request."}
            if "state" in q:
                params["state"] = q["state"]
            return Reply.redirect(q["redirect_uri"] + sep +
                                  urllib.parse.urlencode(params) + "#_")
        user = self.users[self.login_as]
        user["revoked"] = False
        allowed = user["allowed_scopes"]
        granted = [s for s in scopes if allowed is None or s in allowed]
        code = self.token("AQ")
        self.codes[code] = {
            "user": user["name"], "redirect_uri": q["redirect_uri"],
            "scopes": granted, "expires_at":
                self.now() + self.settings["code_lifetime_s"],
            "used": False}
        params = {"code": code}
        if "state" in q:
            params["state"] = q["state"]
        return Reply.redirect(q["redirect_uri"] + sep +
                              urllib.parse.urlencode(params) + "#_")

    def code_exchange(self, req, m):
        f = req.form
        for field in ("client_id", "client_secret", "grant_type",
                      "redirect_uri", "code"):
            if not f.get(field):
                return flat_error("Missing required field %s" % field)
        if f["client_id"] != self.settings["client_id"]:
            return flat_error("Invalid platform app")
        if f["client_secret"] != self.settings["client_secret"]:
            return flat_error("Error validating client secret.")
        if f["grant_type"] != "authorization_code":
            return flat_error("Unsupported grant_type")
        rec = self.codes.get(f["code"])
        if not rec or rec["used"]:
            return flat_error("Matching code was not found or was already "
                              "used.")
        if self.now() >= rec["expires_at"]:
            return flat_error("This authorization code has expired.")
        if rec["redirect_uri"] != f["redirect_uri"]:
            return flat_error(
                "Error validating verification code. Please make sure your "
                "redirect_uri is identical to the one you used in the OAuth "
                "dialog request")
        rec["used"] = True
        user = self.users[rec["user"]]
        token, _ = self.issue(user, "short", rec["scopes"])
        permissions = ",".join(rec["scopes"])
        if self.settings["token_shape"] == "nested":
            return Reply(200, {"data": [{
                "access_token": token, "user_id": user["ig_id"],
                "permissions": permissions}]})
        return Reply(200, {"access_token": token,
                           "user_id": int(user["ig_id"]),
                           "permissions": permissions})

    def long_lived(self, req, m):
        if req.query.get("grant_type") != "ig_exchange_token":
            return Reply(400, meta_error(100, "Unsupported grant_type"))
        if req.query.get("client_secret") != self.settings["client_secret"]:
            return Reply(400, meta_error(101, "Error validating client "
                                         "secret."))
        rec, user, error = self.check_token(req, count=False)
        if error:
            return error
        token, lifetime = self.issue(user, "long", rec["scopes"])
        return Reply(200, {"access_token": token, "token_type": "bearer",
                           "expires_in": lifetime})

    def refresh(self, req, m):
        if req.query.get("grant_type") != "ig_refresh_token":
            return Reply(400, meta_error(100, "Unsupported grant_type"))
        rec, user, error = self.check_token(req, count=False)
        if error:
            return error
        if rec["kind"] != "long":
            return Reply(400, meta_error(
                100, "(#100) Only long-lived tokens can be refreshed."))
        if self.now() - rec["issued_at"] < self.settings["refresh_min_age_s"]:
            return Reply(400, meta_error(
                100, "(#100) The access token can be refreshed once it is "
                "at least 24 hours old."))
        lifetime = self.settings["long_lifetime_s"]
        if self.settings["refresh_same_token"]:
            token = req.bearer()
            rec["issued_at"] = self.now()
            rec["expires_at"] = self.now() + lifetime
        else:
            token, lifetime = self.issue(user, "long", rec["scopes"])
        return Reply(200, {"access_token": token, "token_type": "bearer",
                           "expires_in": lifetime})

    def me(self, req, m):
        rec, user, error = self.check_token(req)
        if error:
            return error
        fields = (req.query.get("fields") or "id").split(",")
        values = {"id": user["id"], "user_id": user["ig_id"],
                  "username": user["username"], "name": user["name"].title(),
                  "account_type": "BUSINESS"}
        out = {k: values[k] for k in fields if k in values}
        out["id"] = user["id"]
        return Reply(200, out)

    # -- publishing ----------------------------------------------------------

    def owner_check(self, user, ig_id, method):
        if user["ig_id"] != ig_id:
            return self.unsupported(method, ig_id)
        return None

    def create_container(self, req, m):
        rec, user, error = self.check_token(req, PUBLISH)
        if error:
            return error
        error = self.owner_check(user, m.group(1), "post")
        if error:
            return error
        image = req.param("image_url")
        caption = req.param("caption") or ""
        if req.param("media_type") or req.param("video_url"):
            return Reply(400, meta_error(
                100, "(#100) The sandbox takes single images only."))
        if not image:
            return Reply(400, meta_error(
                100, "(#100) The parameter image_url is required."))
        if len(caption) > 2200:
            return err(ERRORS["caption_too_long"])
        if "too-large" in image:
            return err(ERRORS["image_too_large"])
        if "slow-host" in image:
            return err(ERRORS["fetch_timeout"])
        cid = self.new_id()
        self.containers[cid] = {
            "id": cid, "user": user["name"], "image_url": image,
            "caption": caption, "created_at": self.now(), "polls": 0,
            "media_id": None, "error": "bad-format" in image}
        return Reply(200, {"id": cid})

    def container_status(self, c, count):
        if c["media_id"]:
            return "PUBLISHED", "Published: Media has been published"
        if self.now() - c["created_at"] > self.settings[
                "container_lifetime_s"]:
            return "EXPIRED", "Expired: Media was not published within " \
                "24 hours"
        if c["error"]:
            return "ERROR", "Error: Media upload has failed with error " \
                "code 2207026"
        if count:
            c["polls"] += 1
        if c["polls"] > int(self.settings["container_polls"]):
            return "FINISHED", "Finished: Media container uploaded " \
                "successfully"
        return "IN_PROGRESS", "In Progress: Media is still being processed"

    def read_object(self, req, m):
        rec, user, error = self.check_token(req)
        if error:
            return error
        oid = m.group(1)
        fields = (req.query.get("fields") or "id").split(",")
        c = self.containers.get(oid)
        if c and c["user"] == user["name"]:
            code, status = self.container_status(c, "status_code" in fields)
            values = {"id": oid, "status_code": code, "status": status}
            return Reply(200, {k: values[k] for k in fields + ["id"]
                               if k in values})
        media = self.media.get(oid)
        if media and media["user"] == user["name"]:
            values = dict(media)
            values["username"] = user["username"]
            values["media_type"] = "IMAGE"
            values["media_url"] = media["image_url"]
            return Reply(200, {k: values[k] for k in fields + ["id"]
                               if k in values})
        if oid == user["ig_id"]:
            return self.me(req, m)
        return self.unsupported("get", oid)

    def published_since(self, user, since):
        floor = self.now() - 86400
        return [t for (name, t) in self.publishes
                if name == user["name"] and t > floor and t >= since]

    def media_publish(self, req, m):
        rec, user, error = self.check_token(req, PUBLISH)
        if error:
            return error
        error = self.owner_check(user, m.group(1), "post")
        if error:
            return error
        cid = req.param("creation_id")
        c = self.containers.get(cid or "")
        if not c or c["user"] != user["name"]:
            return Reply(400, meta_error(
                100, "(#100) The parameter creation_id is invalid."))
        if c["media_id"]:
            return Reply(400, meta_error(
                100, "(#100) This media container has already been "
                "published."))
        code, status = self.container_status(c, False)
        if code == "EXPIRED":
            return err(ERRORS["container_expired"])
        if code == "ERROR":
            return Reply(400, meta_error(
                9004, "Only photo or video can be accepted as media type.",
                2207026, False))
        if code != "FINISHED":
            return err(ERRORS["not_ready"])
        if len(self.published_since(user, 0)) >= int(
                self.settings["publish_cap"]):
            return err(ERRORS["publish_cap"])
        self.next_media += 1
        mid = str(self.next_media)
        now = self.now()
        c["media_id"] = mid
        self.publishes.append((user["name"], now))
        self.media[mid] = {
            "id": mid, "user": user["name"], "caption": c["caption"],
            "image_url": c["image_url"], "container_id": c["id"],
            "timestamp": self.stamp(now), "published_at": now,
            "permalink": "https://www.instagram.com/p/SB%s/" % mid[-9:]}
        return Reply(200, {"id": mid})

    def publishing_limit(self, req, m):
        rec, user, error = self.check_token(req)
        if error:
            return error
        error = self.owner_check(user, m.group(1), "get")
        if error:
            return error
        since = req.query.get("since")
        try:
            since = float(since) if since else 0
        except ValueError:
            return Reply(400, meta_error(100, "(#100) Param since must be a "
                                         "unix timestamp"))
        fields = (req.query.get("fields") or "quota_usage").split(",")
        entry = {"quota_usage": len(self.published_since(user, since))}
        if "config" in fields:
            entry["config"] = {"quota_total": int(
                self.settings["publish_cap"]), "quota_duration": 86400}
        return Reply(200, {"data": [entry]})

    # -- controls and state ---------------------------------------------------

    def _control(self, action, body):
        if action == "permissions":
            user = self.users[body["user"]]
            scopes = list(body.get("scopes", []))
            user["allowed_scopes"] = scopes
            for rec in self.tokens.values():
                if rec["user"] == user["name"]:
                    rec["scopes"] = [s for s in rec["scopes"] if s in scopes]
            return {"user": user}
        if action == "quota":
            user = self.users[body["user"]]
            ages = body.get("published_ago_s", [])
            if not isinstance(ages, list) or not all(
                    isinstance(a, (int, float)) and a >= 0 for a in ages):
                return {"error": "published_ago_s must be a list of "
                                 "seconds >= 0"}
            now = self.now()
            self.publishes.extend((user["name"], now - a) for a in ages)
            self.publishes.sort(key=lambda p: p[1])
            return {"quota_usage": len(self.published_since(user, 0))}
        if action == "error":
            status, err_body = ERRORS[body["kind"]]
            return super()._control("fault", {
                "match": body.get("match", ""),
                "count": body.get("count", 1), "status": status,
                "body": json.dumps(err_body),
                "headers": body.get("headers", {})})
        return super()._control(action, body)

    def on_user_event(self, action, user):
        for rec in self.tokens.values():
            if rec["user"] != user["name"]:
                continue
            if action == "revoke":
                rec["revoked"] = True
            elif action == "expire":
                rec["expires_at"] = self.now() - 1

    def state(self):
        users = {name: {"ig_id": u["ig_id"], "app_scoped_id": u["id"],
                        "username": u["username"], "revoked": u["revoked"],
                        "password_version": u["password_version"],
                        "allowed_scopes": u["allowed_scopes"]}
                 for name, u in self.users.items()}
        tokens = [dict(rec, token=t) for t, rec in self.tokens.items()]
        posts = sorted(self.media.values(), key=lambda p: p["published_at"])
        quota = {name: len(self.published_since(u, 0))
                 for name, u in self.users.items()}
        return {"users": users, "tokens": tokens,
                "containers": list(self.containers.values()),
                "posts": posts, "quota_usage": quota,
                "settings": self.settings}
