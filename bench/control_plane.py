#!/usr/bin/env python3
"""The control plane at scale: every change costs what it changes.

For each size K (default 1,000, 100,000 and 1,000,000 keys in one usage plan):

  apply    `tollgate apply -f` of the K keys into a new data directory, the
           same file again (no changes), and the file with one key renamed
           (the changes it reports);
  calls    through the real management API with boto3 (one client keeping
           its connection): --calls calls of each of create-api-key,
           create-usage-plan-key, update-api-key (disable), get-api-key,
           get-api-keys --limit 25 (first page, the next page, nameQuery),
           get-usage-plan-keys --limit 25, delete-usage-plan-key, get-usage
           of one key; median and p95 in ms;
  console  the owner console's overview, a key search and a plan's key
           list (GET /console/api/overview), median ms;
  served   how long after the management call returned the data plane acts
           on it (polled every 2 ms with the key): a new key in the plan
           (import-api-keys with a usage plan id), a new membership, a
           disabled key, a deleted membership; median and max ms;
  signups  (with --signups-seconds S > 0, at the largest K) wrk sends
           keyed requests for S/2 s alone, then S s while --signup-rate keys
           a second are created and added to the plan (import-api-keys in
           batches of 25), then S/2 s alone again; the drop in throughput
           against the mean of the two alone, every call's result, failed
           requests, and resident memory per key added;
  redis    (with --redis, at every K) the keys applied into a real
           redis-server, two nodes started on it (the start of each timed:
           until /health answers with the catalog), and a new membership
           made on one node's management API timed until the other node's
           data plane serves it.

Results: bench/results/control_plane-<UTC stamp>.json and a table on stdout.
--smoke runs a small size quickly (a test runs it). Targets are reported,
not enforced. Exit status 0 when everything answered as it should.
"""

import argparse
import datetime
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
import harness  # noqa: E402

API = "cpbench"
STAGE = "prod"
PLAN = "cpplan"
HUGE = 1_000_000_000
# A first start of a node on Redis with a million keys assigns each its
# usage slot there: longer than the test suite's limit.
harness.START_TIMEOUT_S = 180


def log(message):
    print(f"[control_plane] {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keys", default="1000,100000,1000000", help="sizes, comma-separated")
    p.add_argument("--calls", type=int, default=50, help="calls of each operation per size (default 50)")
    p.add_argument("--changes", type=int, default=20, help="changes timed until served, of each kind (default 20)")
    p.add_argument("--signups-seconds", type=int, default=60, help="length of each signups phase, 0: none")
    p.add_argument("--signup-rate", type=int, default=500, help="keys created and added per second")
    p.add_argument("--signup-batch", type=int, default=25, help="keys per import-api-keys call (default 25)")
    p.add_argument("--redis", action="store_true", help="also measure two nodes on a real redis-server")
    p.add_argument("--redis-only", action="store_true", help="only the measurements on Redis")
    p.add_argument("--smoke", action="store_true", help="one small size, few calls, short phases")
    p.add_argument("--work", help="directory for data (default: a temporary one, removed)")
    opts = p.parse_args(argv)
    if opts.smoke:
        opts.keys, opts.calls, opts.changes, opts.signups_seconds = "200", 5, 3, 2
        opts.signup_rate = min(opts.signup_rate, 100)
    opts.sizes = [int(k) for k in opts.keys.split(",")]
    opts.redis = opts.redis or opts.redis_only
    return opts


def key_value(i):
    return f"cpk{i:012d}abcdefghij"


def declaration(keys, renamed=None):
    """The declaration of `keys` ((name, value) pairs) in one plan, as JSON
    (which is YAML too: a generated file of a million keys is read by the
    JSON parser); the key at index `renamed` gets "-renamed" after its name."""
    names = [name + ("-renamed" if i == renamed else "") for i, (name, _) in enumerate(keys)]
    doc = {
        "account": {"throttle": {"rateLimit": HUGE, "burstLimit": HUGE}},
        "apis": [{"id": API, "name": "cpbench",
                  "resources": {"/ok": {"GET": {"apiKeyRequired": True, "integration": {
                      "type": "MOCK", "statusCode": 200, "body": '{"ok": true}'}}}},
                  "stages": [{"stageName": STAGE}]}],
        "apiKeys": [{"name": n, "value": v} for n, (_, v) in zip(names, keys)],
        "usagePlans": [{"name": PLAN, "throttle": {"rateLimit": HUGE, "burstLimit": HUGE},
                        "quota": {"limit": HUGE, "period": "MONTH"},
                        "apiStages": [{"apiId": API, "stage": STAGE}], "apiKeys": names}],
    }
    return json.dumps(doc)


