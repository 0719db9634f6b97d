"""The plugin SDK, end to end: a fifth network built outside the tree.

From the build tree alone (HERALD_BINARY_DIR) herald is installed into a
temporary prefix; examples/mastodon is copied out of the source tree and
built with make against that prefix through pkg-config only; mastodon.so
goes into the plugin directory pkg-config names; and the INSTALLED herald,
finding its plugins by default, connects a Mastodon account at the
Mastodon sandbox, publishes text and an image, survives a lost answer
without posting twice, blocks a post while the token is revoked and
publishes it once after the person reconnects. The daemon's log must hold
no token, code, verifier or secret.
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import world  # noqa: E402
from harness import Daemon  # noqa: E402
from world import Posts, World, post_body  # noqa: E402

SOURCE = os.path.realpath(os.environ["HERALD_SOURCE_DIR"])
BINARY = os.path.realpath(os.environ["HERALD_BINARY_DIR"])
BUILT_IN = ("facebook", "instagram", "linkedin", "twitter")

# The plugin's own key beside the common ones World writes.
world.NETWORKS["mastodon"] = ("mastodon", lambda b: {"instance_url": b})


def run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          **kw)
    if done.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (
            " ".join(cmd), done.returncode, done.stdout, done.stderr))
    return done.stdout + done.stderr


class Sdk:
    """herald installed into a prefix, and mastodon.so built against it."""

    def __init__(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="herald-sdk-"))
        os.chmod(self.dir, 0o755)
        self.prefix = os.path.join(self.dir, "prefix")
        self.src = os.path.join(self.dir, "mastodon")
        self.env = dict(os.environ)
        self.env["PKG_CONFIG_PATH"] = os.path.join(self.prefix, "lib",
                                                   "pkgconfig")
        self.install_log = run(["cmake", "--install", BINARY, "--prefix",
                                self.prefix])
        shutil.copytree(os.path.join(SOURCE, "examples", "mastodon"),
                        self.src)
        self.make_log = run(["make", "-C", self.src,
                             "CFLAGS=-O2 -g -Werror"], env=self.env)

    def pkg(self, *args):
        return run(["pkg-config", *args, "herald-plugin"],
                   env=self.env).strip()

    def program(self):
        return os.path.join(self.prefix, "bin", "herald")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class SdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sdk = Sdk()

    @classmethod
    def tearDownClass(cls):
        cls.sdk.cleanup()

    def setUp(self):
        self.w = None

    def tearDown(self):
        if self.w:
            self.w.stop()

    # -- the SDK -------------------------------------------------------------

    def test_installed_layout_and_pkg_config(self):
        sdk = self.sdk
        for path in ("bin/herald", "include/herald/plugin.h",
                     "include/herald/host.h",
                     "lib/pkgconfig/herald-plugin.pc"):
            self.assertTrue(os.path.isfile(os.path.join(sdk.prefix, path)),
                            path)
        for name in BUILT_IN:
            self.assertTrue(os.path.isfile(os.path.join(
                sdk.prefix, "lib/herald/plugins", name + ".so")), name)
        cflags = sdk.pkg("--cflags")
        self.assertIn("-I" + os.path.join(sdk.prefix, "include"), cflags)
        self.assertNotIn(SOURCE, cflags)
        self.assertIn("-ljansson", sdk.pkg("--libs"))
        self.assertEqual(sdk.pkg("--variable=plugindir"),
                         os.path.join(sdk.prefix, "lib/herald/plugins"))
        with open(os.path.join(SOURCE, "include/herald/plugin.h")) as f:
            header = f.read()
        major = header.split("#define HERALD_ABI_MAJOR ")[1].split()[0]
        minor = header.split("#define HERALD_ABI_MINOR ")[1].split()[0]
        self.assertEqual(sdk.pkg("--variable=abi_version"),
                         "%s.%s" % (major, minor))

    def test_example_is_built_from_the_prefix_only(self):
        sdk = self.sdk
        self.assertNotIn(SOURCE, sdk.make_log)
        self.assertNotIn(BINARY, sdk.make_log)
        self.assertIn("-I" + os.path.join(sdk.prefix, "include"),
                      sdk.make_log)
        with open(os.path.join(sdk.src, "mastodon.so"), "rb") as f:
            binary = f.read()
        self.assertNotIn(SOURCE.encode(), binary)
        # One exported entry point, as the ABI asks.
        symbols = run(["nm", "-D", "--defined-only",
                       os.path.join(sdk.src, "mastodon.so")])
        exported = [line.split()[-1] for line in symbols.splitlines()
                    if line.split()[1] in ("T", "D", "B")]
        self.assertEqual(exported, ["herald_plugin_entry"])

    # -- the installed daemon with the fifth network ------------------------

    def start(self):
        sdk = self.sdk
        plugindir = sdk.pkg("--variable=plugindir")
        dst = os.path.join(plugindir, "mastodon.so")
        shutil.copyfile(os.path.join(sdk.src, "mastodon.so"), dst)
        os.chmod(dst, 0o644)
        self.w = World(networks=["mastodon"])
        # The installed herald finds its plugins without being told.
        del self.w.env.config["plugin_dir"]
        self.w.env.write_config()
        self.w.daemon = Daemon(self.w.env, program=sdk.program())
        self.net = self.w.net("mastodon")
        self.p = Posts(self.w)
        return plugindir

    def statuses(self):
        return [r for r in self.net.control("requests", {})["requests"]
                if r.get("path") == "/api/v1/statuses"]

    def secrets_seen(self):
        """Every token, code, verifier and secret that crossed the wire."""
        found = {self.net.settings["client_secret"]}
        for rec in self.net.state()["tokens"]:
            found.add(rec["token"])
        for r in self.net.requests:
            for key in ("code", "code_verifier", "client_secret", "token"):
                if (r.get("form") or {}).get(key):
                    found.add(r["form"][key])
            auth = (r.get("headers") or {}).get("Authorization", "")
            if auth.startswith("Bearer "):
                found.add(auth[7:])
        return {s for s in found if len(s) >= 8}

    def test_mastodon_through_the_installed_daemon(self):
        plugindir = self.start()
        log = self.w.daemon.read_log()
        for name in BUILT_IN + ("mastodon",):
            self.assertIn("loaded network '%s'" % name, log)
        where = re.search(r"loaded network 'mastodon' \S+ from '([^']+)'",
                          log)
        self.assertEqual(os.path.realpath(where.group(1)),
                         os.path.join(plugindir, "mastodon.so"))

        status, body = self.w.api("GET", "/v1/networks")
        self.assertEqual(status, 200, body)
        nets = {n["name"]: n for n in body["networks"]}
        self.assertEqual(set(nets), set(BUILT_IN) | {"mastodon"})
        m = nets["mastodon"]
        self.assertEqual(m["display_name"], "Mastodon")
        self.assertTrue(m["configured"])
        self.assertEqual(m["token_model"], "non_expiring")
        self.assertEqual(m["capabilities"], {
            "pkce": True, "refresh": False, "lookup": False,
            "revoke": True, "targets": False, "deduplicates": True})
        self.assertEqual(m["content"]["max_text"], 500)
        self.assertEqual(m["content"]["counting"], "codepoints")
        self.assertEqual(m["content"]["url_weight"], 23)
        self.assertEqual(m["content"]["max_media"], 4)

        # Connect through the sandbox's login.
        acc = self.w.connect("mastodon", user="alice")
        account = self.w.account(acc)
        self.assertEqual(account["status"], "active")
        self.assertEqual(account["username"], "alice")
        login = [r for r in self.net.requests
                 if r["path"] == "/oauth/authorize"][-1]
        self.assertEqual(login["query"]["code_challenge_method"], "S256")

        # Mastodon's count: a character is 1 (CJK too), a URL 23.
        cjk = "\u65e5" * 476 + " https://example.com/" + "x" * 60
        status, body = self.w.api("POST", "/v1/posts/validate",
                                  post_body([acc], text=cjk))
        self.assertTrue(body["valid"], body)
        status, body = self.w.api("POST", "/v1/posts/validate",
                                  post_body([acc], text="12" + cjk))
        self.assertFalse(body["valid"], body)

        # Text, then an image that the instance processes for a while.
        status, body = self.p.create(post_body([acc], text="hello fediverse"))
        self.assertEqual(status, 202, body)
        text = self.p.wait(body["posts"][0]["id"], "published")
        self.net.control("settings", {"media_processing_polls": 2})
        image = self.w.sandbox.base("images") + "/cat.jpg"
        status, body = self.p.create(post_body([acc], text="a cat",
                                               media=[image]))
        self.assertEqual(status, 202, body)
        pic = self.p.wait(body["posts"][0]["id"], "published")
        posts = self.net.control("state", {})["posts"]
        self.assertEqual([p["text"] for p in posts],
                         ["hello fediverse", "a cat"])
        self.assertEqual(text["remote_id"], posts[0]["id"])
        self.assertTrue(text["remote_url"].endswith("/" + posts[0]["id"]))
        self.assertEqual(pic["remote_id"], posts[1]["id"])
        self.assertEqual(len(posts[1]["media_ids"]), 1)
        media = self.net.control("state", {})["media"]
        self.assertEqual(media[posts[1]["media_ids"][0]]["size"],
                         len(self.w.sandbox.networks["images"].JPEG))
        self.assertEqual(len(self.statuses()), 2)
        for req, post in zip(self.statuses(), posts):
            self.assertTrue(req["headers"].get("Idempotency-Key"))
            self.assertEqual(req["headers"]["Idempotency-Key"],
                             post["idempotency_key"])

        # The answer is lost after the instance made the status: the
        # resend carries the same key and makes nothing new.
        self.net.control("fault", {"match": "^/api/v1/statuses$",
                                   "status": 0, "drop": True})
        status, body = self.p.create(post_body([acc], text="said once"))
        once = self.p.wait(body["posts"][0]["id"], "published")
        sent = self.statuses()[2:]
        self.assertGreaterEqual(len(sent), 2, sent)
        self.assertEqual(len({r["headers"]["Idempotency-Key"]
                              for r in sent}), 1)
        made = [p for p in self.net.control("state", {})["posts"]
                if p["text"] == "said once"]
        self.assertEqual(len(made), 1)
        self.assertEqual(once["remote_id"], made[0]["id"])

        # Revoked at the instance: the next post finds out, the account
        # is disconnected and the post waits, blocked.
        self.net.control("revoke", {"user": "alice"})
        status, body = self.p.create(post_body([acc], text="after revoke"))
        held = body["posts"][0]["id"]
        self.p.wait(held, "blocked")
        self.assertEqual(self.w.wait_status(acc, "disconnected")["status"],
                         "disconnected")
        self.assertEqual(len([p for p in self.net.posts
                              if p["text"] == "after revoke"]), 0)

        # Reconnected: the blocked post goes out, once.
        status, answer = self.w.authorize("mastodon", user="alice",
                                          account_id=acc)
        self.assertEqual(status, 200, answer)
        self.w.wait_status(acc, "active")
        self.p.wait(held, "published")
        self.assertEqual(len([p for p in self.net.posts
                              if p["text"] == "after revoke"]), 1)

        log = self.w.daemon.read_log()
        for secret in self.secrets_seen():
            self.assertNotIn(secret, log, "a secret reached the log")
        self.assertEqual(self.w.stop(), 0)
        self.w = None

    def test_refusals_and_rate_limits(self):
        self.start()
        acc = self.w.connect("mastodon", user="bob")

        # The instance's own limit is lower than the declared 500: its
        # 422 fails the post with its reason, and nothing is retried.
        self.net.control("settings", {"max_text": 10})
        status, body = self.p.create(post_body([acc], text="x" * 20))
        failed = self.p.wait(body["posts"][0]["id"], "failed")
        self.assertIn("character limit of 10", failed["reason"])
        self.assertEqual(failed["attempts"], 1)
        self.net.control("settings", {"max_text": 500})

        # A spent window: 429 holds the post until X-RateLimit-Reset.
        self.net.control("settings", {"statuses_limit": 1,
                                      "statuses_window_s": 4})
        status, body = self.p.create(post_body([acc], text="first"))
        self.p.wait(body["posts"][0]["id"], "published")
        status, body = self.p.create(post_body([acc], text="second"))
        held = self.p.wait(body["posts"][0]["id"], "retrying")
        limited = [r for r in self.net.requests
                   if r.get("path") == "/api/v1/statuses"][-1]
        self.assertEqual(limited["form"]["status"], "second")
        reset = self.net.windows["bob"][0] + 4
        waits_until = datetime.datetime.strptime(
            held["next_attempt_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        self.assertGreaterEqual(waits_until, reset - 0.001)
        self.assertIn("Too many requests", held["reason"])
        self.p.wait(held["id"], "published", timeout=30)
        self.assertEqual([p["text"] for p in self.net.posts],
                         ["first", "second"])

    def test_bad_configuration_is_refused(self):
        self.start()
        self.w.daemon.stop()
        self.w.daemon = None
        self.w.env.network("mastodon", {
            "client_id": "c", "client_secret": "s",
            "redirect_uri": "http://127.0.0.1/v1/oauth/mastodon/callback",
            "instance_url": self.w.sandbox.base("mastodon"),
            "visibility": "everyone"})
        done = subprocess.run(
            [self.sdk.program(), "serve", "--config",
             self.w.env.path("herald.json")],
            cwd=self.w.env.dir, env=self.w.env.environ(),
            capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 1, done.stdout)
        out = done.stdout + done.stderr
        self.assertIn("'visibility' must be public, unlisted, private or "
                      "direct", out)
        self.assertIn("network 'mastodon' failed to start", out)

if __name__ == "__main__":
    unittest.main(verbosity=2)
