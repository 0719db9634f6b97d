"""LinkedIn sandbox: LinkedIn's wire protocol on loopback .

Served under /linkedin/ by sandbox.SandboxServer:

    GET  /oauth/v2/authorization     login and consent, auto-approved as
                                     login_as; 302 to redirect_uri
    POST /oauth/v2/accessToken       code and refresh grants, client
                                     credentials in the form body
    POST /oauth/v2/introspectToken   token status, for tests
    GET  /v2/userinfo                OpenID identity (unversioned)
    POST /rest/posts                 create a post; 201 + x-restli-id
    POST /rest/images?action=initializeUpload
    PUT  /dms-uploads/<id>           the image bytes
    GET  /rest/organizationAcls?q=roleAssignee
    GET  /rest/organizations?ids=List(...)

Rules it keeps: codes are single-use, expire (code_lifetime_s) and bind
client and redirect_uri; access tokens live access_lifetime_s; refresh
tokens (only when issue_refresh_tokens) end refresh_lifetime_s after the
first consent and refreshing never moves that end: a refresh answers
the remaining lifetime and the same refresh token string. REST calls need
LinkedIn-Version and X-Restli-Protocol-Version: 2.0.0. A post's
commentary is rendered as LinkedIn's "little" text: an unescaped
reserved character silently cuts the published text there, and more than
max_commentary characters (as sent) is the observed 400. Repeating an
author's commentary is 422 DUPLICATE_POST; more than posts_per_day posts
a UTC day is 429.

User events: revoke -> every token of the user answers 65601 and the
refresh grant invalid_grant; password -> access tokens answer 65600
(invalid) and refresh tokens die; expire -> access tokens answer 65602,
refresh tokens still work.

Bodies the network's documentation leaves unconfirmed (65602, the
denial redirect, the version-header errors, media errors) are marked
UNCONFIRMED where they are built.
"""

import base64
import hashlib
import json
import re
import urllib.parse

import sandbox
from sandbox import Reply

RESERVED = set("\\|{}@[]()<>#*_~")

KNOWN_SCOPES = {"openid", "profile", "email", "w_member_social",
                "w_organization_social", "r_organization_social",
                "rw_organization_admin", "r_organization_admin"}

INVALID_CODE = ("Unable to retrieve access token: appid/redirect uri/code "
                "verifier does not match authorization code. Or "
                "authorization code expired. Or external member binding "
                "exists")


def oauth_error(status, error, description):
    return Reply(status, {"error": error, "error_description": description})


