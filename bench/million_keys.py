#!/usr/bin/env python3
"""A million keys: tollgate loaded and serving within 2 s of start, RSS <= 300 MB.

Prepares a tollgate data directory holding K keys in one usage plan (throttle
and quota far above any load; the YAML of bench/side_by_side.py, loaded with
`tollgate apply -f`), then starts `tollgate serve --workers 1 --access-log off`
on a fresh copy of it --runs times and measures for each start:
  - ready s: from the moment the process is started until a request with the
    LAST key, and after it one with the key in the middle, came back 200 with
    the nginx backend's body through the data plane (polled every 20 ms);
  - listen s: until the data plane first answered anything;
  - VmRSS right when ready and again 5 s later, and VmHWM then
    (from /proc/<pid>/status; MB here means 1,000,000 bytes).
The median of the runs is compared with the targets (ready <= 2 s; the larger
of the two VmRSS readings <= 300 MB). The targets are reported, not enforced.

Preparing 1,000,000 keys takes apply about a minute and several GB, so the
prepared directory is cached in
bench/results/cache/keys-<K>-<hash>, where <hash> covers the SQLite schema
the current binary creates (probed with a 2-key apply) and the generated YAML's
shape; a rebuilt binary with the same schema reuses it, --fresh rebuilds it.
The first start after apply is made once, on the cached directory right after
apply, measured, and reported separately as "first start" (from the cache's
record when the cache already existed): it is the first to open the counter
file, and before apply gave each key its usage slot it also assigned them all.
Every run then starts from a copy (cp -a) of that post-first-start state.

The generated declaration routes to the backend at 127.0.0.1:<port>, so the
cache records that port (chosen below the ephemeral range) and every run starts
the nginx backend on it; if the port is taken, use --fresh.

Results: bench/results/million_keys-<UTC stamp>.json.

Exit status: 0 when every start served correctly (whether or not the targets
were met); 1 when something broke (apply failed, tollgate exited, did not
serve within --timeout, answered wrongly, or did not stop on SIGTERM within
--stop-timeout); 130 when interrupted.
"""

import argparse
import datetime
import functools
import hashlib
import http.client
import json
import os
import random
import resource
import shutil
import socket
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import side_by_side as sbs  # noqa: E402

NAME = "million_keys"
MB = 1_000_000
READY_TARGET_S = 2.0
RSS_TARGET_MB = 300
POLL_S = 0.02
SETTLE_S = 5
CACHE_ROOT = sbs.RESULTS_DIR / "cache"
CACHE_FORMAT = 1  # bump when what this script stores in a cache directory changes
DATA = "tollgate-data"  # the data directory inside a cache directory
BACKEND_PORTS = range(20000, 30000)  # below Linux's default ephemeral range (32768-60999)

log = functools.partial(sbs.log, prefix=NAME)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000, metavar="K",
                        help="valid API keys, all in one usage plan (default 1000000)")
    parser.add_argument("--runs", type=int, default=3, metavar="N",
                        help="measured starts from copies of the cached directory; the median "
                             "is reported (default 3)")
    parser.add_argument("--fresh", action="store_true",
                        help="rebuild the cached data directory (apply and first start) even "
                             "when one exists")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                        help="a start not serving by then counts as broken (default 300)")
    parser.add_argument("--stop-timeout", type=float, default=60, metavar="SECONDS",
                        help="time tollgate gets to stop on SIGTERM before it is killed "
                             "(default 60)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (logs, copies) even on success")
    parser.add_argument("--smoke", action="store_true",
                        help="K=1000, 1 run: proves the script works")
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.keys, opts.runs = 1000, 1
    if opts.keys < 2 or opts.runs < 1:
        parser.error("--keys must be at least 2 and --runs at least 1")
    if opts.timeout <= 0 or opts.stop_timeout <= 0:
        parser.error("--timeout and --stop-timeout must be positive")
    return opts


def mb(kib):
    return kib * 1024 / MB


# --- one start ------------------------------------------------------------------


