"""The benchmark driver that bench/run.sh runs once herald and the bench
tools are built. It measures, in one run and on loopback only:

  baseline  wrk against bench/xserver (the loopback X endpoint), with
            keep-alive and with a new connection per request;
  drain     herald publishing N queued posts spread over many X accounts
            to that endpoint, synchronous=full (the measured figure); then,
            unless BENCH_PROFILE=0, the same drain again under
            bench/sqlprof.so (where the time goes, per SQL statement) and
            once more with synchronous=normal (what the syncs cost);
  timing    lateness of posts scheduled over a window, as the endpoint
            receives them, and how much of it passed before the attempt
            was begun;
  memory    resident size with 1,000,000 queued posts and 100,000 accounts
            and, on that store, the start time (exec of `herald serve` to
            the first good GET /v1/health) and the stop time; then, unless
            BENCH_LOADED_TIMING=0, the timing again on that big store,
            once as the last clean stop left it (analyzed) and once with
            its planner statistics deleted; and, unless BENCH_PROFILE=0,
            one start under sqlprof.so in each of those two states.

Every figure comes from this run; nothing is assumed. The results go to
$BENCH_OUT (JSON) and a summary table to stdout. Every process it starts
is stopped by its pid; every wait is bounded.
"""

import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERALD = os.environ["BENCH_HERALD"]
PLUGINS = os.environ["BENCH_PLUGINS"]
TOOLS = os.environ["BENCH_TOOLS"]
XSERVER = os.path.join(TOOLS, "xserver")
SEED = os.path.join(TOOLS, "seed")
SQLPROF = os.path.join(TOOLS, "sqlprof.so")
API_KEY = "bench-api-key"


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value else default


CFG = {
    "drain_posts": env_int("BENCH_DRAIN_POSTS", 20000),
    "drain_accounts": env_int("BENCH_DRAIN_ACCOUNTS", 2000),
    "concurrency": env_int("BENCH_CONCURRENCY", 256),
    "wrk_seconds": env_int("BENCH_WRK_SECONDS", 10),
    "wrk_connections": env_int("BENCH_WRK_CONNECTIONS", 64),
    "wrk_threads": env_int("BENCH_WRK_THREADS", 2),
    "late_posts": env_int("BENCH_LATE_POSTS", 500),
    "late_accounts": env_int("BENCH_LATE_ACCOUNTS", 200),
    "late_window_s": env_int("BENCH_LATE_WINDOW_S", 20),
    "mem_posts": env_int("BENCH_MEM_POSTS", 1000000),
    "mem_accounts": env_int("BENCH_MEM_ACCOUNTS", 100000),
    "start_runs": env_int("BENCH_START_RUNS", 3),
    "loaded_timing": env_int("BENCH_LOADED_TIMING", 1),
    "profile": env_int("BENCH_PROFILE", 1),
    "phase_timeout_s": env_int("BENCH_TIMEOUT_S", 300),
    "log_level": os.environ.get("BENCH_LOG_LEVEL", "info"),
    "phases": os.environ.get("BENCH_PHASES", "timing,baseline,drain,memory"
                             ).split(","),
}


def log(msg):
    print("bench: " + msg, flush=True)


def now_ms():
    return int(time.time() * 1000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, grace=15):
    """Stops one process we started, by its pid: SIGTERM, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def http_get(port, path, timeout=5, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + key} if key else {}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def proc_status(pid):
    """VmHWM, VmRSS, RssAnon, RssFile of a process, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


