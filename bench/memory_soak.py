#!/usr/bin/env python3
"""Memory soak: tollgate's resident memory stays flat over a long run.

Starts the nginx backend and tollgate (W workers, K keys in one usage plan
whose throttle and quota are far above the load, as bench/side_by_side.py
does), then keeps wrk on tollgate for M minutes as consecutive runs of
--run-seconds each, with the Lua script of side_by_side.py spreading the
requests over the keys. Every --sample-seconds the script reads VmRSS and
VmHWM from /proc/<tollgate pid>/status.

The first --warmup-minutes are warm-up. The verdict is "flat" when both hold:
  - growth: the largest RSS after warm-up exceeds the RSS at the end of
    warm-up (the last sample taken within it) by at most max(2 %, 4 MiB);
  - slope: the least-squares slope of RSS over the samples after warm-up is
    below 1 MiB per 10 minutes.

Prints a table (minute, RSS MiB, requests/s; one row per minute, or per wrk
run when the soak is shorter than 3 minutes) and the verdict, and writes
everything as JSON to bench/results/memory_soak-<UTC stamp>.json.

Exit status (with --smoke the verdict is printed but not enforced, as 20 s
cannot judge a slope per 10 minutes): 0 when flat and every wrk run was clean; 1 when RSS is not flat,
a wrk run had non-2xx responses or socket errors, a request did not reach the
backend, or the soak could not run; 130 when interrupted.
"""

import argparse
import functools
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import side_by_side as sbs  # noqa: E402

NAME = "memory_soak"
MIB = 1024 * 1024
GROWTH_FRACTION = 0.02
GROWTH_FLOOR_MIB = 4.0
SLOPE_LIMIT_MIB_PER_10MIN = 1.0
# About 330 bytes a line at 65,000 requests/s, measured with --smoke.
ACCESS_LOG_BYTES_PER_MINUTE_ESTIMATE = 330 * 65000 * 60

log = functools.partial(sbs.log, prefix=NAME)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, metavar="W",
                        help="tollgate workers (default 2)")
    parser.add_argument("--keys", type=int, default=100000, metavar="K",
                        help="valid API keys, all in one usage plan (default 100000)")
    parser.add_argument("--minutes", type=float, default=10, metavar="M",
                        help="length of the load, warm-up included (default 10)")
    parser.add_argument("--warmup-minutes", type=float, default=1, metavar="MINUTES",
                        help="first part of the load not judged (default 1)")
    parser.add_argument("--sample-seconds", type=float, default=5, metavar="SECONDS",
                        help="interval between RSS samples (default 5)")
    parser.add_argument("--run-seconds", type=int, default=30, metavar="SECONDS",
                        help="length of each consecutive wrk run (default 30)")
    parser.add_argument("--access-log", choices=("off", "on"), default="off",
                        help="on: tollgate writes its access log to a file in the temporary "
                             "directory, deleted at the end; it grows by about 330 bytes per "
                             "request, over 1 GiB per minute at 65,000 requests/s; default off")
    sbs.add_wrk_arguments(parser)
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (configs, logs, data) even on success")
    parser.add_argument("--smoke", action="store_true",
                        help="0.5 minute in 10 s wrk runs, 10 s warm-up, 2 s samples, K=10: "
                             "proves the script works; the verdict is printed but does not "
                             "set the exit status")
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.minutes, opts.warmup_minutes, opts.sample_seconds, opts.keys = 0.5, 10 / 60, 2, 10
        opts.run_seconds = 10
    if opts.workers < 1 or opts.keys < 1:
        parser.error("--workers and --keys must be at least 1")
    if opts.sample_seconds <= 0 or opts.run_seconds < 1:
        parser.error("--sample-seconds must be positive and --run-seconds at least 1")
    if not 0 < opts.warmup_minutes < opts.minutes:
        parser.error("--warmup-minutes must be positive and shorter than --minutes")
    if (opts.minutes - opts.warmup_minutes) * 60 < 2 * opts.sample_seconds:
        parser.error("the soak after warm-up must span at least two samples")
    sbs.check_wrk_arguments(parser, opts)
    return opts


# --- sampling -------------------------------------------------------------------


class Sampler(threading.Thread):
    """Reads tollgate's /proc status every `interval` seconds from t0 on."""

    def __init__(self, pid, t0, interval):
        super().__init__(daemon=True)
        self.pid, self.t0, self.interval = pid, t0, interval
        self.samples = []
        self.error = None
        self._stop_event = threading.Event()

    def sample(self):
        values = sbs.proc_status(self.pid)
        self.samples.append(dict(t_s=round(time.monotonic() - self.t0, 3), **values))

    def run(self):
        n = 0
        try:
            while True:
                delay = self.t0 + n * self.interval - time.monotonic()
                if delay > 0 and self._stop_event.wait(delay):
                    return
                self.sample()
                n += 1
        except OSError as e:  # tollgate exited: the main thread reports it
            self.error = e

    def finish(self):
        self._stop_event.set()
        self.join()
        if self.error is None:
            try:
                self.sample()  # one at the very end of the load
            except OSError as e:
                self.error = e


