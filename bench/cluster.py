#!/usr/bin/env python3
"""Several nodes on one Redis: throughput of N nodes against one, and how
exactly they hold a key's quota together.

Starts the nginx backend, a redis-server and `tollgate serve --store
redis://...` nodes (W workers each), loads the declaration of
bench/side_by_side.py (K keys, limits far above the load) into Redis, and
runs three phases, each with wrk's C connections spread evenly over the
nodes (one wrk per node, the --threads split among them):

  1 node    one node alone: requests/s.
  N nodes   N nodes (the first one among them): requests/s.
  throttle  a key throttled at 2,000 requests/s (burst 200), loaded on all
            N nodes for S seconds: what they admitted together against
            what the throttle allows (rate x S + burst).
  quota     one more key, in a plan whose daily quota is Q, loaded on all N
            nodes for S seconds (Q is sized to be spent well within S).
            Served is what the backend received for it; overshoot is what
            was served beyond Q, stranded what was left of Q while every
            caller was being refused.

Writes everything as JSON to bench/results/cluster-<UTC stamp>.json.

wrk, nginx, Redis and the nodes share this machine's cores: on a machine of
two cores, N nodes cannot serve more than one, and the phase shows what
sharing state through Redis costs rather than what it gains.

Exit status: 0 when every phase answered only 200 (and 429 in the throttle
and quota phases), the throttle held within 5%, the quota was never
overshot and at most 1% of it was stranded; 1 otherwise; 130 when
interrupted.
"""

import argparse
import functools
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import overload  # noqa: E402
import side_by_side as sbs  # noqa: E402

NAME = "cluster"
log = functools.partial(sbs.log, prefix=NAME)
QUOTA_KEY = "bq" + "q" * 38
THROTTLE_KEY = "bt" + "t" * 38
THROTTLE_RATE = 2000
THROTTLE_BURST = 200
QUOTA_PATH = f"/restapis/{sbs.TOLLGATE_API_ID}/prod/_user_request_/pets"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=3, metavar="N", help="nodes in the cluster (default 3)")
    parser.add_argument("--workers", type=int, default=1, metavar="W", help="workers per node (default 1)")
    parser.add_argument("--keys", type=int, default=10, metavar="K", help="valid API keys (default 10)")
    parser.add_argument("--seconds", type=int, default=10, metavar="S", help="length of each phase (default 10)")
    parser.add_argument("--quota", type=int, default=0, metavar="Q",
                        help="the quota phase's daily quota (default: a third of what N nodes served in S s)")
    sbs.add_wrk_arguments(parser)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--smoke", action="store_true", help="2 s phases: proves the script works")
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.seconds = 2
    if opts.nodes < 2 or opts.workers < 1 or opts.keys < 1 or opts.seconds < 1 or opts.quota < 0:
        parser.error("--nodes must be at least 2, --workers, --keys and --seconds at least 1")
    sbs.check_wrk_arguments(parser, opts)
    if opts.connections < opts.nodes:
        parser.error("--connections must be at least --nodes")
    return opts


def start_redis(procs, tools, work):
    [port] = sbs.free_ports(1)
    base = work / "redis"
    base.mkdir()
    proc = procs.start([tools["redis-server"], "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", str(base)], base / "redis.log")
    deadline = time.monotonic() + sbs.STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if ping.stdout.strip() == "PONG":
            return f"redis://127.0.0.1:{port}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise sbs.BenchError(f"redis-server did not start on port {port}")


def declaration(keyset, backend_port, quota):
    """side_by_side's keys and plan; QUOTA_KEY alone in a plan with a daily
    quota, and THROTTLE_KEY alone in a plan with a throttle."""
    return sbs.tollgate_yaml(keyset, backend_port).replace("usagePlans:\n", f"""\
  - {{name: quota-key, value: {QUOTA_KEY}}}
  - {{name: throttle-key, value: {THROTTLE_KEY}}}
usagePlans:
  - name: quota
    throttle: {{rateLimit: {sbs.HUGE_RATE}, burstLimit: {sbs.HUGE_RATE}}}
    quota: {{limit: {quota}, period: DAY}}
    apiStages: [{{apiId: {sbs.TOLLGATE_API_ID}, stage: prod}}]
    apiKeys: [quota-key]
  - name: throttle
    throttle: {{rateLimit: {THROTTLE_RATE}, burstLimit: {THROTTLE_BURST}}}
    apiStages: [{{apiId: {sbs.TOLLGATE_API_ID}, stage: prod}}]
    apiKeys: [throttle-key]
""", 1)