def measure_start(procs, tools, data_dir, base, keys, opts):
    """Starts tollgate on data_dir and times it until it serves the last and
    the middle key; its RSS then and SETTLE_S later; stops it."""
    base.mkdir(parents=True)
    log_path = base / "tollgate.log"
    argv, port = sbs.tollgate_serve_argv(tools, data_dir, 1)
    last_key, middle_key = keys[-1], keys[len(keys) // 2]
    started = time.monotonic()
    proc = procs.start(argv, log_path)
    result = {}
    try:
        listen_s = last_key_s = None
        early = {}  # statuses answered before the keys were served
        key = last_key
        while True:
            elapsed = time.monotonic() - started
            if elapsed > opts.timeout:
                raise sbs.BenchError(f"tollgate did not serve both keys within {opts.timeout:g} s "
                                     f"(answers so far: {early or 'none'}):\n{sbs.tail(log_path)}")
            if proc.poll() is not None:
                raise sbs.BenchError(f"tollgate exited during startup with status "
                                     f"{proc.returncode}:\n{sbs.tail(log_path)}")
            try:
                status, body = sbs.http_get(port, sbs.TOLLGATE_PATH, {"x-api-key": key}, timeout=10)
            except (OSError, http.client.HTTPException):
                time.sleep(POLL_S)
                continue
            now = time.monotonic() - started
            if listen_s is None:
                listen_s = now
            if status == 200 and body == sbs.OK_BODY:
                if key == last_key:
                    last_key_s, key = now, middle_key
                    continue
                ready_s = now
                break
            early[str(status)] = early.get(str(status), 0) + 1
            time.sleep(POLL_S)
        at_ready = sbs.proc_status(proc.pid)
        time.sleep(SETTLE_S)
        if proc.poll() is not None:
            raise sbs.BenchError(f"tollgate exited after serving, with status {proc.returncode}:\n"
                                 f"{sbs.tail(log_path)}")
        later = sbs.proc_status(proc.pid)
        status, body = sbs.fetch(port, sbs.TOLLGATE_PATH, {"x-api-key": sbs.UNKNOWN_KEY},
                                 "tollgate, an unknown key")
        if status != 403:
            raise sbs.BenchError(f"tollgate answered {status} {body[:200]!r} to an unknown key, "
                                 f"expected 403")
        result = {
            "ready_s": round(ready_s, 3),
            "listen_s": round(listen_s, 3),
            "last_key_s": round(last_key_s, 3),
            "answers_before_ready": early,
            "at_ready": at_ready,
            f"after_{SETTLE_S}s": later,
            "rss_ready_mb": round(mb(at_ready["VmRSS"]), 1),
            "rss_later_mb": round(mb(later["VmRSS"]), 1),
            "hwm_mb": round(mb(later["VmHWM"]), 1),
        }
    finally:
        # A million keys' state takes longer to write than Processes' default grace.
        stopping = time.monotonic()
        procs.stop(proc, grace=opts.stop_timeout)
        stop_s = round(time.monotonic() - stopping, 3)
        result.update(stop_s=stop_s, exit_status=proc.returncode)
    if proc.returncode != 0:
        raise sbs.BenchError(f"tollgate did not stop cleanly on SIGTERM (status {proc.returncode} "
                             f"after {stop_s:.1f} s):\n{sbs.tail(log_path)}")
    return result


def describe(r):
    return (f"ready {r['ready_s']:.3f} s (listening {r['listen_s']:.3f} s), RSS {r['rss_ready_mb']:.1f} MB, "
            f"{SETTLE_S} s later {r['rss_later_mb']:.1f} MB, VmHWM {r['hwm_mb']:.1f} MB, "
            f"stopped in {r['stop_s']:.2f} s")


# --- the cached data directory --------------------------------------------------


def layout_hash(tools, work):
    """What makes a cached directory usable: the schema the current binary
    creates (probed with a 2-key apply), the shape of the generated YAML, and
    this script's cache format."""
    probe = work / "schema-probe"
    probe.mkdir()
    keyset = sbs.KeySet(count=2, keys=[sbs.api_key(0), sbs.api_key(1)], sample=[], base=probe)
    yaml_text = sbs.tollgate_yaml(keyset, 1)
    (probe / "probe.yaml").write_text(yaml_text)
    sbs.run_checked([tools["tollgate"], "apply", "-f", str(probe / "probe.yaml"),
                     "--data-dir", str(probe / "data")],
                    "tollgate apply of the 2-key schema probe", probe / "apply.log")
    databases = sorted((probe / "data").glob("*.db"))
    if len(databases) != 1:
        raise sbs.BenchError(f"expected one *.db in {probe / 'data'}, found {databases}")
    con = sqlite3.connect(str(databases[0]))
    try:
        schema = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                             "ORDER BY type, name").fetchall()
        try:
            version = con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchall()
        except sqlite3.Error:
            version = None
    finally:
        con.close()
    text = json.dumps([CACHE_FORMAT, databases[0].name, schema, version, yaml_text])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_backend_port():
    for port in random.sample(BACKEND_PORTS, len(BACKEND_PORTS)):
        if port_is_free(port):
            return port
    raise sbs.BenchError(f"no free port in {BACKEND_PORTS.start}-{BACKEND_PORTS.stop - 1}")