def api_error(status, message, service_code=None, code=None):
    body = {"status": status, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code:
        body["code"] = code
    return Reply(status, body)


def required_missing(field):
    return Reply(422, {"message": "ERROR :: /%s :: field is required but "
                       "not found and has no default value\n" % field,
                       "status": 422})


def render_little_text(commentary):
    """The text LinkedIn shows: escapes resolved, cut at the first
    reserved character left unescaped."""
    out = []
    i = 0
    while i < len(commentary):
        ch = commentary[i]
        if ch == "\\" and i + 1 < len(commentary) \
                and commentary[i + 1] in RESERVED:
            out.append(commentary[i + 1])
            i += 2
            continue
        if ch in RESERVED:
            break
        out.append(ch)
        i += 1
    return "".join(out)


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class SandboxNetwork(sandbox.Network):
    name = "linkedin"

    def __init__(self):
        self.codes = {}
        self.access = {}
        self.refresh = {}
        self.posts = []
        self.images = {}
        self.day_counts = {}
        self.next_share = 7141138937766391808
        super().__init__()

    def default_settings(self):
        return {
            "client_id": "sandbox-linkedin-client",
            "client_secret": "sandbox-linkedin-secret",
            # The registered redirect URLs; None accepts any.
            "redirect_uris": None,
            # UNCONFIRMED: commonly cited 30 minutes.
            "code_lifetime_s": 1800,
            "access_lifetime_s": 5184000,
            # Only apps in LinkedIn's refresh programme get these.
            "issue_refresh_tokens": True,
            "refresh_lifetime_s": 31536000,
            "max_commentary": 3000,
            # UNCONFIRMED: the real quota is unpublished.
            "posts_per_day": 150,
        }

    def user_defaults(self, name):
        digest = hashlib.sha256(("linkedin-member:" + name).encode())
        org_id = str(int(digest.hexdigest()[10:18], 16) % 90000000 + 10000000)
        return {
            "sub": re.sub(r"[^A-Za-z0-9]", "x", b64url(digest.digest())[:10]),
            "given_name": name.capitalize(),
            "family_name": "Example",
            "email": "%s@example.com" % name,
            "organizations": [{"id": org_id,
                               "name": "%s Example Inc" % name.capitalize(),
                               "role": "ADMINISTRATOR",
                               "state": "APPROVED"}],
        }

    def routes(self):
        return [
            ("GET", r"/oauth/v2/authorization", self.authorize),
            ("POST", r"/oauth/v2/accessToken", self.token_endpoint),
            ("POST", r"/oauth/v2/introspectToken", self.introspect),
            ("GET", r"/v2/userinfo", self.userinfo),
            ("POST", r"/rest/posts", self.create_post),
            ("POST", r"/rest/images", self.initialize_upload),
            ("PUT", r"/dms-uploads/([A-Za-z0-9]+)", self.upload),
            ("GET", r"/rest/organizationAcls", self.organization_acls),
            ("GET", r"/rest/organizations", self.organizations),
        ]

    def state(self):
        now = self.now()
        return {
            "users": self.users,
            "codes": len(self.codes),
            "access_tokens": [dict(rec, token=tok,
                                   status=self.access_status(rec, now))
                              for tok, rec in self.access.items()],
            "refresh_tokens": [dict(rec, token=tok,
                                    live=self.refresh_live(rec, now))
                               for tok, rec in self.refresh.items()],
            "posts": self.posts,
            "images": self.images,
        }

    # -- authorization ---------------------------------------------------

    def authorize(self, req, match):
        q = req.query
        s = self.settings
        redirect = q.get("redirect_uri", "")
        # The docs say space-delimited; clients also send commas.
        scopes = [sc for sc in re.split(r"[ ,]+", q.get("scope", "")) if sc]
        checks = [
            (q.get("client_id") == s["client_id"],
             "The passed in client_id is invalid"),
            (q.get("response_type") == "code",
             "response_type must be code"),
            (redirect.startswith(("http://", "https://")),
             "redirect_uri is missing"),
            (s["redirect_uris"] is None or redirect in s["redirect_uris"],
             "The redirect_uri does not match the registered value"),
        ]
        for ok, why in checks:
            if not ok:
                return Reply(400, "LinkedIn sandbox: %s\n" % why, None,
                             "text/plain")
        sep = "&" if "?" in redirect else "?"
        back = {"state": q.get("state", "")}
        unknown = [sc for sc in scopes if sc not in KNOWN_SCOPES]
        if not scopes or unknown:
            back.update(error="unauthorized_scope_error",
                        error_description='Scope "%s" is not authorized for '
                        "your application" % (unknown or [""])[0])
            return Reply.redirect(redirect + sep + urllib.parse.urlencode(
                back))
        if self.deny_next:
            # UNCONFIRMED: the refusal's parameters.
            self.deny_next = False
            back.update(error="user_cancelled_authorize",
                        error_description="The user cancelled the "
                        "authorization")
            return Reply.redirect(redirect + sep + urllib.parse.urlencode(
                back))

        user = self.users[self.login_as]
        user["revoked"] = False
        code = "AQ" + self.token("code").split("-", 1)[1]
        self.codes[code] = {
            "user": user["name"], "client_id": q["client_id"],
            "redirect_uri": redirect, "scopes": scopes,
            "expires": self.now() + s["code_lifetime_s"],
        }
        back["code"] = code
        return Reply.redirect(redirect + sep + urllib.parse.urlencode(back))

    def client_check(self, req):
        """None, or the error Reply for a token-endpoint request."""
        s = self.settings
        if "application/x-www-form-urlencoded" not in req.headers.get(
                "Content-Type", ""):
            return oauth_error(400, "invalid_request",
                               "Content-Type must be "
                               "application/x-www-form-urlencoded")
        if req.form.get("client_id") != s["client_id"] or \
                req.form.get("client_secret") != s["client_secret"]:
            return oauth_error(401, "invalid_client",
                               "Client authentication failed")
        return None

    def token_endpoint(self, req, match):
        error = self.client_check(req)
        if error:
            return error
        grant = req.form.get("grant_type")
        if grant == "authorization_code":
            return self.code_grant(req)
        if grant == "refresh_token":
            return self.refresh_grant(req)
        return oauth_error(400, "invalid_request",
                           'A required parameter "grant_type" is missing '
                           "or invalid")

    def code_grant(self, req):
        code = req.form.get("code", "")
        rec = self.codes.get(code)
        if not rec or rec["expires"] <= self.now() \
                or rec["redirect_uri"] != req.form.get("redirect_uri") \
                or rec["client_id"] != req.form.get("client_id"):
            return oauth_error(400, "invalid_request", INVALID_CODE)
        del self.codes[code]
        return Reply(200, self.issue(rec["user"], rec["scopes"]))

    def refresh_grant(self, req):
        now = self.now()
        tok = req.form.get("refresh_token", "")
        rec = self.refresh.get(tok)
        if not rec or not self.refresh_live(rec, now):
            return oauth_error(400, "invalid_grant",
                               "Token has been expired or revoked.")
        return Reply(200, self.issue(rec["user"], rec["scopes"], tok))

    def issue(self, name, scopes, refresh_token=None):
        """A token answer; with refresh_token, a refresh of that one."""
        s = self.settings
        now = self.now()
        user = self.users[name]
        lifetime = s["access_lifetime_s"]
        body = {}
        if refresh_token is None and s["issue_refresh_tokens"]:
            refresh_token = "AQW" + self.token("r").split("-", 1)[1]
            self.refresh[refresh_token] = {
                "user": name, "scopes": scopes, "revoked": False,
                "consented_at": now,
                "deadline": now + s["refresh_lifetime_s"],
            }
        if refresh_token:
            remaining = self.refresh[refresh_token]["deadline"] - now
            lifetime = min(lifetime, remaining)
            body["refresh_token"] = refresh_token
            body["refresh_token_expires_in"] = int(remaining)
        access = "AQV" + self.token("a").split("-", 1)[1]
        self.access[access] = {
            "user": name, "scopes": scopes, "created": now,
            "expires": now + lifetime, "revoked": False, "invalid": False,
            "refresh_token": refresh_token,
        }
        body.update(access_token=access, expires_in=int(lifetime),
                    scope=",".join(scopes))
        if "openid" in scopes:
            body["id_token"] = self.id_token(user, now)
        return body

    def id_token(self, user, now):
        head = {"alg": "RS256", "typ": "JWT", "kid": "sandbox"}
        claims = {"iss": "https://www.linkedin.com/oauth",
                  "aud": self.settings["client_id"], "sub": user["sub"],
                  "iat": int(now), "exp": int(now) + 3600,
                  "name": self.full_name(user)}
        return ".".join([b64url(json.dumps(head).encode()),
                         b64url(json.dumps(claims).encode()),
                         b64url(b"sandbox-signature")])

    def introspect(self, req, match):
        error = self.client_check(req)
        if error:
            return error
        now = self.now()
        tok = req.form.get("token", "")
        rec = self.access.get(tok)
        if rec:
            status = self.access_status(rec, now)
            return Reply(200, {
                "active": status == "active",
                "client_id": self.settings["client_id"],
                "authorized_at": int(rec["created"]),
                "created_at": int(rec["created"]),
                "status": "active" if status == "active" else
                          "expired" if status == "expired" else "revoked",
                "expires_at": int(rec["expires"]),
                "scope": ",".join(rec["scopes"]), "auth_type": "3L"})
        rec = self.refresh.get(tok)
        if rec:
            live = self.refresh_live(rec, now)
            return Reply(200, {
                "active": live, "client_id": self.settings["client_id"],
                "authorized_at": int(rec["consented_at"]),
                "created_at": int(rec["consented_at"]),
                "status": "active" if live else
                          "revoked" if rec["revoked"] else "expired",
                "expires_at": int(rec["deadline"]),
                "scope": ",".join(rec["scopes"]), "auth_type": "3L"})
        return Reply(200, {"active": False})

    # -- tokens ----------------------------------------------------------

    def access_status(self, rec, now):
        if rec["revoked"]:
            return "revoked"
        if rec["invalid"]:
            return "invalid"
        if rec["expires"] <= now:
            return "expired"
        return "active"

    def refresh_live(self, rec, now):
        return not rec["revoked"] and rec["deadline"] > now

    def on_user_event(self, action, user):
        now = self.now()
        for rec in self.access.values():
            if rec["user"] != user["name"]:
                continue
            if action == "revoke":
                rec["revoked"] = True
            elif action == "password":
                # UNCONFIRMED: LinkedIn has no distinct code; the token is
                # simply no longer recognised.
                rec["invalid"] = True
            elif action == "expire":
                rec["expires"] = min(rec["expires"], now)
        for rec in self.refresh.values():
            if rec["user"] == user["name"] and action in ("revoke",
                                                          "password"):
                rec["revoked"] = True

    def bearer(self, req, method_path, needs=()):
        """(access record, None) or (None, error Reply)."""
        tok = req.bearer()
        rec = self.access.get(tok or "")
        if not rec:
            return None, api_error(401, "Invalid access token", 65600)
        status = self.access_status(rec, self.now())
        if status == "revoked":
            return None, api_error(401, "The token used in the request has "
                                   "been revoked by the user", 65601,
                                   "REVOKED_ACCESS_TOKEN")
        if status == "invalid":
            return None, api_error(401, "Invalid access token", 65600)
        if status == "expired":
            # UNCONFIRMED: number and text.
            return None, api_error(401, "The token used in the request has "
                                   "expired", 65602, "EXPIRED_ACCESS_TOKEN")
        for group in needs:
            if not any(sc in rec["scopes"] for sc in group.split("|")):
                return None, self.forbidden(method_path)
        return rec, None

    def forbidden(self, method_path):
        return api_error(403, "Not enough permissions to access: %s"
                         % method_path, 100)

    def versioned(self, req):
        """None, or the error Reply for a /rest call's headers."""
        version = req.headers.get("LinkedIn-Version")
        if not version:
            # UNCONFIRMED: the missing-version body.
            return api_error(400, "A version must be present. Please "
                             "specify a version by adding the "
                             "LinkedIn-Version header.", None,
                             "VERSION_MISSING")
        if not re.fullmatch(r"20\d\d(0[1-9]|1[0-2])", version):
            return api_error(426, "Requested version %s is not active"
                             % version, None, "NONEXISTENT_VERSION")
        if req.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return api_error(400, "Request requires "
                             "X-Restli-Protocol-Version: 2.0.0", None,
                             "ILLEGAL_ARGUMENT")
        return None

    def full_name(self, user):
        return "%s %s" % (user["given_name"], user["family_name"])

    # -- identity --------------------------------------------------------

    def userinfo(self, req, match):
        rec, error = self.bearer(req, "GET /userinfo", ["openid"])
        if error:
            return error
        user = self.users[rec["user"]]
        body = {"sub": user["sub"], "name": self.full_name(user),
                "given_name": user["given_name"],
                "family_name": user["family_name"],
                "picture": "https://media.licdn.com/dms/image/sandbox/%s"
                           % user["sub"],
                "locale": {"country": "US", "language": "en"}}
        if "email" in rec["scopes"]:
            body.update(email=user["email"], email_verified=True)
        return Reply(200, body)

    # -- posting ---------------------------------------------------------

    def author_allowed(self, rec, author):
        """Whether the token's member may write as author."""
        user = self.users[rec["user"]]
        if author == "urn:li:person:" + user["sub"]:
            return "w_member_social" in rec["scopes"]
        if author.startswith("urn:li:organization:"):
            org = author[len("urn:li:organization:"):]
            return "w_organization_social" in rec["scopes"] and any(
                o["id"] == org and o["role"] == "ADMINISTRATOR"
                and o["state"] == "APPROVED"
                for o in user["organizations"])
        return False

    def too_long(self, length, limit):
        return Reply(400, {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception."
                       "BadRequestResponseException: ShareCommentary text "
                       "length (%d characters) exceeded the maximum allowed "
                       "(%d characters)" % (length, limit),
            "errorDetails": {"inputErrors": [{
                "description": "Size of array cannot be higher than the "
                               "maxLength",
                # UNCONFIRMED: the inner shape.
                "input": {"inputPath": {"fieldPath": "/commentary"}},
                "code": "FIELD_ARRAY_SIZE_TOO_HIGH", "maxLength": limit}]},
            "status": 400})

    def duplicate(self, urn):
        return Reply(422, {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception."
                       "BadRequestResponseException: Content is a duplicate "
                       "of %s" % urn,
            "errorDetails": {"inputErrors": [{
                "description": "Duplicate post is detected", "input": {},
                "code": "DUPLICATE_POST"}]},
            "status": 422})

    def create_post(self, req, match):
        s = self.settings
        error = self.versioned(req)
        if error:
            return error
        rec, error = self.bearer(req, "POST /rest/posts")
        if error:
            return error
        body = req.json
        if not isinstance(body, dict):
            return api_error(400, "Request body could not be converted to "
                             "data map", None, "ILLEGAL_ARGUMENT")
        for field in ("author", "visibility", "distribution",
                      "lifecycleState"):
            if field not in body:
                return required_missing(field)
        author = body["author"]
        if not isinstance(author, str) or not self.author_allowed(rec,
                                                                  author):
            return self.forbidden("POST /rest/posts")
        commentary = body.get("commentary", "")
        if not isinstance(commentary, str):
            return api_error(400, "Request body could not be converted to "
                             "data map", None, "ILLEGAL_ARGUMENT")
        if len(commentary) > s["max_commentary"]:
            return self.too_long(len(commentary), s["max_commentary"])
        content = body.get("content")
        error = self.check_content(content, author)
        if error:
            return error
        for post in self.posts:
            if post["author"] == author and post["commentary"] == commentary:
                return self.duplicate(post["urn"])
        day = (rec["user"], int(self.now() // 86400))
        if self.day_counts.get(day, 0) >= s["posts_per_day"]:
            return api_error(429, "Resource level throttle limit for calls "
                             "to this resource is reached.", 101)
        self.day_counts[day] = self.day_counts.get(day, 0) + 1

        urn = "urn:li:share:%d" % self.next_share
        self.next_share += 1
        self.posts.append({
            "urn": urn, "author": author, "user": rec["user"],
            "commentary": commentary,
            "text": render_little_text(commentary),
            "content": content, "visibility": body["visibility"],
            "lifecycleState": body["lifecycleState"],
            "distribution": body["distribution"],
            "version": req.headers.get("LinkedIn-Version"),
            "created": self.now(),
        })
        return Reply(201, "", {"x-restli-id": urn})

    def check_content(self, content, author):
        """None, or the error Reply for a post's content."""
        if content is None:
            return None
        if not isinstance(content, dict):
            return api_error(400, "Request body could not be converted to "
                             "data map", None, "ILLEGAL_ARGUMENT")
        if "media" in content:
            urn = (content["media"] or {}).get("id", "")
            image = self.images.get(urn)
            # UNCONFIRMED: the error for an image that is not usable.
            if not image or image["owner"] != author \
                    or image["status"] != "AVAILABLE":
                return Reply(422, {"message": "ERROR :: /content/media/id "
                                   ":: %s is not an available image of the "
                                   "author" % urn, "status": 422})
        elif "article" in content:
            article = content["article"] or {}
            if not article.get("source"):
                return required_missing("content/article/source")
            if not article.get("title"):
                return required_missing("content/article/title")
        return None

    # -- images ----------------------------------------------------------

    def initialize_upload(self, req, match):
        error = self.versioned(req)
        if error:
            return error
        if req.query.get("action") != "initializeUpload":
            return api_error(400, "Unsupported action", None,
                             "ILLEGAL_ARGUMENT")
        rec, error = self.bearer(req, "POST /rest/images")
        if error:
            return error
        owner = ((req.json or {}).get("initializeUploadRequest") or {}) \
            .get("owner")
        if not owner:
            return required_missing("initializeUploadRequest/owner")
        if not self.author_allowed(rec, owner):
            return self.forbidden("POST /rest/images")
        image_id = "C4E10AQ" + self.token("i").split("-", 1)[1] \
            .replace("-", "").replace("_", "")[:20]
        urn = "urn:li:image:" + image_id
        host = req.headers.get("Host", "127.0.0.1")
        expires = int((self.now() + 86400) * 1000)
        self.images[urn] = {"owner": owner, "status": "WAITING_UPLOAD",
                            "id": image_id, "bytes": 0, "sha256": None,
                            "upload_expires_ms": expires}
        return Reply(200, {"value": {
            # UNCONFIRMED: the expiry's field name.
            "uploadUrlExpiresAt": expires,
            "uploadUrl": "http://%s/%s/dms-uploads/%s"
                         % (host, self.name, image_id),
            "image": urn}})

    def upload(self, req, match):
        urn = "urn:li:image:" + match.group(1)
        image = self.images.get(urn)
        if not image:
            return Reply(404, {"message": "Not Found", "status": 404})
        rec, error = self.bearer(req, "PUT /dms-uploads")
        if error:
            return error
        if not req.raw:
            return api_error(400, "Empty upload", None, "ILLEGAL_ARGUMENT")
        if image["upload_expires_ms"] <= self.now() * 1000:
            return api_error(403, "Upload URL expired")
        image.update(status="AVAILABLE", bytes=len(req.raw),
                     sha256=hashlib.sha256(req.raw).hexdigest())
        return Reply(201, "")

    # -- organizations ---------------------------------------------------

    def organization_acls(self, req, match):
        error = self.versioned(req)
        if error:
            return error
        rec, error = self.bearer(
            req, "GET /rest/organizationAcls",
            ["rw_organization_admin|r_organization_admin"])
        if error:
            return error
        if req.query.get("q") != "roleAssignee":
            return api_error(400, "Unsupported finder", None,
                             "ILLEGAL_ARGUMENT")
        user = self.users[rec["user"]]
        role = req.query.get("role")
        state = req.query.get("state")
        elements = [{
            "roleAssignee": "urn:li:person:" + user["sub"],
            "state": o["state"], "role": o["role"],
            "organization": "urn:li:organization:" + o["id"],
        } for o in user["organizations"]
            if (not role or o["role"] == role)
            and (not state or o["state"] == state)]
        count = int(req.query.get("count", "10"))
        return Reply(200, {"paging": {"start": 0, "count": count,
                                      "links": [], "total": len(elements)},
                           "elements": elements[:count]})

    def organizations(self, req, match):
        error = self.versioned(req)
        if error:
            return error
        rec, error = self.bearer(req, "GET /rest/organizations",
                                 ["rw_organization_admin|"
                                  "r_organization_admin"])
        if error:
            return error
        m = re.fullmatch(r"List\(([0-9,]*)\)", req.query.get("ids", ""))
        if not m:
            return api_error(400, "ids must be List(...)", None,
                             "ILLEGAL_ARGUMENT")
        known = {o["id"]: o for u in self.users.values()
                 for o in u["organizations"]}
        results, statuses, errors = {}, {}, {}
        for oid in filter(None, m.group(1).split(",")):
            org = known.get(oid)
            if org:
                results[oid] = {"id": int(oid), "localizedName": org["name"],
                                "vanityName": org["name"].lower()
                                .replace(" ", "-")}
                statuses[oid] = 200
            else:
                statuses[oid] = 404
                errors[oid] = {"status": 404, "message": "Not Found"}
        return Reply(200, {"results": results, "statuses": statuses,
                           "errors": errors})