def apply(tools, store, work, text, what):
    path = work / "cluster.yaml"
    path.write_text(text)
    sbs.run_checked([tools["tollgate"], "apply", "-f", str(path), "--store", store, "--data-dir",
                     str(work / "apply-data")], what, work / "apply.log")


def start_node(procs, tools, work, store, index, workers):
    data_dir = work / f"node-{index}"
    argv, port = sbs.tollgate_serve_argv(tools, data_dir, workers)
    argv += ["--store", store]
    base = work / f"node-{index}-log"
    base.mkdir()
    node = sbs.start_target(f"node-{index}", port, sbs.TOLLGATE_PATH, lambda: procs.start(argv, base / "tollgate.log"))
    node.admin_port = int(argv[argv.index("--admin-listen") + 1].rsplit(":", 1)[1])
    return node


def load(nodes, lua, seconds, opts, tools, wrk_log):
    """One wrk per node, at once, with the connections split evenly; their
    results summed."""
    results = [None] * len(nodes)
    errors = []

    def one(i, node):
        share = types.SimpleNamespace(threads=max(1, opts.threads // len(nodes)), connections=opts.connections // len(nodes) +
                                      (1 if i < opts.connections % len(nodes) else 0))
        try:
            results[i] = overload.run_wrk(tools, node.url, lua, share.connections, seconds, share, wrk_log)
        except sbs.BenchError as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i, node)) for i, node in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    statuses = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    seconds_run = max(r["duration_us"] for r in results) / 1e6
    return {"requests_per_sec": round(sum(r["requests"] for r in results) / seconds_run, 1),
            "statuses": statuses, "socket_errors": sum(r["socket_errors"] for r in results),
            "wrk_p99_ms": max(r["wrk_p99_ms"] for r in results), "by_node": results}


def lease_metrics(node):
    status, body = sbs.http_get(node.admin_port, "/metrics")
    if status != 200:
        raise sbs.BenchError(f"{node.name} /metrics answered {status}")
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in body.decode().splitlines()
             if line.startswith(("tollgate_quota_lease", "tollgate_quota_leased", "tollgate_redis_breaker")))}


def throughput_phase(name, nodes, lua, opts, tools, work):
    result = load(nodes, lua, opts.seconds, opts, tools, work / "wrk.log")
    log(f"{name}: {result['requests_per_sec']:,.0f} requests/s {result['statuses']}")
    return dict(result, phase=name, nodes=len(nodes))


def quota_phase(nodes, backend, opts, tools, work, quota):
    (work / "quota").mkdir()
    lua = overload.write_lua(types.SimpleNamespace(sample=[QUOTA_KEY]), work / "quota")
    before = sbs.backend_requests(backend)
    result = load(nodes, lua, opts.seconds, opts, tools, work / "wrk.log")
    served = sbs.backend_requests_since(backend, before)
    refused = result["statuses"].get("429", 0)
    leases = [lease_metrics(n) for n in nodes]
    out = dict(result, phase="quota", nodes=len(nodes), quota=quota, served=served,
               overshoot=max(0, served - quota), stranded=max(0, quota - served),
               stranded_percent=round(100 * max(0, quota - served) / quota, 3), refused=refused, leases=leases)
    log(f"quota {quota:,}: {served:,} served, {out['overshoot']} over, {out['stranded']} stranded "
        f"({out['stranded_percent']}%), {refused:,} refused; lease grants by node "
        f"{[int(m.get('tollgate_quota_lease_grants_total', 0)) for m in leases]}")
    return out