def proc_cpu_s(pid):
    """User and system CPU seconds a process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / hz


def run(cmd, timeout, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=timeout, **kw)
    if res.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (
            os.path.basename(cmd[0]), res.returncode, res.stdout,
            res.stderr))
    return res.stdout


# -- the pieces ---------------------------------------------------------

class XServer:
    """bench/xserver on a free loopback port."""

    def __init__(self, workdir, record=None, max_records=None):
        self.port = free_port()
        cmd = [XSERVER, "--port", str(self.port),
               "--threads", str(os.cpu_count() or 2)]
        if record:
            cmd += ["--record", record,
                    "--max-records", str(max_records or 1000000)]
        self.logpath = os.path.join(workdir, "xserver-%d.log" % self.port)
        self.logfile = open(self.logpath, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logfile,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.count() is not None:
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("xserver did not start")

    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def count(self):
        status, body = http_get(self.port, "/bench/count")
        return json.loads(body) if status == 200 else None

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def stop(self):
        stop(self.proc)
        self.logfile.close()


class Store:
    """A directory with a seeded store, its key and a herald config."""

    def __init__(self, workdir, name, accounts, posts, first_due_ms=None,
                 spacing_us=0):
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "networks"))
        os.chmod(self.dir, 0o700)
        self.db = os.path.join(self.dir, "herald.db")
        self.key = os.path.join(self.dir, "herald.key")
        self.seed_s = self.seed(accounts, posts, first_due_ms, spacing_us)

    def seed(self, accounts, posts, first_due_ms=None, spacing_us=0):
        """Adds accounts and posts with bench/seed; returns the seconds
        it took."""
        cmd = [SEED, "--store", self.db, "--key", self.key,
               "--accounts", str(accounts), "--posts", str(posts),
               "--spacing-us", str(spacing_us)]
        if first_due_ms:
            cmd += ["--first-due-ms", str(first_due_ms)]
        t0 = time.monotonic()
        out = run(cmd, CFG["phase_timeout_s"])
        took = time.monotonic() - t0
        log(out.strip().splitlines()[-1] + " (%.1f s with open and close)"
            % took)
        return took

    def configure(self, xserver_base, port, synchronous="full"):
        concurrency = CFG["concurrency"]
        engine = {
            "listen_address": "127.0.0.1",
            "listen_port": port,
            "store_path": "herald.db",
            "store_synchronous": synchronous,
            "key_file": "herald.key",
            "plugin_dir": PLUGINS,
            "network_dir": "networks",
            "api_keys": [API_KEY],
            "log_level": CFG["log_level"],
            "publish_concurrency": concurrency,
        }
        twitter = {
            "client_id": "bench-client",
            "client_secret": "bench-client-secret",
            "redirect_uri": "http://127.0.0.1:%d/v1/oauth/twitter/callback"
                            % port,
            "authorize_url": xserver_base + "/i/oauth2/authorize",
            "token_url": xserver_base + "/2/oauth2/token",
            "revoke_url": xserver_base + "/2/oauth2/revoke",
            "api_base": xserver_base,
            "web_base": xserver_base,
            "concurrency": min(concurrency, 1024),
        }
        with open(os.path.join(self.dir, "herald.json"), "w") as f:
            json.dump(engine, f, indent=2)
        with open(os.path.join(self.dir, "networks", "twitter.json"),
                  "w") as f:
            json.dump(twitter, f, indent=2)

    def query(self, sql):
        """One read-only query on the store, beside the running daemon."""
        db = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                             timeout=10)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Herald:
    """`herald serve` on a store, started at a known time."""

    def __init__(self, store, port, preload=None, env_extra=None):
        self.port = port
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = preload
        env.update(env_extra or {})
        self.logpath = os.path.join(store.dir, "daemon.log")
        self.logfile = open(self.logpath, "a")
        self.started_wall_ms = time.time() * 1000
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [HERALD, "serve", "--config",
             os.path.join(store.dir, "herald.json")],
            cwd=store.dir, env=env, stdout=self.logfile,
            stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout=30):
        """Polls GET /v1/health every millisecond; returns the seconds
        from exec to the first 200."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            try:
                status, _ = http_get(self.port, "/v1/health", timeout=2)
                if status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("herald exited: " + self.tail())
            time.sleep(0.001)
        raise RuntimeError("herald not healthy in %d s: %s" % (timeout,
                                                               self.tail()))

    def tail(self):
        with open(self.logpath) as f:
            return "".join(f.readlines()[-5:])

    def stop(self):
        stop(self.proc, grace=20)
        self.logfile.close()


