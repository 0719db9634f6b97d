"""What the end-to-end tests share: a temporary herald setup and a
running daemon.

Environment (set by ctest): HERALD_BIN (the program), HERALD_FIXTURE_DIR
(fixture plugins), HERALD_PLUGIN_DIR (the built network plugins),
HERALD_PLANT (the credential-planting tool).
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

HERALD = os.environ["HERALD_BIN"]
FIXTURES = os.environ["HERALD_FIXTURE_DIR"]
PLANT = os.environ["HERALD_PLANT"]

API_KEY = "test-api-key-3f9a1c7e5b"
CLIENT_SECRET = "PLANTED-CLIENT-SECRET-77aa"


class Env:
    """A temporary directory holding a config, plugins, store and key."""

    def __init__(self, port=0, plugins=("good",)):
        self.dir = tempfile.mkdtemp(prefix="herald-e2e-")
        os.chmod(self.dir, 0o755)
        self.plugin_dir = os.path.join(self.dir, "plugins")
        os.mkdir(self.plugin_dir, 0o755)
        for name in plugins:
            self.add_plugin(name)
        os.mkdir(os.path.join(self.dir, "networks"), 0o755)
        self.config = {
            "listen_address": "127.0.0.1",
            "listen_port": port,
            "store_path": "herald.db",
            "key_file": "herald.key",
            "plugin_dir": "plugins",
            "network_dir": "networks",
            "api_keys": [{"env": "HERALD_TEST_API_KEY"}],
            "max_body_bytes": 4096,
        }
        self.network("fixture", {
            "client_id": "fixture-client",
            "client_secret": {"env": "HERALD_TEST_CLIENT_SECRET"},
            "redirect_uri": "http://127.0.0.1/v1/oauth/fixture/callback",
        })
        self.write_config()

    def path(self, name):
        return os.path.join(self.dir, name)

    def add_plugin(self, name):
        dst = os.path.join(self.plugin_dir, name + ".so")
        shutil.copyfile(os.path.join(FIXTURES, name + ".so"), dst)
        os.chmod(dst, 0o755)

    def network(self, name, body):
        with open(self.path("networks/%s.json" % name), "w") as f:
            json.dump(body, f, indent=2)

    def write_config(self, text=None):
        with open(self.path("herald.json"), "w") as f:
            f.write(text if text is not None
                    else json.dumps(self.config, indent=2))

    def environ(self):
        env = dict(os.environ)
        env["HERALD_TEST_API_KEY"] = API_KEY
        env["HERALD_TEST_CLIENT_SECRET"] = CLIENT_SECRET
        return env

    def run(self, *args, timeout=30):
        return subprocess.run([HERALD, *args], cwd=self.dir,
                              env=self.environ(), capture_output=True,
                              text=True, timeout=timeout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Daemon:
    """A running `herald serve`; its log is collected into self.log."""

    def __init__(self, env, args=None, program=None):
        """Starts `program serve` (HERALD_BIN unless given)."""
        self.env = env
        self.logfile = open(env.path("daemon.log"), "w+")
        cmd = [program or HERALD, "serve"] + (
            args if args is not None else
            ["--config", env.path("herald.json")])
        self.proc = subprocess.Popen(cmd, cwd=env.dir, env=env.environ(),
                                     stdout=self.logfile,
                                     stderr=subprocess.STDOUT)
        # A test that fails before it stops its daemon leaves none behind.
        atexit.register(self.kill_if_running)
        self.port = self.wait_listening()

    def kill_if_running(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def wait_listening(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"listening on \S+:(\d+)\n", self.read_log())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited: " + self.read_log())
            time.sleep(0.02)
        raise AssertionError("daemon did not listen: " + self.read_log())

    def read_log(self):
        with open(self.env.path("daemon.log")) as f:
            return f.read()

    def request(self, method, path, key=None, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + key
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read().decode()
        conn.close()
        return resp, data

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.logfile.close()
        return rc