def timed_apply(text, path, data_dir, store_args=()):
    path.write_text(text)
    started = time.monotonic()
    r = subprocess.run([harness.TOLLGATE_BIN, "apply", "-f", str(path), "--data-dir", str(data_dir), *store_args],
                       capture_output=True, text=True)
    seconds = time.monotonic() - started
    if r.returncode != 0:
        raise RuntimeError(f"apply failed: {r.stderr[-2000:]}")
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    changes = 0 if last == "no changes" else int(last.split()[0])
    return round(seconds, 2), changes


def summary(samples_ms):
    s = sorted(samples_ms)
    return {"median_ms": round(statistics.median(s), 2), "p95_ms": round(s[min(len(s) - 1, int(len(s) * 0.95))], 2),
            "max_ms": round(s[-1], 2), "n": len(s)}


def client_for(gateway):
    import boto3
    import botocore.config
    key_id, secret = harness.admin_credentials(gateway.data_dir)
    return boto3.client("apigateway", endpoint_url=f"http://{harness.HOST}:{gateway.admin_port}",
                        region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=4))


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def plan_id_of(client):
    for p in client.get_usage_plans(limit=500)["items"]:
        if p["name"] == PLAN:
            return p["id"]
    raise RuntimeError("the bench plan is missing")


class DataPlane:
    """Keyed GETs on one node's data plane over a kept connection."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def status(self, key):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(harness.HOST, self.port, timeout=5)
                self.conn.request("GET", f"/restapis/{API}/{STAGE}/_user_request_/ok", headers={"x-api-key": key})
                res = self.conn.getresponse()
                res.read()
                return res.status
            except (OSError, http.client.HTTPException):
                self.conn = None
        raise RuntimeError("the data plane does not answer")

    def wait_for(self, key, status, timeout=5.0):
        """ms from now until the data plane answers `status` for `key`."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.status(key) == status:
                return (time.perf_counter() - started) * 1000
            time.sleep(0.002)
        raise RuntimeError(f"the data plane did not answer {status} for a changed key within {timeout} s")


def measure_calls(client, plan_id, calls, tag):
    out = {}
    created, joined = [], []
    samples = []
    for i in range(calls):
        ms, r = timed(lambda: client.create_api_key(name=f"{tag}-{i:05d}", enabled=True, customerId=f"cust-{tag}-{i}"))
        samples.append(ms)
        created.append(r["id"])
    out["create-api-key"] = summary(samples)
    samples = []
    for key_id in created:
        ms, _ = timed(lambda: client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY"))
        samples.append(ms)
        joined.append(key_id)
    out["create-usage-plan-key"] = summary(samples)
    ops = {
        "update-api-key (disable)": lambda k: client.update_api_key(
            apiKey=k, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]),
        "get-api-key": lambda k: client.get_api_key(apiKey=k),
        "get-usage (one key)": lambda k: client.get_usage(usagePlanId=plan_id, keyId=k, startDate="2026-12-01",
                                                          endDate="2026-12-31"),
    }
    for name, op in ops.items():
        out[name] = summary([timed(lambda: op(k))[0] for k in created])
    first = client.get_api_keys(limit=25)
    out["get-api-keys (first page)"] = summary([timed(lambda: client.get_api_keys(limit=25))[0] for _ in range(calls)])
    out["get-api-keys (later page)"] = summary(
        [timed(lambda: client.get_api_keys(limit=25, position=first["position"]))[0] for _ in range(calls)])
    out["get-api-keys (nameQuery)"] = summary(
        [timed(lambda: client.get_api_keys(limit=25, nameQuery=f"{tag}-0000"))[0] for _ in range(calls)])
    out["get-usage-plan-keys"] = summary(
        [timed(lambda: client.get_usage_plan_keys(usagePlanId=plan_id, limit=25))[0] for _ in range(calls)])
    out["delete-usage-plan-key"] = summary(
        [timed(lambda: client.delete_usage_plan_key(usagePlanId=plan_id, keyId=k))[0] for k in joined])
    return out