def soak(target, backend, keyset, tools, opts, work):
    """Consecutive wrk runs for opts.minutes while a thread samples RSS."""
    total_s = opts.minutes * 60
    wrk_log = work / "wrk.log"
    runs, problems = [], []
    t0 = time.monotonic()
    sampler = Sampler(target.proc.pid, t0, opts.sample_seconds)
    sampler.start()
    try:
        while True:
            remaining = total_s - (time.monotonic() - t0)
            seconds = min(opts.run_seconds, int(remaining + 0.5))
            if seconds < 1:
                break
            before = sbs.backend_requests(backend)
            start_s = time.monotonic() - t0
            raw = sbs.run_wrk(tools, target, keyset, seconds, opts, wrk_log)
            end_s = time.monotonic() - t0
            raw["backend_requests"] = sbs.backend_requests_since(backend, before)
            run = dict(raw, index=len(runs) + 1, start_s=round(start_s, 3), end_s=round(end_s, 3),
                       requests_per_sec=sbs.requests_per_sec(raw))
            runs.append(run)
            problems += sbs.run_problems(target, run, f"wrk run {run['index']}")
            log(f"wrk run {run['index']} ({start_s:.0f}-{end_s:.0f} s): "
                f"{run['requests_per_sec']:.0f} requests/s, p99 {raw['p99_us'] / 1000:.3f} ms; "
                f"RSS {sampler.samples[-1]['VmRSS'] / 1024:.1f} MiB")
            if target.proc.poll() is not None:
                raise sbs.BenchError(f"tollgate exited during the soak with status "
                                     f"{target.proc.returncode}")
    finally:
        sampler.finish()
    if sampler.error is not None:
        raise sbs.BenchError(f"reading tollgate's /proc status failed: {sampler.error}")
    return sampler.samples, runs, problems


# --- verdict and report ---------------------------------------------------------