def throttle_phase(nodes, backend, opts, tools, work):
    (work / "throttle").mkdir()
    lua = overload.write_lua(types.SimpleNamespace(sample=[THROTTLE_KEY]), work / "throttle")
    before = sbs.backend_requests(backend)
    result = load(nodes, lua, opts.seconds, opts, tools, work / "wrk.log")
    admitted = sbs.backend_requests_since(backend, before)
    seconds_run = max(r["duration_us"] for r in result["by_node"]) / 1e6
    allowed = THROTTLE_RATE * seconds_run + THROTTLE_BURST
    out = dict(result, phase="throttle", nodes=len(nodes), rate=THROTTLE_RATE, burst=THROTTLE_BURST,
               admitted=admitted, allowed=round(allowed), error_percent=round(100 * (admitted - allowed) / allowed, 2))
    log(f"throttle {THROTTLE_RATE}/s, burst {THROTTLE_BURST}: {admitted:,} admitted in {seconds_run:.2f} s "
        f"against {allowed:,.0f} allowed ({out['error_percent']:+}%)")
    return out


def problems_of(phases):
    problems = []
    for p in phases:
        allowed = {"200", "429"} if p["phase"] in ("quota", "throttle") else {"200"}
        odd = {s: n for s, n in p["statuses"].items() if s not in allowed}
        if odd or p["socket_errors"]:
            problems.append(f"{p['phase']}: answers {odd}, {p['socket_errors']} socket errors")
    throttle = next(p for p in phases if p["phase"] == "throttle")
    if abs(throttle["error_percent"]) > 5:
        problems.append(f"the throttle admitted {throttle['error_percent']:+}% of what it allows")
    quota = next(p for p in phases if p["phase"] == "quota")
    if quota["overshoot"] > 0:
        problems.append(f"the quota of {quota['quota']} was overshot by {quota['overshoot']}")
    if quota["stranded_percent"] > 1:
        problems.append(f"{quota['stranded_percent']}% of the quota was stranded")
    if quota["refused"] == 0:
        problems.append("the quota was never spent: raise --seconds or lower --quota")
    return problems


def run(opts, tools, procs, work):
    report = sbs.report_header(opts, tools, ("nodes", "workers", "keys", "seconds", "quota", "connections"))
    backend = sbs.start_backend(procs, tools, work)
    store = start_redis(procs, tools, work)
    keyset = sbs.prepare_keyset(opts.keys, work, [], tools["tollgate"], backend.port, log_prefix=NAME)
    # The quota is set once the N nodes' throughput is known.
    apply(tools, store, work, declaration(keyset, backend.port, 1), "tollgate apply into Redis")
    nodes = [start_node(procs, tools, work, store, 0, opts.workers)]
    sbs.probe_proxy(nodes[0], keyset)
    (work / "throughput").mkdir()
    lua = overload.write_lua(keyset, work / "throughput")
    phases = [throughput_phase("1 node", nodes, lua, opts, tools, work)]
    nodes += [start_node(procs, tools, work, store, i, opts.workers) for i in range(1, opts.nodes)]
    for node in nodes:
        sbs.probe_proxy(node, keyset)
    phases.append(throughput_phase(f"{opts.nodes} nodes", nodes, lua, opts, tools, work))
    quota = opts.quota or max(100, int(phases[-1]["requests_per_sec"] * opts.seconds / 3))
    apply(tools, store, work, declaration(keyset, backend.port, quota), "tollgate apply of the quota")
    time.sleep(1)  # every node reloads within a second
    phases.append(throttle_phase(nodes, backend, opts, tools, work))
    phases.append(quota_phase(nodes, backend, opts, tools, work, quota))
    report.update(phases=phases, ratio=round(phases[1]["requests_per_sec"] / phases[0]["requests_per_sec"], 3))
    report["problems"] = problems_of(phases)
    print(f"\n{'phase':<10} {'requests/s':>12}  answers")
    for p in phases:
        print(f"{p['phase']:<10} {p['requests_per_sec']:>12,.0f}  {p['statuses']}")
    q = phases[-1]
    print(f"\n{opts.nodes} nodes / 1 node: {report['ratio']:.2f}x; quota {q['quota']:,}: {q['served']:,} served, "
          f"overshoot {q['overshoot']}, stranded {q['stranded']} ({q['stranded_percent']}%)")
    return report


def main(argv):
    return sbs.main_with(NAME, parse_args(argv), ("nginx", "wrk", "redis-server"), run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