# -- the phases ---------------------------------------------------------

WRK_LUA = """wrk.method = "POST"
wrk.body = '{"text":"bench post seq=0 due=0"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-at-1000000"
"""


def wrk_rate(xs, workdir, close):
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
        if close:
            f.write('wrk.headers["Connection"] = "close"\n')
    out = run(["wrk", "-t", str(CFG["wrk_threads"]),
               "-c", str(CFG["wrk_connections"]),
               "-d", "%ds" % CFG["wrk_seconds"], "-s", script,
               xs.base() + "/2/tweets"], CFG["wrk_seconds"] + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"rate": float(m.group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sock.group(1) if sock else None}


def phase_baseline(workdir, results):
    xs = XServer(workdir)
    try:
        log("wrk, keep-alive, %d s" % CFG["wrk_seconds"])
        results["wrk_keepalive"] = wrk_rate(xs, workdir, close=False)
        log("wrk, a new connection per request, %d s" % CFG["wrk_seconds"])
        results["wrk_close"] = wrk_rate(xs, workdir, close=True)
    finally:
        xs.stop()


SYSCALLS = ("fdatasync", "fsync", "pwrite64", "pread64", "fcntl", "connect",
            "close", "epoll_wait")


class Perf:
    """perf counting syscalls and sampling where the CPU time goes, in
    one process; does nothing when perf is missing or not allowed."""

    def __init__(self, workdir, pid):
        self.stat_out = os.path.join(workdir, "perf-stat.txt")
        self.data = os.path.join(workdir, "perf.data")
        self.procs = []
        if not shutil.which("perf"):
            return
        events = ",".join("syscalls:sys_enter_" + s for s in SYSCALLS)
        for cmd in (["perf", "stat", "-x", ",", "-e", events, "-o",
                     self.stat_out, "-p", str(pid)],
                    ["perf", "record", "-F", "499", "-o", self.data, "-p",
                     str(pid)]):
            self.procs.append(subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def finish(self):
        """Stops perf and returns syscall counts and CPU shares by
        library, or None."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not self.procs:
            return None
        out = {"syscalls": {}, "dso_share": {}}
        try:
            with open(self.stat_out) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[2].startswith("syscalls:"):
                        name = parts[2].split("sys_enter_")[1]
                        out["syscalls"][name] = int(parts[0])
            rep = subprocess.run(
                ["perf", "report", "-i", self.data, "--stdio", "--sort",
                 "dso", "-g", "none"], capture_output=True, text=True,
                timeout=120).stdout
            for line in rep.splitlines():
                m = re.match(r"\s+([\d.]+)%\s+(\S+)", line)
                if m:
                    out["dso_share"][m.group(2)] = float(m.group(1)) / 100
        except (OSError, ValueError, IndexError,
                subprocess.SubprocessError):
            return None
        return out


def drain_once(workdir, name, synchronous="full", preload=None, env=None,
               perf=False):
    """Seeds N due posts, starts herald and waits until all are
    published. Returns the figures of that drain."""
    n = CFG["drain_posts"]
    xs = XServer(workdir)
    store = Store(workdir, name, CFG["drain_accounts"], n)
    os.sync()
    port = free_port()
    store.configure(xs.base(), port, synchronous)
    h = Herald(store, port, preload=preload, env_extra=env)
    watcher = Perf(workdir, h.proc.pid) if perf else None
    cpu0 = xs.cpu_s()
    out = {"posts": n, "accounts": CFG["drain_accounts"],
           "synchronous": synchronous}
    try:
        deadline = time.monotonic() + CFG["phase_timeout_s"]
        published = 0
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if h.proc.poll() is not None:
                raise RuntimeError("herald exited: " + h.tail())
            published = store.query(
                "SELECT count(*) FROM posts WHERE status = 'published'")[0][0]
            if published >= n:
                break
        wall = time.monotonic() - h.started
        out["herald_cpu_s"] = proc_cpu_s(h.proc.pid)
        out["herald_mem_kib"] = proc_status(h.proc.pid)
        out["xserver_cpu_s"] = xs.cpu_s() - cpu0
        out["xserver"] = xs.count()
    finally:
        if watcher:
            out["perf"] = watcher.finish()
        h.stop()
        xs.stop()
    first, last = store.query(
        "SELECT min(updated_at), max(updated_at) FROM posts"
        " WHERE status = 'published'")[0]
    out["by_status"] = dict(store.query(
        "SELECT status, count(*) FROM posts GROUP BY status"))
    out["attempts"] = store.query("SELECT count(*) FROM attempts")[0][0]
    out["published"] = out["by_status"].get("published", 0)
    out["complete"] = out["published"] == n
    out["poll_wall_s"] = wall
    if out["published"]:
        # From exec to the last post's commit, from the store's own times.
        out["elapsed_s"] = (last - h.started_wall_ms) / 1000.0
        out["rate"] = out["published"] / out["elapsed_s"]
        if out["published"] > 1 and last > first:
            out["steady_rate"] = (out["published"] - 1) / \
                ((last - first) / 1000.0)
    store.remove()
    return out


def read_profile(path, drain):
    rows = []
    with open(path) as f:
        for line in f:
            (ms, runs, steps, syncs, sync_ms, max_ms, slow,
             sql) = line.rstrip("\n").split("\t", 7)
            rows.append({"ms": float(ms), "runs": int(runs),
                         "steps": int(steps), "syncs": int(syncs),
                         "sync_ms": float(sync_ms), "max_ms": float(max_ms),
                         "slow": int(slow), "sql": sql})
    n = drain["published"] or 1
    commits = sum(r["runs"] for r in rows if r["sql"] == "COMMIT")
    syncs = sum(r["syncs"] for r in rows)
    sync_ms = sum(r["sync_ms"] for r in rows)
    sql_ms = sum(r["ms"] for r in rows
                 if not r["sql"].startswith("(sync outside"))
    return {
        "rows": rows,
        "commits_per_post": commits / n,
        "syncs_per_post": syncs / n,
        "sync_ms_per_post": sync_ms / n,
        "sql_ms_per_post": sql_ms / n,
        "statements_per_post": sum(
            r["runs"] for r in rows
            if r["sql"] not in ("COMMIT", "BEGIN IMMEDIATE")) / n,
        "elapsed_ms_per_post": drain["elapsed_s"] * 1000 / n,
        "sync_share": sync_ms / (drain["elapsed_s"] * 1000),
        "sql_share": sql_ms / (drain["elapsed_s"] * 1000),
    }


def phase_drain(workdir, results):
    log("drain: %d posts on %d accounts, synchronous=full" %
        (CFG["drain_posts"], CFG["drain_accounts"]))
    results["drain"] = drain_once(workdir, "drain")
    if not CFG["profile"]:
        return
    log("drain again under sqlprof.so and perf (diagnosis; slower)")
    prof = os.path.join(workdir, "sqlprof.tsv")
    d = drain_once(workdir, "drain-prof", preload=SQLPROF,
                   env={"SQLPROF_OUT": prof}, perf=True)
    results["drain_profiled"] = d
    if d.get("elapsed_s"):
        results["profile"] = read_profile(prof, d)
    log("drain again with synchronous=normal (diagnosis; not durable)")
    results["drain_normal"] = drain_once(workdir, "drain-normal",
                                         synchronous="normal")


def percentile(sorted_values, p):
    """The nearest-rank percentile of already sorted values."""
    k = max(0, min(len(sorted_values) - 1,
                   int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def timing_run(workdir, store=None):
    """Seeds posts due over a window (into store, or a new one), runs
    herald through the window and returns the lateness of each post as
    the loopback endpoint saw it."""
    n, window = CFG["late_posts"], CFG["late_window_s"]
    record = os.path.join(workdir, "receipts.txt")
    xs = XServer(workdir, record=record, max_records=n * 2)
    lead_ms = 3000
    first_due = now_ms() + lead_ms
    spacing_us = window * 1000000 // max(n, 1)
    own = store is None
    if own:
        store = Store(workdir, "timing", CFG["late_accounts"], n,
                      first_due_ms=first_due, spacing_us=spacing_us)
    else:
        store.seed(CFG["late_accounts"], n, first_due, spacing_us)
    os.sync()
    if now_ms() > first_due - 1000:
        raise RuntimeError("seeding the timing posts took too long")
    port = free_port()
    store.configure(xs.base(), port)
    h = Herald(store, port)
    try:
        h.wait_healthy()
        deadline = time.monotonic() + lead_ms / 1000 + window + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if xs.count()["posts"] >= n:
                break
        mem = proc_status(h.proc.pid)
    finally:
        h.stop()
        xs.stop()
    late = []
    with open(record) as f:
        for line in f:
            recv_us, due_ms, _seq = (int(x) for x in line.split())
            late.append(recv_us / 1000.0 - due_ms)
    late.sort()
    out = {"posts": n, "window_s": window, "accounts": CFG["late_accounts"],
           "received": len(late), "mem_kib": mem,
           "posts_in_store": store.query("SELECT count(*) FROM posts")[0][0]}
    if late:
        out.update({"min_ms": late[0], "p50_ms": percentile(late, 50),
                    "p99_ms": percentile(late, 99), "max_ms": late[-1],
                    "early": sum(1 for x in late if x < 0)})
    # The part of the lateness spent before the attempt was begun (in the
    # scheduler), from the store's own times, in whole milliseconds.
    begun = sorted(x[0] for x in store.query(
        "SELECT a.started_at - p.scheduled_at FROM attempts AS a"
        " JOIN posts AS p ON p.id = a.post_id WHERE p.scheduled_at"
        " BETWEEN %d AND %d" % (first_due, first_due + window * 1000)))
    if begun:
        out.update({"begun_p50_ms": percentile(begun, 50),
                    "begun_p99_ms": percentile(begun, 99),
                    "begun_max_ms": begun[-1]})
    if own:
        store.remove()
    return out


def phase_timing(workdir, results):
    log("timing: %d posts over %d s on %d accounts" %
        (CFG["late_posts"], CFG["late_window_s"], CFG["late_accounts"]))
    results["timing"] = timing_run(workdir)


def phase_memory(workdir, results):
    posts, accounts = CFG["mem_posts"], CFG["mem_accounts"]
    log("memory and start: %d posts due in 30 days on %d accounts" %
        (posts, accounts))
    xs = XServer(workdir)
    store = Store(workdir, "memory", accounts, posts,
                  first_due_ms=now_ms() + 30 * 86400 * 1000,
                  spacing_us=1000)
    out = {"posts": posts, "accounts": accounts, "seed_s": store.seed_s,
           "store_bytes": os.path.getsize(store.db), "runs": []}
    os.sync()
    port = free_port()
    store.configure(xs.base(), port)
    try:
        for i in range(max(1, CFG["start_runs"])):
            h = Herald(store, port)
            try:
                ready = h.wait_healthy()
                # The first scheduler pass runs in the loop's first turn;
                # a second lets the keeper and the scheduler settle.
                time.sleep(1.0)
                status, _ = http_get(port, "/v1/health")
                mem = proc_status(h.proc.pid)
                out["runs"].append({"ready_s": ready, "mem_kib": mem,
                                    "health_after": status})
                log("start %d: ready in %.1f ms, VmHWM %d KiB" %
                    (i + 1, ready * 1000, mem["VmHWM"]))
            finally:
                t0 = time.monotonic()
                h.stop()
                if out["runs"]:
                    out["runs"][-1]["stop_s"] = time.monotonic() - t0
        out["scheduled"] = store.query(
            "SELECT count(*) FROM posts WHERE status = 'scheduled'")[0][0]
    finally:
        xs.stop()
    readies = sorted(r["ready_s"] for r in out["runs"])
    out["ready_median_s"] = statistics.median(readies)
    out["ready_max_s"] = readies[-1]
    out["vmhwm_max_kib"] = max(r["mem_kib"]["VmHWM"] for r in out["runs"])
    out["vmrss_max_kib"] = max(r["mem_kib"]["VmRSS"] for r in out["runs"])
    results["memory"] = out
    if CFG["loaded_timing"]:
        loaded_timing(workdir, store, results, "timing_loaded",
                      "analyzed by the last clean stop")
        forget_statistics(store)
        loaded_timing(workdir, store, results, "timing_loaded_unanalyzed",
                      "without planner statistics")
    if CFG["profile"]:
        results["start_profile"] = {
            "analyzed": profiled_start(workdir, store)}
        forget_statistics(store)
        results["start_profile"]["unanalyzed"] = profiled_start(
            workdir, store)
    store.remove()


def loaded_timing(workdir, store, results, key, state):
    log("timing again, on this store (%s): %d posts over %d s on %d"
        " more accounts" % (state, CFG["late_posts"], CFG["late_window_s"],
                            CFG["late_accounts"]))
    try:
        results[key] = timing_run(workdir, store)
        results[key]["store_state"] = state
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        results.setdefault("errors", {})[key] = str(e)
        log("timing on the loaded store failed: %s" % e)


def forget_statistics(store):
    """Deletes what ANALYZE (run by herald's PRAGMA optimize at every
    clean stop) stored, so the next start plans its queries as on a store
    that was never stopped cleanly since it grew. Only while no daemon
    runs."""
    db = sqlite3.connect(store.db, timeout=10)
    try:
        if db.execute("SELECT count(*) FROM sqlite_master WHERE name ="
                      " 'sqlite_stat1'").fetchone()[0]:
            db.execute("DELETE FROM sqlite_stat1")
            db.commit()
    finally:
        db.close()


def profiled_start(workdir, store):
    """Starts herald under sqlprof.so on store, lets its first scheduler
    pass run, stops it; returns the statements that took the most time,
    the stop's PRAGMA optimize included."""
    prof = os.path.join(workdir, "sqlprof-start.tsv")
    stats = store.query("SELECT count(*) FROM sqlite_master WHERE name ="
                        " 'sqlite_stat1'")[0][0] and store.query(
        "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'posts'")[0][0]
    port = free_port()
    # No post is due: the network is never called.
    store.configure("http://127.0.0.1:9", port)
    h = Herald(store, port, preload=SQLPROF, env_extra={"SQLPROF_OUT": prof})
    try:
        ready = h.wait_healthy()
        time.sleep(1.0)
    finally:
        h.stop()
    rows = []
    with open(prof) as f:
        for line in f:
            ms, runs, _, _, _, _, _, sql = line.rstrip("\n").split("\t", 7)
            rows.append({"ms": float(ms), "runs": int(runs), "sql": sql})
    return {"ready_s": ready, "posts_statistics": bool(stats),
            "rows": rows[:8]}


# -- the machine and the summary ---------------------------------------

def machine(workdir):
    def first(path, key):
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return None

    df = subprocess.run(["df", "-hT", workdir], capture_output=True,
                        text=True).stdout.strip().splitlines()[-1].split()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                             "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                            "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    load = open("/proc/loadavg").read().split()[:3]
    packages = {}
    for pkg in ("libcurl4", "libmicrohttpd12", "libsqlite3-0", "libev4",
                "wrk"):
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           capture_output=True, text=True)
        packages[pkg] = v.stdout.strip() if v.returncode == 0 else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name"),
        "mem_total": first("/proc/meminfo", "MemTotal"),
        "kernel": platform.release(),
        "disk": {"device": df[0], "fstype": df[1], "size": df[2],
                 "avail": df[4], "mount": df[6]},
        "sqlite": sqlite3.sqlite_version,
        "packages": packages,
        "herald_commit": (commit.stdout.strip() or "?") +
                         (" (with uncommitted changes)" if dirty else ""),
        "load_at_start": load,
    }


