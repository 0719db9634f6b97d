#!/usr/bin/env python3
"""End-to-end test of the sandbox profile and of the README's walkthrough.

`herald config check` must accept config/sandbox/herald.json as it is.
Then the sandbox networks (tests/sandbox/run.py, as scripts/sandbox.sh
starts them) run on a free port, and the daemon runs on a copy of the
profile whose two fixed ports (8081 for herald, 8090 for the networks)
are replaced by free ones. The walkthrough of README.md's "Try it with
the sandbox networks" follows, one function per step, with the same
herald commands it shows: connect an account on each network by
following the login URL's redirects as a browser does, post to all
four, revoke X's access at the sandbox, see the next X post blocked,
reauthorize, see it published.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest
import urllib.request

from harness import HERALD, Daemon, Env
from world import free_port

SOURCE = os.environ["HERALD_SOURCE_DIR"]
PROFILE = os.path.join(SOURCE, "config", "sandbox")
HERALD_PORT = "8081"
NETWORKS_PORT = "8090"
OWNER = "you@example.com"
# The Page the sandbox gives alice first on Facebook ("Alice's Bakery").
PAGE = "3540621899429968"


def start_networks(tmp):
    """Runs tests/sandbox/run.py on a free port; returns (process, port)."""
    port_file = os.path.join(tmp, "networks.port")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(SOURCE, "tests", "sandbox", "run.py"),
         "--port", "0", "--port-file", port_file],
        stdout=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not os.path.exists(port_file):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError("the sandbox networks did not start")
        time.sleep(0.02)
    with open(port_file) as f:
        return proc, int(f.read())


def copy_profile(dst, herald_port, networks_port):
    """Copies config/sandbox to dst/config/sandbox, ports replaced."""
    root = os.path.join(dst, "config", "sandbox")
    shutil.copytree(PROFILE, root)
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path) as f:
                text = f.read()
            text = text.replace("127.0.0.1:" + HERALD_PORT,
                                "127.0.0.1:%d" % herald_port)
            text = text.replace("127.0.0.1:" + NETWORKS_PORT,
                                "127.0.0.1:%d" % networks_port)
            text = text.replace('"listen_port": ' + HERALD_PORT,
                                '"listen_port": %d' % herald_port)
            with open(path, "w") as f:
                f.write(text)
    os.makedirs(os.path.join(dst, "data", "sandbox"))
    return os.path.join(root, "herald.json")


class SandboxProfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(PROFILE, "herald.json")) as f:
            cls.profile = json.load(f)
        cls.key = cls.profile["api_keys"][0]

    def setUp(self):
        self.env = Env(plugins=())
        self.networks, self.networks_port = start_networks(self.env.dir)
        self.port = free_port()
        self.config = copy_profile(self.env.dir, self.port,
                                   self.networks_port)
        self.daemon = Daemon(self.env, ["--config", self.config])

    def tearDown(self):
        rc = self.daemon.stop()
        self.networks.terminate()
        self.networks.wait(timeout=20)
        self.env.cleanup()
        self.assertEqual(rc, 0)

    # -- the pieces each step is made of ---------------------------------

    def herald(self, *args):
        """Runs a herald command as the README's second terminal does
        (HERALD_URL and HERALD_API_KEY exported); returns its output,
        parsed when it was asked for --json."""
        env = dict(os.environ, HERALD_URL="http://127.0.0.1:%d" % self.port,
                   HERALD_API_KEY=self.key)
        r = subprocess.run([HERALD] + list(args), env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, (args, r.stdout, r.stderr))
        self.assertNotIn(self.key, r.stdout + r.stderr)
        return json.loads(r.stdout) if "--json" in args else r.stdout

    def browse(self, url):
        """Opens url as a browser does (urllib follows the redirects);
        returns the page it ends on."""
        with urllib.request.urlopen(url, timeout=20) as resp:
            return resp.status, resp.geturl(), resp.read().decode()

    def sandbox_control(self, network, action, body):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/_control/%s/%s"
            % (self.networks_port, network, action),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=20) as resp:
            return json.loads(resp.read())

    def wait_post(self, post_id, status, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            post = self.herald("posts", "show", str(post_id), "--json")
            if post["status"] == status:
                return post
            time.sleep(0.05)
        self.fail("post %d is not %s: %s" % (post_id, status, post))

    # -- the walkthrough, one step each ------------------------------------

    def step_connect(self, network):
        """herald accounts connect NETWORK --owner OWNER, then
        curl -sL the login URL it prints."""
        url = self.herald("accounts", "connect", network, "--owner", OWNER)
        self.assertEqual(url.count("\n"), 1, url)
        status, landed, page = self.browse(url.strip())
        self.assertEqual(status, 200, page)
        self.assertIn("/v1/oauth/%s/callback" % network, landed)
        self.assertIn("<h1>Connected</h1>", page)
        body = self.herald("accounts", "--owner", OWNER, "--network",
                           network, "--json")
        self.assertEqual(len(body["accounts"]), 1, body)
        self.assertEqual(body["accounts"][0]["status"], "active")
        return body["accounts"][0]["id"]

    def step_post(self, accounts, text, media=None):
        """herald posts create --account ID[:TARGET] ... --text TEXT
        [--media URL]"""
        args = ["posts", "create", "--text", text, "--json"]
        for account in accounts:
            args += ["--account", str(account)]
        if media:
            args += ["--media", media]
        body = self.herald(*args)
        return [p["id"] for p in body["posts"]]

    def step_list_posts(self, account=None):
        """herald posts [--account ID]"""
        args = ["posts", "--json"]
        if account:
            args += ["--account", str(account)]
        return self.herald(*args)["posts"]

    def step_revoke_at_sandbox(self, network, user="alice"):
        """curl -d '{"user": "alice"}' .../_control/x/revoke"""
        self.sandbox_control(network, "revoke", {"user": user})

    def step_show_account(self, account):
        """herald accounts show ID"""
        return self.herald("accounts", "show", str(account), "--json")

    def step_reauthorize(self, account):
        """herald accounts reauthorize ID, then curl -sL the URL."""
        url = self.herald("accounts", "reauthorize", str(account))
        status, _, page = self.browse(url.strip())
        self.assertEqual(status, 200, page)
        self.assertIn("connected again", page)

    def test_config_check_accepts_the_profile(self):
        r = subprocess.run([HERALD, "config", "check", "--config",
                            os.path.join(PROFILE, "herald.json")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("4 plugin(s) loaded, 4 network(s) configured",
                      r.stdout)
        self.assertEqual(self.profile["listen_port"], int(HERALD_PORT))
        self.assertEqual(self.key, "sandbox-only-api-key")

    def test_readme_names_what_the_profile_has(self):
        with open(os.path.join(SOURCE, "README.md")) as f:
            readme = f.read()
        for text in ("HERALD_URL=http://127.0.0.1:%s" % HERALD_PORT,
                     "HERALD_API_KEY=%s" % self.key,
                     "http://127.0.0.1:%s/_control/x/revoke" % NETWORKS_PORT,
                     "http://127.0.0.1:%s/images/" % NETWORKS_PORT,
                     "--account 1:%s" % PAGE,
                     "./scripts/sandbox.sh"):
            self.assertIn(text, readme)

    def test_readme_walkthrough(self):
        ids = {n: self.step_connect(n)
               for n in ("facebook", "instagram", "linkedin", "twitter")}
        image = "http://127.0.0.1:%d/images/hello.jpg" % self.networks_port
        posts = self.step_post([ids["linkedin"], ids["twitter"]],
                               "Hello from the sandbox")
        posts += self.step_post([ids["instagram"]], "Hello from the sandbox",
                                media=image)
        posts += self.step_post(["%d:%s" % (ids["facebook"], PAGE)],
                                "Hello from the sandbox")
        for post_id in posts:
            self.assertTrue(self.wait_post(post_id, "published")["remote_id"])
        self.assertEqual(len(self.step_list_posts()), 4)

        self.step_revoke_at_sandbox("x")
        held = self.step_post([ids["twitter"]], "Held while X is away")[0]
        self.wait_post(held, "blocked")
        account = self.step_show_account(ids["twitter"])
        self.assertEqual(account["status"], "disconnected")
        self.assertEqual(account["status_reason"], "access was revoked")
        self.assertEqual(account["blocked_posts"], 1)
        table = self.herald("accounts")
        self.assertRegex(table, r"Disconnected: access was revoked")

        self.step_reauthorize(ids["twitter"])
        post = self.wait_post(held, "published")
        self.assertIn("/x/alice/status/", post["remote_url"])
        self.assertEqual(
            self.step_show_account(ids["twitter"])["status"], "active")
        statuses = [p["status"] for p in
                    self.step_list_posts(account=ids["twitter"])]
        self.assertEqual(statuses, ["published", "published"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