def slope_per_10min(points):
    """Least-squares slope of (seconds, MiB) points, in MiB per 10 minutes."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    sxy = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return sxy / sxx * 600 if sxx else 0.0


def verdict(samples, warmup_s):
    in_warmup = [s for s in samples if s["t_s"] <= warmup_s]
    after = [s for s in samples if s["t_s"] > warmup_s]
    if not in_warmup or len(after) < 2:
        raise sbs.BenchError(f"too few samples: {len(in_warmup)} in warm-up, {len(after)} after it")
    baseline = in_warmup[-1]["VmRSS"] / 1024
    peak = max(s["VmRSS"] for s in after) / 1024
    allowed = max(GROWTH_FRACTION * baseline, GROWTH_FLOOR_MIB)
    slope = slope_per_10min([(s["t_s"], s["VmRSS"] / 1024) for s in after])
    growth_ok = peak - baseline <= allowed
    slope_ok = slope < SLOPE_LIMIT_MIB_PER_10MIN
    return {
        "warmup_end_rss_mib": round(baseline, 2),
        "warmup_end_sample_t_s": in_warmup[-1]["t_s"],
        "max_rss_after_warmup_mib": round(peak, 2),
        "growth_mib": round(peak - baseline, 2),
        "growth_allowed_mib": round(allowed, 2),
        "growth_ok": growth_ok,
        "slope_mib_per_10min": round(slope, 3),
        "slope_limit_mib_per_10min": SLOPE_LIMIT_MIB_PER_10MIN,
        "slope_ok": slope_ok,
        "samples_after_warmup": len(after),
        "flat": growth_ok and slope_ok,
    }


def table_rows(samples, runs, total_s, row_s):
    """One row per window of row_s seconds: the last RSS sample in it and the
    requests/s of the wrk runs whose midpoint falls in it."""
    rows = []
    end = row_s
    while end - row_s < total_s - 1e-6:
        start = end - row_s
        last = [s for s in samples if s["t_s"] <= end + 0.5]
        in_window = [r for r in runs if start < (r["start_s"] + r["end_s"]) / 2 <= end]
        duration = sum(r["duration_us"] for r in in_window) / 1e6
        rows.append({
            "minute": round(min(end, total_s) / 60, 2),
            "rss_mib": round(last[-1]["VmRSS"] / 1024, 1) if last else None,
            "requests_per_sec": round(sum(r["requests"] for r in in_window) / duration, 0)
            if duration else None,
        })
        end += row_s
    return rows


def print_report(report, opts):
    p = report["parameters"]
    print(f"\nmemory soak: tollgate W={p['workers']} K={p['keys']}, access log {p['access_log']}, "
          f"{p['minutes']:g} min of wrk -t{p['threads']} -c{p['connections']} in {p['run_seconds']} s "
          f"runs, warm-up {p['warmup_minutes'] * 60:g} s, RSS every {p['sample_seconds']:g} s")
    print(f"{'minute':>7} {'RSS MiB':>9} {'requests/s':>11}")
    for row in report["table"]:
        rss = f"{row['rss_mib']:.1f}" if row["rss_mib"] is not None else "-"
        rps = f"{row['requests_per_sec']:.0f}" if row["requests_per_sec"] is not None else "-"
        print(f"{row['minute']:>7.2f} {rss:>9} {rps:>11}")
    v = report["verdict"]
    last = report["samples"][-1]
    print(f"VmHWM at the end {last['VmHWM'] / 1024:.1f} MiB; final VmRSS {last['VmRSS'] / 1024:.1f} MiB "
          f"(anon {last.get('RssAnon', 0) / 1024:.1f}, file {last.get('RssFile', 0) / 1024:.1f}); "
          f"{len(report['samples'])} samples, {len(report['wrk_runs'])} wrk runs, "
          f"{sum(r['requests'] for r in report['wrk_runs'])} requests")
    if report.get("access_log_bytes") is not None:
        print(f"access log: {report['access_log_bytes'] / MIB:.1f} MiB written")
    print(f"growth: max RSS after warm-up {v['max_rss_after_warmup_mib']:.2f} MiB - RSS at end of "
          f"warm-up {v['warmup_end_rss_mib']:.2f} MiB = {v['growth_mib']:+.2f} MiB "
          f"(allowed {v['growth_allowed_mib']:.2f}): {'ok' if v['growth_ok'] else 'TOO MUCH'}")
    print(f"slope: {v['slope_mib_per_10min']:+.3f} MiB per 10 min over {v['samples_after_warmup']} "
          f"samples (limit < {SLOPE_LIMIT_MIB_PER_10MIN:g}): {'ok' if v['slope_ok'] else 'TOO STEEP'}")
    note = ""
    if opts.smoke:
        note = (" (smoke: 20 s after warm-up cannot judge a slope per 10 minutes; "
                "reported, not enforced)")
    print(f"verdict: {'FLAT' if v['flat'] else 'NOT FLAT'}{note}")
    for problem in report["problems"]:
        print(f"PROBLEM: {problem}")
    sys.stdout.flush()


def run(opts, tools, procs, work):
    """The soak, its report printed and returned."""
    report = sbs.report_header(opts, tools, ("workers", "keys", "minutes", "warmup_minutes",
                                             "sample_seconds", "run_seconds", "access_log",
                                             "connections", "threads"))
    log(f"{report['machine']['nproc']} cores; working in {work}")
    backend = sbs.start_backend(procs, tools, work)
    keyset = sbs.prepare_keyset(opts.keys, work, ["tollgate"], tools["tollgate"], backend.port,
                                log_prefix=NAME)
    base = work / "tollgate"
    base.mkdir()
    access_log = work / "access.log" if opts.access_log == "on" else None
    if access_log:
        need = opts.minutes * 60 * ACCESS_LOG_BYTES_PER_MINUTE_ESTIMATE / 60
        free = shutil.disk_usage(work).free
        if free < need:
            log(f"warning: the access log may reach {need / 2**30:.0f} GiB; "
                f"{work} has {free / 2**30:.0f} GiB free")
    target = sbs.start_tollgate(procs, tools, base, opts.workers, keyset, backend.port,
                                access_log=str(access_log) if access_log else "off")
    sbs.probe_proxy(target, keyset)
    log(f"tollgate up in {target.startup_s:.2f} s, RSS {sbs.proc_status(target.proc.pid)['VmRSS'] / 1024:.1f} MiB; "
        f"soaking for {opts.minutes:g} min")
    samples, runs, problems = soak(target, backend, keyset, tools, opts, work)
    total_s = opts.minutes * 60
    row_s = 60 if total_s >= 180 else opts.run_seconds
    report.update(
        tollgate_apply_s=keyset.tollgate_apply_s,
        tollgate_startup_s=target.startup_s,
        samples=samples,
        wrk_runs=runs,
        table=table_rows(samples, runs, total_s, row_s),
        verdict=verdict(samples, opts.warmup_minutes * 60),
        access_log_bytes=access_log.stat().st_size if access_log and access_log.exists() else None,
        problems=problems,
    )
    print_report(report, opts)
    return report


def main(argv):
    opts = parse_args(argv)
    return sbs.main_with(NAME, opts, ("nginx", "wrk"), run,
                         # A smoke run proves the script works; its verdict is reported only.
                         passed=lambda report: report["verdict"]["flat"] or opts.smoke)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