def short_dso(name):
    """"libsqlite3.so.0.8.6" -> "sqlite3", "[kernel.kallsyms]" ->
    "kernel"."""
    if name.startswith("[kernel"):
        return "kernel"
    name = name.split(".so")[0]
    return name[3:] if name.startswith("lib") and name != "libc" else name


def summary(r):
    rows = []

    def row(name, value, target, ok):
        rows.append((name, value, target,
                     "-" if ok is None else ("met" if ok else "MISSED")))

    wrk = r.get("wrk_keepalive", {}).get("rate")
    wrk_close = r.get("wrk_close", {}).get("rate")
    if wrk:
        row("wrk, keep-alive", "%.0f req/s" % wrk, "baseline", None)
    if wrk_close:
        row("wrk, new connection per request", "%.0f req/s" % wrk_close,
            "reference", None)
    d = r.get("drain")
    if d and d.get("rate"):
        row("drain, synchronous=full", "%.0f posts/s (%d in %.1f s)" % (
            d["rate"], d["published"], d["elapsed_s"]),
            ">= 0.5 x wrk", None)
        if wrk:
            ratio = d["rate"] / wrk
            row("drain / wrk keep-alive", "%.4f" % ratio, ">= 0.5",
                ratio >= 0.5)
        if wrk_close:
            row("drain / wrk new connection", "%.4f" % (d["rate"] /
                                                       wrk_close),
                "reference", None)
        row("drain published exactly once",
            "%d received, %d published" % (d["xserver"]["posts"],
                                           d["published"]),
            "all, once", d["xserver"]["posts"] == d["posts"] == d[
                "published"])
    p = r.get("profile")
    if p:
        row("commits / syncs per post", "%.2f / %.2f" % (
            p["commits_per_post"], p["syncs_per_post"]), "diagnosis", None)
        commit = [x for x in p["rows"] if x["sql"] == "COMMIT"]
        if commit:
            row("COMMIT: longest, calls of 10 ms or more", "%.1f ms, %d of %d"
                % (commit[0]["max_ms"], commit[0]["slow"], commit[0]["runs"]),
                "diagnosis", None)
        row("SQL statements per post, besides BEGIN and COMMIT",
            "%.1f" % p["statements_per_post"], "diagnosis", None)
        row("time in syncs / all SQL", "%.0f %% / %.0f %%" % (
            100 * p["sync_share"], 100 * p["sql_share"]), "diagnosis",
            None)
    pf = (r.get("drain_profiled") or {}).get("perf")
    if pf and pf.get("syscalls"):
        n = r["drain_profiled"]["published"] or 1
        row("syscalls per post", ", ".join(
            "%s %.1f" % (k, v / n) for k, v in pf["syscalls"].items()
            if v / n >= 0.5), "diagnosis", None)
    if pf and pf.get("dso_share"):
        top = sorted(pf["dso_share"].items(), key=lambda x: -x[1])[:5]
        row("herald CPU samples by library", ", ".join(
            "%s %.0f %%" % (short_dso(k), 100 * v) for k, v in top),
            "diagnosis", None)
    dn = r.get("drain_normal")
    if dn and dn.get("rate"):
        row("drain, synchronous=normal", "%.0f posts/s" % dn["rate"],
            "diagnosis", None)
    for key in ("timing", "timing_loaded", "timing_loaded_unanalyzed"):
        t = r.get(key)
        if not t or "p99_ms" not in t:
            continue
        label = ""
        if key != "timing":
            label = ", %d posts in store%s" % (
                t["posts_in_store"],
                ", no statistics" if key.endswith("unanalyzed") else "")
        row("lateness p50 / p99" + label, "%.1f / %.1f ms" % (
            t["p50_ms"], t["p99_ms"]), "p99 < 50 ms", t["p99_ms"] < 50)
        row("lateness min / max" + label, "%.1f / %.1f ms" % (
            t["min_ms"], t["max_ms"]), "min >= 0", t["min_ms"] >= 0)
        if "begun_p50_ms" in t:
            row("  of which due -> attempt begun, p50 / p99", "%d / %d ms"
                % (t["begun_p50_ms"], t["begun_p99_ms"]), "diagnosis",
                None)
        row("timing posts received" + label, "%d of %d" % (
            t["received"], t["posts"]), "all", t["received"] == t["posts"])
    m = r.get("memory")
    if m:
        row("RSS, %d posts, %d accounts" % (m["posts"], m["accounts"]),
            "%.1f MiB (VmHWM)" % (m["vmhwm_max_kib"] / 1024.0),
            "< 64 MiB", m["vmhwm_max_kib"] < 64 * 1024)
        row("ready after exec (median of %d)" % len(m["runs"]),
            "%.0f ms (max %.0f)" % (m["ready_median_s"] * 1000,
                                    m["ready_max_s"] * 1000),
            "< 1000 ms", m["ready_max_s"] < 1.0)
        stops = [x["stop_s"] for x in m["runs"] if "stop_s" in x]
        if stops:
            row("stop after SIGTERM (max)", "%.0f ms" % (1000 * max(stops)),
                "information", None)
    w = [max(len(x[i]) for x in rows + [("what", "figure", "target",
                                          "")]) for i in range(4)]
    line = "  ".join("%%-%ds" % n for n in w)
    print()
    print(line % ("what", "figure", "target", ""))
    print(line % tuple("-" * n for n in w))
    for x in rows:
        print(line % x)
    for state, sp in sorted((r.get("start_profile") or {}).items()):
        print("\nslowest statements of one start and stop with %d posts,"
              " %s:" % (m["posts"] if m else 0,
                        "planner statistics" if sp["posts_statistics"]
                        else "no planner statistics"))
        for x in sp["rows"][:5]:
            print("  %8.1f ms  %3d runs  %s" % (x["ms"], x["runs"],
                                               x["sql"][:90]))
    if p:
        print("\nwhere a profiled drain spent its time in SQLite "
              "(per post, top 12):")
        n = r["drain_profiled"]["published"] or 1
        for x in p["rows"][:12]:
            print("  %7.3f ms  %5.2f runs  %5.2f syncs  %s" % (
                x["ms"] / n, x["runs"] / n, x["syncs"] / n, x["sql"][:90]))


