#!/usr/bin/env python3
"""Overload: tollgate at twice what its throttle admits, and at 10,000
connections.

Starts the nginx backend and tollgate (W workers, K keys in one usage plan,
its access log on) as bench/side_by_side.py does, samples tollgate's
resident memory throughout, and runs four phases:

  capacity  wrk -c C for S seconds, every limit far above the load: what
            tollgate serves here is its capacity on this machine.
  2x        the account throttle set to half that capacity (burst a tenth
            of the rate), by `tollgate apply` while serving; the same load,
            so twice what the throttle admits: about half is refused (429).
  flood     wrk -c N (default 10,000), limits far above the load again:
            connections past the workers' --max-connections get 503, those
            past twice it are closed.
  recovery  load gone: open client connections back to 0, then one
            connection's requests all answered 200.

For each phase it prints requests/s, the answers by status, wrk's p50/p99
over all answers (which includes the time connections wait for the
gateway), the p50/p99 of the admitted (200) requests as tollgate timed them
(its access log's latencyMs), socket errors, and the peak RSS. Writes
everything as JSON to bench/results/overload-<UTC stamp>.json.

Exit status: 0 when tollgate stayed up, answered only 200, 429 and 503 (and
closed connections) in every phase, recovered, and its peak RSS stayed under
--rss-limit-mib; 1 otherwise; 130 when interrupted.
"""

import argparse
import functools
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import memory_soak  # noqa: E402
import side_by_side as sbs  # noqa: E402

NAME = "overload"
log = functools.partial(sbs.log, prefix=NAME)
ALLOWED_STATUSES = {"200", "429", "503"}
LINE_RE = re.compile(rb'"status":(\d+),.*"latencyMs":([0-9.]+)')


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, metavar="W", help="tollgate workers (default 2)")
    parser.add_argument("--keys", type=int, default=10, metavar="K", help="valid API keys (default 10)")
    parser.add_argument("--seconds", type=int, default=15, metavar="S", help="length of each phase (default 15)")
    parser.add_argument("--flood-connections", type=int, default=10000, metavar="N",
                        help="wrk connections in the flood phase (default 10000)")
    parser.add_argument("--rss-limit-mib", type=float, default=512,
                        help="peak resident memory allowed over the whole run (default 512)")
    sbs.add_wrk_arguments(parser)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--smoke", action="store_true",
                        help="2 s phases and a flood of 300 connections: proves the script works")
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.seconds, opts.flood_connections = 2, 300
    if opts.workers < 1 or opts.keys < 1 or opts.seconds < 1 or opts.flood_connections < opts.threads:
        parser.error("--workers, --keys and --seconds must be at least 1, --flood-connections at least --threads")
    sbs.check_wrk_arguments(parser, opts)
    return opts


def write_lua(keyset, work):
    """side_by_side's requests, plus answers counted by status."""
    path = work / "overload.lua"
    path.write_text(sbs.lua_requests(keyset) + """
local threads = {}
statuses = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local by_status = {}
  for status, n in pairs(totals) do
    by_status[#by_status + 1] = string.format("s%d=%d", status, n)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d socket_errors=%d p50_us=%d p99_us=%d %s\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(by_status, " ")))
end
""")
    return path


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_wrk(tools, url, lua, connections, seconds, opts, wrk_log):
    argv = [tools["wrk"], "-t", str(opts.threads), "-c", str(connections), "-d", f"{seconds}s",
            "--latency", "-s", str(lua), url]
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=seconds + 120, preexec_fn=raise_open_file_limit)
    with open(wrk_log, "a") as out:
        out.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
    match = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not match:
        raise sbs.BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    fields = dict(pair.split("=") for pair in match.group(1).split())
    statuses = {name[1:]: int(n) for name, n in fields.items() if name.startswith("s")
                and name[1:].isdigit()}
    return {"requests": int(fields["requests"]), "duration_us": int(fields["duration_us"]),
            "socket_errors": int(fields["socket_errors"]), "wrk_p50_ms": int(fields["p50_us"]) / 1000,
            "wrk_p99_ms": int(fields["p99_us"]) / 1000, "statuses": statuses}


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def admitted_latency(access_log, offset):
    """p50/p99 (ms) of the 200 answers logged since `offset`, and the new offset."""
    latencies = []
    with open(access_log, "rb") as f:
        f.seek(offset)
        for line in f:
            m = LINE_RE.search(line)
            if m and m.group(1) == b"200":
                latencies.append(float(m.group(2)))
        end = f.tell()
    latencies.sort()
    return percentile(latencies, 50), percentile(latencies, 99), len(latencies), end


