#!/usr/bin/env python3
"""Runs every sandbox network on one loopback port until stopped.

    python3 tests/sandbox/run.py [--port N] [--port-file FILE]

Each network answers under /<name>/ (facebook, instagram, linkedin,
mastodon, x)
and is controlled under /_control/<name>/ (see sandbox.py).
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sandbox  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()

    server = sandbox.SandboxServer(sandbox.all_networks(), args.port)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % server.port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("sandbox networks on http://127.0.0.1:%d: %s" %
          (server.port, ", ".join(sorted(server.networks))), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    server.server_close()


if __name__ == "__main__":
    main()