def main():
    results = {"config": CFG}
    base = os.environ.get("BENCH_DIR") or None
    workdir = tempfile.mkdtemp(prefix="herald-bench-", dir=base)
    os.chmod(workdir, 0o700)
    results["machine"] = machine(workdir)
    log("working in %s" % workdir)
    t0 = time.monotonic()
    phases = {"baseline": phase_baseline, "drain": phase_drain,
              "timing": phase_timing, "memory": phase_memory}
    failed = False
    try:
        for name in CFG["phases"]:
            if name not in phases:
                raise SystemExit("unknown phase '%s'" % name)
            # Writeback left by an earlier phase must not land in this one.
            os.sync()
            results.setdefault("load", {})[name] = open(
                "/proc/loadavg").read().split()[:3]
            try:
                phases[name](workdir, results)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                failed = True
                results.setdefault("errors", {})[name] = str(e)
                log("phase %s failed: %s" % (name, e))
    finally:
        results["duration_s"] = time.monotonic() - t0
        results["machine"]["load_at_end"] = open(
            "/proc/loadavg").read().split()[:3]
        out = os.environ.get("BENCH_OUT")
        if out:
            with open(out, "w") as f:
                json.dump(results, f, indent=2)
            log("results in %s" % out)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
    summary(results)
    print("\nload average (1, 5, 15 min) as each phase began: " +
          "; ".join("%s %s" % (k, " ".join(v))
                    for k, v in results.get("load", {}).items()))
    print("%s, %s, %d cores, %s; run took %.0f s" % (
        results["machine"]["date"], results["machine"]["cpu"],
        results["machine"]["nproc"], results["machine"]["mem_total"],
        results["duration_s"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