def admin_port(argv):
    return int(argv[argv.index("--admin-listen") + 1].rsplit(":", 1)[1])


def client_connections(port):
    status, body = sbs.fetch(port, "/metrics", {}, "tollgate /metrics")
    if status != 200:
        raise sbs.BenchError(f"/metrics answered {status}")
    m = re.search(r"^tollgate_client_connections (\S+)$", body.decode(), re.MULTILINE)
    return int(float(m.group(1))) if m else None


def set_account_throttle(tools, keyset, backend_port, rate, burst):
    """Applies the bench declaration with another account throttle, while tollgate serves."""
    text = sbs.tollgate_yaml(keyset, backend_port).replace(
        f"account:\n  throttle: {{rateLimit: {sbs.HUGE_RATE}, burstLimit: {sbs.HUGE_RATE}}}",
        f"account:\n  throttle: {{rateLimit: {rate}, burstLimit: {burst}}}", 1)
    path = keyset.base / "overload.yaml"
    path.write_text(text)
    sbs.run_checked([tools["tollgate"], "apply", "-f", str(path), "--data-dir", str(keyset.tollgate_data)],
                    "tollgate apply of the account throttle", keyset.base / "overload-apply.log")
    time.sleep(1.0)  # tollgate checks the store every 250 ms


def phase(name, connections, ctx):
    """One wrk run, with the admitted latencies from the access log and the RSS peak."""
    opts, sampler = ctx["opts"], ctx["sampler"]
    first_sample = len(sampler.samples)
    raw = run_wrk(ctx["tools"], ctx["url"], ctx["lua"], connections, opts.seconds, opts, ctx["wrk_log"])
    p50, p99, admitted, ctx["log_offset"] = admitted_latency(ctx["access_log"], ctx["log_offset"])
    samples = sampler.samples[first_sample:] or sampler.samples[-1:]
    row = dict(raw, phase=name, connections=connections,
               requests_per_sec=round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
               admitted_logged=admitted, admitted_p50_ms=p50, admitted_p99_ms=p99,
               peak_rss_mib=round(max(s["VmRSS"] for s in samples) / 1024, 1))
    log(f"{name}: {row['requests_per_sec']:.0f} requests/s, statuses {raw['statuses']}, "
        f"socket errors {raw['socket_errors']}, admitted p99 {p99} ms, peak RSS {row['peak_rss_mib']} MiB")
    return row


def recovery(ctx, target, port):
    started = time.monotonic()
    open_now = None
    while time.monotonic() - started < 30:
        open_now = client_connections(port)
        if open_now == 0:
            break
        time.sleep(0.1)
    statuses = []
    for _ in range(50):
        status, _ = sbs.fetch(target.port, target.path, {"x-api-key": ctx["keyset"].sample[0]}, "recovery")
        statuses.append(status)
    rss = sbs.proc_status(target.proc.pid)["VmRSS"] / 1024
    row = {"phase": "recovery", "client_connections": open_now,
           "seconds_to_no_connections": round(time.monotonic() - started, 2),
           "probe_statuses": sorted(set(statuses)), "rss_mib": round(rss, 1)}
    log(f"recovery: {open_now} client connections after {row['seconds_to_no_connections']} s; "
        f"probes {row['probe_statuses']}; RSS {rss:.1f} MiB")
    return row