def load_cache(path):
    try:
        meta = json.loads((path / "cache.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if (path / DATA).is_dir() and meta.get("format") == CACHE_FORMAT else None


def remove_abandoned_builds(name):
    """Half-built directories of runs that were killed without cleaning up."""
    for stale in CACHE_ROOT.glob(f".building-{name}-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            log(f"removing abandoned {stale}")
            shutil.rmtree(stale, ignore_errors=True)


def build_cache(path, keys, procs, tools, work, opts):
    """Apply, then the first start, in a scratch directory renamed to `path`
    once complete. Returns (metadata, backend)."""
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(path.name)
    building = CACHE_ROOT / f".building-{path.name}-{os.getpid()}"
    port = pick_backend_port()
    backend = sbs.start_backend(procs, tools, work, port)
    building.mkdir()
    try:
        keyset = sbs.KeySet(count=len(keys), keys=keys, sample=[], base=building)
        log(f"applying {len(keys)} keys into {building} (cached for later runs)")
        sbs.apply_tollgate(keyset, tools["tollgate"], port, log_prefix=NAME)
        # The largest child reaped so far: apply, unless nginx -t was larger.
        apply_peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        (building / "tollgate.yaml").unlink()  # 100 MB at 1M keys; regenerated when needed
        log("first start after apply")
        first = measure_start(procs, tools, building / DATA, work / "first-start", keys, opts)
        log(f"first start: {describe(first)}")
        meta = {
            "format": CACHE_FORMAT,
            "keys": len(keys),
            "backend_port": port,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git": sbs.git_info(),
            "tollgate_binary_mtime": sbs.binary_mtime(tools["tollgate"]),
            "apply_s": keyset.tollgate_apply_s,
            "apply_peak_rss_mb": round(mb(apply_peak_kib), 1),
            "first_start": first,
        }
        (building / "cache.json").write_text(json.dumps(meta, indent=2) + "\n")
        if path.exists():
            shutil.rmtree(path)
        building.rename(path)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return meta, backend


def prepare(opts, keys, procs, tools, work):
    """The cache directory, its metadata, whether it was built now, and the
    backend running on its port."""
    path = CACHE_ROOT / f"keys-{opts.keys}-{layout_hash(tools, work)}"
    meta = None if opts.fresh else load_cache(path)
    if meta is None:
        meta, backend = build_cache(path, keys, procs, tools, work, opts)
        return path, meta, True, backend
    log(f"using cached {path} (built {meta['created']}; --fresh rebuilds it)")
    port = meta["backend_port"]
    if not port_is_free(port):
        raise sbs.BenchError(f"port {port}, which the cached declaration routes to, is in use; "
                             f"free it or rerun with --fresh")
    return path, meta, False, sbs.start_backend(procs, tools, work, port)


# --- the run --------------------------------------------------------------------


def copy_tree(source, dest):
    """cp -a: keeps sparse files sparse, unlike shutil.copytree."""
    sbs.run_checked(["cp", "-a", str(source), str(dest)], f"cp -a {source}", dest.parent / "cp.log")


def target_check(median):
    rss = max(median["rss_ready_mb"], median["rss_later_mb"])
    return {
        "ready_s": {"value": median["ready_s"], "limit": READY_TARGET_S,
                    "pass": median["ready_s"] <= READY_TARGET_S},
        "rss_mb": {"value": rss, "limit": RSS_TARGET_MB, "pass": rss <= RSS_TARGET_MB,
                   "measure": f"max(VmRSS at ready, VmRSS {SETTLE_S} s later), median of runs"},
    }


def print_report(report):
    cache, first = report["cache"], report["cache"]["first_start"]
    print(f"\n{report['parameters']['keys']} keys, tollgate serve --workers 1 --access-log off; "
          f"MB = 1,000,000 bytes")
    when = "now" if cache["built_now"] else f"at {cache['created']}, reused"
    print(f"cache {cache['path']} built {when}: apply {cache['apply_s']:.1f} s "
          f"(peak RSS of apply {cache['apply_peak_rss_mb']:.0f} MB), "
          f"binary mtime then {cache['tollgate_binary_mtime']}")
    if not cache["built_now"] and cache["tollgate_binary_mtime"] != report["tollgate_binary_mtime"]:
        print(f"note: the binary is now {report['tollgate_binary_mtime']}; the first start below "
              f"was measured with the older one (same schema)")
    row = "{:<16} {:>8} {:>9} {:>13} {:>11} {:>9} {:>7}"
    print(row.format("start", "ready s", "listen s", "RSS@ready MB", f"RSS+{SETTLE_S}s MB",
                     "VmHWM MB", "stop s"))

    def line(label, r):
        print(row.format(label, f"{r['ready_s']:.3f}", f"{r['listen_s']:.3f}",
                         f"{r['rss_ready_mb']:.1f}", f"{r['rss_later_mb']:.1f}",
                         f"{r['hwm_mb']:.1f}", f"{r['stop_s']:.2f}" if "stop_s" in r else "-"))

    line("first start*", first)
    for i, r in enumerate(report["runs"], 1):
        line(f"run {i}", r)
    line(f"median of {len(report['runs'])}", report["median"])
    print(f"* the first start after apply, made once on the cached directory "
          f"when it was built ({'this run' if cache['built_now'] else cache['created']}); "
          f"runs start from copies of the state it left")
    t = report["targets"]
    print(f"target ready <= {READY_TARGET_S:g} s: median {t['ready_s']['value']:.3f} s "
          f"{'PASS' if t['ready_s']['pass'] else 'FAIL'}")
    print(f"target RSS <= {RSS_TARGET_MB} MB: median max(RSS@ready, RSS+{SETTLE_S}s) "
          f"{t['rss_mb']['value']:.1f} MB {'PASS' if t['rss_mb']['pass'] else 'FAIL'}")
    first_ok = (first["ready_s"] <= READY_TARGET_S,
                max(first["rss_ready_mb"], first["rss_later_mb"]) <= RSS_TARGET_MB)
    print(f"first start against the same targets: ready {'PASS' if first_ok[0] else 'FAIL'}, "
          f"RSS {'PASS' if first_ok[1] else 'FAIL'} (reported only)")
    sys.stdout.flush()


def run(opts, tools, procs, work):
    """The measured starts, their report printed and returned."""
    report = sbs.report_header(opts, tools, ("keys", "runs", "fresh", "timeout", "stop_timeout"),
                               memory=True)
    log(f"{report['machine']['nproc']} cores; working in {work}")
    keys = [sbs.api_key(i) for i in range(opts.keys)]
    path, meta, built_now, _backend = prepare(opts, keys, procs, tools, work)
    report["cache"] = dict(meta, path=str(path), built_now=built_now)
    runs = []
    for i in range(1, opts.runs + 1):
        base = work / f"run-{i}"
        base.mkdir()
        copied = time.monotonic()
        copy_tree(path / DATA, base / "data")
        copy_s = time.monotonic() - copied
        r = measure_start(procs, tools, base / "data", base / "tollgate", keys, opts)
        r["copy_s"] = round(copy_s, 3)
        runs.append(r)
        log(f"run {i}: {describe(r)}")
        shutil.rmtree(base / "data")
    median = {name: statistics.median(r[name] for r in runs)
              for name in ("ready_s", "listen_s", "last_key_s", "rss_ready_mb", "rss_later_mb",
                           "hwm_mb", "stop_s")}
    report.update(runs=runs, median=median, targets=target_check(median))
    print_report(report)
    return report


def main(argv):
    return sbs.main_with(NAME, parse_args(argv), ("nginx",), run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
