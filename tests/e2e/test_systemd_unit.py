#!/usr/bin/env python3
"""Tests of the systemd unit, contrib/systemd/herald.service.

The unit as configured by CMake (in the build tree) must pass
`systemd-analyze verify` without a single complaint once ExecStart names
the built program; it must carry the hardening this project promises
(docs/operations.md); and ExecStart's command line, given a real
configuration file in place of /etc/herald/herald.json, must start the
daemon, which then stops cleanly on SIGTERM within TimeoutStopSec.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import HERALD, Daemon, Env

UNIT = os.path.join(os.environ["HERALD_BINARY_DIR"], "contrib", "systemd",
                    "herald.service")

REQUIRED = {
    "User": "herald",
    "Group": "herald",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet": "",
    "StateDirectory": "herald",
    "ConfigurationDirectory": "herald",
    "EnvironmentFile": "/etc/herald/herald.env",
    "Restart": "on-failure",
    "KillSignal": "SIGTERM",
}


def parse(path):
    """The unit as {section: {key: [values...]}}."""
    unit, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            m = re.fullmatch(r"\[(\w+)\]", line)
            if m:
                section = unit.setdefault(m.group(1), {})
                continue
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return unit


def seconds(value):
    m = re.fullmatch(r"(\d+)(s|min)?", value)
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


class SystemdUnitTest(unittest.TestCase):
    def setUp(self):
        self.unit = parse(UNIT)
        self.service = self.unit["Service"]

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        self.assertTrue(analyze, "systemd-analyze is missing: run "
                                 "scripts/deps.sh")
        tmp = tempfile.mkdtemp(prefix="herald-unit-")
        try:
            with open(UNIT) as f:
                text = f.read()
            exec_start = self.service["ExecStart"][0].split()[0]
            path = os.path.join(tmp, "herald.service")
            with open(path, "w") as f:
                f.write(text.replace(exec_start, HERALD))
            r = subprocess.run([analyze, "verify", path],
                               capture_output=True, text=True, timeout=60)
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout + r.stderr, "")

    def test_hardening(self):
        for key, value in REQUIRED.items():
            self.assertEqual(self.service.get(key), [value], key)
        self.assertIn("@system-service", self.service["SystemCallFilter"])
        # herald drains for up to 10 s after SIGTERM; systemd must wait.
        self.assertGreater(seconds(self.service["TimeoutStopSec"][0]), 10)
        self.assertEqual(self.unit["Install"]["WantedBy"],
                         ["multi-user.target"])

    def test_exec_start_runs_and_stops_cleanly(self):
        argv = self.service["ExecStart"][0].split()
        self.assertTrue(argv[0].endswith("/bin/herald"), argv)
        self.assertEqual(argv[1:], ["serve", "--config",
                                    "/etc/herald/herald.json"])
        env = Env()
        try:
            args = [a if a != "/etc/herald/herald.json"
                    else env.path("herald.json") for a in argv[2:]]
            daemon = Daemon(env, args)
            resp, _ = daemon.request("GET", "/v1/health")
            self.assertEqual(resp.status, 200)
            self.assertEqual(daemon.stop(), 0)
            self.assertIn("stopped cleanly", daemon.read_log())
        finally:
            env.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