def problems_of(report, opts, target):
    problems = []
    for row in report["phases"]:
        if row["phase"] == "recovery":
            if row["client_connections"] != 0:
                problems.append(f"recovery: {row['client_connections']} client connections still open")
            if row["probe_statuses"] != [200]:
                problems.append(f"recovery: probes answered {row['probe_statuses']}")
            continue
        others = set(row["statuses"]) - ALLOWED_STATUSES
        if others:
            problems.append(f"{row['phase']}: answers other than 200/429/503: "
                            f"{ {s: row['statuses'][s] for s in others} }")
        if not row["statuses"].get("200"):
            problems.append(f"{row['phase']}: nothing admitted")
    if report["phases"][1]["statuses"].get("429", 0) == 0:
        problems.append("2x: the throttle refused nothing")
    peak = max(s["VmRSS"] for s in report["samples"]) / 1024
    if peak > opts.rss_limit_mib:
        problems.append(f"peak RSS {peak:.1f} MiB over the {opts.rss_limit_mib:g} MiB limit")
    if target.proc.poll() is not None:
        problems.append(f"tollgate exited with status {target.proc.returncode}")
    return problems


def print_report(report):
    p = report["parameters"]
    print(f"\noverload: tollgate W={p['workers']} K={p['keys']}, wrk -t{p['threads']}, {p['seconds']} s phases")
    print(f"{'phase':<9} {'conns':>6} {'req/s':>9} {'200':>9} {'429':>9} {'503':>7} {'errors':>7} "
          f"{'wrk p99':>8} {'adm p50':>8} {'adm p99':>8} {'peak RSS':>9}")
    for row in report["phases"]:
        if row["phase"] == "recovery":
            print(f"recovery: client connections {row['client_connections']} after "
                  f"{row['seconds_to_no_connections']} s, probes {row['probe_statuses']}, RSS {row['rss_mib']} MiB")
            continue
        s = row["statuses"]
        print(f"{row['phase']:<9} {row['connections']:>6} {row['requests_per_sec']:>9.0f} {s.get('200', 0):>9} "
              f"{s.get('429', 0):>9} {s.get('503', 0):>7} {row['socket_errors']:>7} {row['wrk_p99_ms']:>8.2f} "
              f"{row['admitted_p50_ms'] or 0:>8.3f} {row['admitted_p99_ms'] or 0:>8.3f} {row['peak_rss_mib']:>9.1f}")
    print("latencies in ms: wrk's over every answer, and the admitted (200) ones as tollgate timed them")
    for problem in report["problems"]:
        print(f"PROBLEM: {problem}")
    sys.stdout.flush()


def run(opts, tools, procs, work):
    report = sbs.report_header(opts, tools, ("workers", "keys", "seconds", "flood_connections", "connections",
                                             "threads", "rss_limit_mib"))
    backend = sbs.start_backend(procs, tools, work)
    keyset = sbs.prepare_keyset(opts.keys, work, ["tollgate"], tools["tollgate"], backend.port, log_prefix=NAME)
    base = work / "tollgate"
    base.mkdir()
    access_log = work / "access.log"
    argv, port = sbs.tollgate_serve_argv(tools, keyset.tollgate_data, opts.workers, str(access_log))
    target = sbs.start_target("tollgate", port, sbs.TOLLGATE_PATH,
                              lambda: procs.start(argv, base / "tollgate.log"))
    sbs.probe_proxy(target, keyset)
    sampler = memory_soak.Sampler(target.proc.pid, time.monotonic(), 0.5)
    sampler.start()
    ctx = {"opts": opts, "tools": tools, "url": target.url, "lua": write_lua(keyset, work), "keyset": keyset,
           "wrk_log": work / "wrk.log", "access_log": access_log, "log_offset": access_log.stat().st_size,
           "sampler": sampler}
    phases = []
    try:
        phases.append(phase("capacity", opts.connections, ctx))
        rate = max(1, int(phases[0]["requests_per_sec"] / 2))
        set_account_throttle(tools, keyset, backend.port, rate, max(1, rate // 10))
        phases.append(phase("2x", opts.connections, ctx))
        set_account_throttle(tools, keyset, backend.port, sbs.HUGE_RATE, sbs.HUGE_RATE)
        phases.append(phase("flood", opts.flood_connections, ctx))
        phases.append(recovery(ctx, target, admin_port(argv)))
    finally:
        sampler.finish()
    report.update(phases=phases, account_throttle_in_2x=rate, samples=sampler.samples)
    report["problems"] = problems_of(report, opts, target)
    print_report(report)
    return report


def main(argv):
    return sbs.main_with(NAME, parse_args(argv), ("nginx", "wrk"), run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