def measure_console(gateway, plan_id, calls):
    cookie = harness.console_cookie(gateway)

    def get(path):
        res = harness.http_request(gateway.admin_port, "GET", path, {"Cookie": cookie}, timeout=60)
        if res.status != 200:
            raise RuntimeError(f"GET {path}: {res.status}")

    out = {}
    for name, path in (("overview", "/console/api/overview"),
                       ("key search", "/console/api/overview?nameQuery=k00000123"),
                       ("plan's key list", f"/console/api/overview?planId={plan_id}")):
        out[name] = summary([timed(lambda: get(path))[0] for _ in range(max(3, calls // 5))])
    return out


def measure_served(client, plan_id, plane, changes, tag):
    """ms until `plane` acts on each kind of change made through `client`."""
    new_key, membership, disabled, left = [], [], [], []
    for i in range(changes):
        value = f"{tag}v{i:06d}0123456789abcdef"
        client.import_api_keys(body=f"name,key,enabled,usageplanIds\n{tag}-imp-{i},{value},true,{plan_id}\n".encode(),
                               format="csv")
        new_key.append(plane.wait_for(value, 200))
        value2 = f"{tag}w{i:06d}0123456789abcdef"
        key = client.create_api_key(name=f"{tag}-mem-{i}", value=value2, enabled=True)
        client.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
        membership.append(plane.wait_for(value2, 200))
        client.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
        disabled.append(plane.wait_for(value2, 403))
        client.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
        plane.wait_for(value2, 200)
        client.delete_usage_plan_key(usagePlanId=plan_id, keyId=key["id"])
        left.append(plane.wait_for(value2, 403))
    return {"new key": summary(new_key), "new membership": summary(membership), "disabled key": summary(disabled),
            "deleted membership": summary(left)}


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_wrk(port, keys, seconds, workdir):
    script = Path(workdir) / "keys.lua"
    sample = keys[:: max(1, len(keys) // 1000)]
    script.write_text("local keys = {" + ",".join(f'"{k}"' for k in sample) + "}\n" + """
local n = 0
function request()
  n = n % #keys + 1
  return wrk.format("GET", nil, {["x-api-key"] = keys[n]})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
""")
    r = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(script),
                        f"http://{harness.HOST}:{port}/restapis/{API}/{STAGE}/_user_request_/ok"],
                       capture_output=True, text=True)
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT"))
    fields = dict(kv.split("=") for kv in line.split()[1:])
    return {"rps": round(int(fields["requests"]) / (int(fields["duration_us"]) / 1e6)),
            "non2xx": int(fields["non2xx"]), "socket_errors": int(fields["socket_errors"])}


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid):
    """CPU seconds by thread name (the main thread, which serves the
    management API, is named tollgate; the workers worker-N)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def measure_signups(gateway, client, plan_id, keys, seconds, rate, batch, workdir):
    # Alone for half the time before the sign-ups and half after, compared
    # with their mean: this machine's speed drifts over minutes.
    before = run_wrk(gateway.port, keys, max(1, seconds // 2), workdir)
    rss_before = rss_kb(gateway.proc.pid)
    calls, failures, added = 0, [], 0
    stop = threading.Event()

    def sign_up():
        nonlocal calls, added
        interval = batch / rate
        next_at = time.monotonic()
        n = 0
        while not stop.is_set():
            rows = "".join(f"su-{n + j},su{n + j:09d}0123456789abcdef,true,{plan_id}\n" for j in range(batch))
            try:
                r = client.import_api_keys(body=("name,key,enabled,usageplanIds\n" + rows).encode(), format="csv")
                if r.get("warnings"):
                    failures.append(str(r["warnings"][:3]))
                added += len(r["ids"])
            except Exception as e:  # every failure is reported
                failures.append(repr(e))
            calls += 1
            n += batch
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    server_cpu = cpu_seconds(gateway.proc.pid)
    threads_cpu = thread_cpu_seconds(gateway.proc.pid)
    client_cpu = time.process_time()
    thread = threading.Thread(target=sign_up)
    thread.start()
    during = run_wrk(gateway.port, keys, seconds, workdir)
    stop.set()
    thread.join()
    server_cpu = cpu_seconds(gateway.proc.pid) - server_cpu
    threads_cpu = {name: cpu - threads_cpu.get(name, 0.0) for name, cpu in thread_cpu_seconds(gateway.proc.pid).items()}
    client_cpu = time.process_time() - client_cpu
    time.sleep(1.0)
    rss_after = rss_kb(gateway.proc.pid)
    after = run_wrk(gateway.port, keys, max(1, seconds // 2), workdir)
    alone_rps = (before["rps"] + after["rps"]) / 2
    return {"alone_before": before, "during_signups": during, "alone_after": after,
            "throughput_drop_pct": round(100.0 * (1 - during["rps"] / alone_rps), 1),
            "keys_added": added, "calls": calls, "failed_calls": len(failures), "failures": failures[:5],
            "keys_per_s": round(added / seconds), "batch": batch,
            "server_cpu_s_alone_and_signing_up": round(server_cpu, 1), "client_cpu_s": round(client_cpu, 1),
            "cpu_us_per_key_added": {("management API" if name == "tollgate" else name): round(cpu * 1e6 / added)
                                     for name, cpu in sorted(threads_cpu.items())
                                     if added and not name.startswith("worker")},
            "rss_growth_bytes_per_key":
                round((rss_after - rss_before) * 1024 / added) if added else None}


def start_node(workdir, store_args, node=None):
    """A node started (again, given `node`) and the seconds until it served."""
    node = node or harness.Gateway(str(workdir), args=["--access-log", "off", *store_args])
    started = time.monotonic()
    node.start()
    return node, round(time.monotonic() - started, 2)


def rebuilds(node):
    return harness.metric(node, 'tollgate_catalog_loads_total{kind="rebuild"}')


def settle(nodes, quiet_s=3.0, timeout=120.0):
    """Waits until the nodes serve one version and none has rebuilt for
    `quiet_s` (a node that sees another join rebuilds, its throttles split)."""
    deadline = time.monotonic() + timeout
    last = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        now = ([rebuilds(n) for n in nodes], [n.health()["catalogVersion"] for n in nodes])
        if now != last:
            last, since = now, time.monotonic()
        elif len(set(now[1])) == 1 and time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.2)
    raise RuntimeError("the nodes did not settle on one catalog")


def measure_redis(size, text, workdir, changes):
    redis = harness.RedisServer(str(workdir)).start()
    try:
        store = ["--store", redis.url]
        apply_s, _ = timed_apply(text, workdir / "redis.json", workdir / "apply-data", store)
        (workdir / "node-a").mkdir()
        (workdir / "node-b").mkdir()
        # A node's first start gives each membership its usage slot in
        # Redis; later starts find them.
        a, a_first = start_node(workdir / "node-a", store)
        try:
            b, b_first = start_node(workdir / "node-b", store)
            try:
                settle([a, b])
                b.stop()
                _, b_start = start_node(None, store, node=b)
                settle([a, b])
                client = client_for(a)
                plan_id = plan_id_of(client)
                served = measure_served(client, plan_id, DataPlane(b.port), changes, f"r{size}")
            finally:
                b.stop()
        finally:
            a.stop()
        return {"apply_s": apply_s, "first_start_s": [a_first, b_first], "start_s": b_start,
                "served_on_other_node": served}
    finally:
        redis.stop()


def run_size(size, opts, root):
    log(f"{size} keys")
    work = root / f"keys-{size}"
    work.mkdir()
    keys = [(f"k{i:08d}", key_value(i)) for i in range(size)]
    text = declaration(keys)
    result = {"keys": size}
    if opts.redis_only:
        (work / "redis").mkdir()
        result["redis"] = measure_redis(size, text, work / "redis", opts.changes)
        shutil.rmtree(work, ignore_errors=True)
        return result
    data = work / "data"
    result["apply_new_s"], result["apply_new_changes"] = timed_apply(text, work / "keys.json", data)
    result["apply_again_s"], result["apply_again_changes"] = timed_apply(text, work / "keys.json", data)
    renamed = declaration(keys, renamed=size // 2)
    result["apply_one_changed_s"], result["apply_one_changed_changes"] = timed_apply(renamed, work / "keys.json", data)
    log(f"apply: new {result['apply_new_s']} s, again {result['apply_again_s']} s, "
        f"one changed {result['apply_one_changed_s']} s ({result['apply_one_changed_changes']} change(s))")
    gateway = harness.Gateway(str(work), args=["--access-log", "off"])
    gateway.data_dir = str(data)
    started = time.monotonic()
    gateway.start()
    result["start_s"] = round(time.monotonic() - started, 2)
    try:
        client = client_for(gateway)
        plan_id = plan_id_of(client)
        result["calls"] = measure_calls(client, plan_id, opts.calls, f"b{size}")
        result["console"] = measure_console(gateway, plan_id, opts.calls)
        result["served"] = measure_served(client, plan_id, DataPlane(gateway.port), opts.changes, f"s{size}")
        if opts.signups_seconds > 0 and size == max(opts.sizes):
            log(f"signups: {opts.signup_rate} keys/s for {opts.signups_seconds} s under keyed traffic")
            result["signups"] = measure_signups(gateway, client, plan_id, [v for _, v in keys], opts.signups_seconds,
                                                opts.signup_rate, opts.signup_batch, work)
    finally:
        gateway.stop()
    if opts.redis:
        log(f"redis: {size} keys")
        (work / "redis").mkdir()
        result["redis"] = measure_redis(size, text, work / "redis", opts.changes)
    shutil.rmtree(work, ignore_errors=True)
    return result


def print_report(results):
    if not results:
        return
    sizes = [r["keys"] for r in results]
    print("\n| operation | " + " | ".join(f"{k:,} keys median (p95) ms" for k in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in results[0]["calls"]:
        cells = [f"{r['calls'][name]['median_ms']} ({r['calls'][name]['p95_ms']})" for r in results]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name in results[0]["console"]:
        print(f"| console {name} | " + " | ".join(str(r["console"][name]["median_ms"]) for r in results) + " |")
    for name in results[0]["served"]:
        cells = [f"{r['served'][name]['median_ms']} (max {r['served'][name]['max_ms']})" for r in results]
        print(f"| served: {name} | " + " | ".join(cells) + " |")
    for field in ("apply_new_s", "apply_again_s", "apply_one_changed_s", "apply_one_changed_changes", "start_s"):
        print(f"| {field} | " + " | ".join(str(r[field]) for r in results) + " |")
    for r in results:
        if "signups" in r:
            print(f"\nsignups at {r['keys']:,} keys: {json.dumps(r['signups'])}")
        if "redis" in r:
            print(f"redis at {r['keys']:,} keys: {json.dumps(r['redis'])}")


def main(argv):
    opts = parse_args(argv)
    root = Path(opts.work) if opts.work else Path(tempfile.mkdtemp(prefix="control_plane-"))
    root.mkdir(parents=True, exist_ok=True)
    results = []
    failed = False
    try:
        for size in opts.sizes:
            try:
                results.append(run_size(size, opts, root))
            except Exception as e:  # reported, and the run fails; what was measured is kept
                log(f"{size} keys: {e!r}")
                results.append({"keys": size, "error": repr(e)})
                failed = True
    finally:
        if not opts.work:
            shutil.rmtree(root, ignore_errors=True)
    print_report([r for r in results if "calls" in r])
    for r in results:
        if "redis" in r and "calls" not in r:
            print(f"redis at {r['keys']:,} keys: {json.dumps(r['redis'])}")
    if not opts.smoke:
        out_dir = HERE / "results"
        out_dir.mkdir(exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = out_dir / f"control_plane-{stamp}.json"
        path.write_text(json.dumps(results, indent=2) + "\n")
        log(f"results in {path}")
    failed = failed or any(r.get("signups", {}).get("failed_calls") or
                           r.get("signups", {}).get("during_signups", {}).get("socket_errors") or
                           r.get("signups", {}).get("during_signups", {}).get("non2xx") for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
