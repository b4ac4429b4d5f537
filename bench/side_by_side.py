#!/usr/bin/env python3
"""Side-by-side macro benchmark: nginx, HAProxy and tollgate doing the same job
in front of one nginx backend, plus wrk straight at that backend ("direct")
and through a proxy that does nothing but move bytes ("floor",
bench/floor_proxy.cc: what any proxy costs on this host at the least; on
request, "floor-plain" is the same with HAProxy's way of reading and sending
instead of tollgate's).

The job: check the x-api-key header against K valid keys (missing or unknown:
403), apply a per-key rate limit set far above the load, and proxy with
keep-alive to the backend, which answers GET /pets with {"ok":true}.

For each worker count W and key count K, every contender is started with W
workers (nginx worker processes, HAProxy threads, tollgate workers), probed,
then loaded with wrk in rounds whose order rotates. Each run records
requests/s, latency percentiles and CPU time per request of the contender's
processes; the median of the rounds is printed as a table with tollgate's
ratios to the others, and everything is written as JSON to
bench/results/side_by_side-<UTC stamp>.json.

wrk, the backend and the contender share this machine's cores, so the numbers
compare costs under CPU contention, not on dedicated hosts. With --pin each
contender runs on W cores of its own and wrk and the backend on the others,
as on a host where the gateway does not share its cores with its load.

Exit status: 0 when every run is clean, 1 when a check failed (non-2xx
responses, socket errors, a proxy answering without reaching the backend) or
the benchmark could not run.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NAME = "side_by_side"
ROOT = Path(__file__).resolve().parent.parent
# TOLLGATE_BIN picks another build (the sanitizer build in CI).
TOLLGATE = Path(os.environ.get("TOLLGATE_BIN", ROOT / "build" / "tollgate"))
FLOOR_PROXY = Path(os.environ.get("FLOOR_PROXY_BIN", ROOT / "build" / "bench" / "floor_proxy"))
RESULTS_DIR = ROOT / "bench" / "results"

CONTENDERS = ("direct", "nginx", "haproxy", "tollgate", "floor", "floor-plain")
DEFAULT_CONTENDERS = ("direct", "nginx", "haproxy", "tollgate", "floor")
# The do-nothing proxies, by their floor_proxy discipline.
FLOORS = {"floor": "batched", "floor-plain": "plain"}
# The proxies tollgate's targets are set against.
RIVALS = ("nginx", "haproxy")
OK_BODY = b'{"ok":true}'
# Not hex, so never one of the generated keys.
UNKNOWN_KEY = "bk" + "x" * 38
# Far above any rate this machine can drive, so no limiter ever refuses;
# nginx accepts 1e9 r/s (its rate is kept in milli-requests in 64 bits).
HUGE_RATE = 1_000_000_000
HUGE_QUOTA = 1_000_000_000_000
MAX_LUA_KEYS = 1000
STARTUP_TIMEOUT_S = 120
STOP_GRACE_S = 5
TOLLGATE_API_ID = "bench01"
TOLLGATE_PATH = f"/restapis/{TOLLGATE_API_ID}/prod/_user_request_/pets"
STATUS_PATH = "/__nginx_status"
METRICS = ("requests_per_sec", "p50_ms", "p99_ms", "p999_ms", "cpu_us_per_request", "user_us_per_request",
           "system_us_per_request", "backend_cpu_us_per_request", "wrk_cpu_us_per_request",
           "preemptions_per_1k_requests")
STATUS_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads")
VERSION_FLAGS = {"nginx": "-v", "haproxy": "-v", "wrk": "-v"}


class BenchError(Exception):
    """A condition that stops the benchmark, with a message for the user."""


def log(message, prefix=NAME):
    """One line on stderr; memory_soak.py and million_keys.py, and the helpers
    here that they call, pass their own script's name as the prefix."""
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)


# --- arguments ------------------------------------------------------------------


def positive_int_list(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' must list positive integers")
    return values


def contender_list(text):
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = names - set(CONTENDERS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"'{text}': choose a subset of {','.join(CONTENDERS)}")
    return [name for name in CONTENDERS if name in names]


def add_wrk_arguments(parser):
    """--connections and --threads, for every script that loads with wrk;
    check_wrk_arguments validates them."""
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")


def check_wrk_arguments(parser, opts):
    if opts.threads < 1 or opts.connections < opts.threads:
        parser.error("wrk needs --threads >= 1 and --connections >= --threads")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=positive_int_list, default=[1, 2], metavar="W,...",
                        help="worker counts to compare (default 1,2)")
    parser.add_argument("--keys", type=positive_int_list, default=[10, 100000], metavar="K,...",
                        help="numbers of valid API keys (default 10,100000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each contender per configuration; the median is reported (default 3)")
    parser.add_argument("--duration", type=int, default=10, metavar="SECONDS",
                        help="length of each measured wrk run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, metavar="SECONDS",
                        help="wrk warm-up before each measured run, 0 for none (default 2)")
    add_wrk_arguments(parser)
    parser.add_argument("--contenders", type=contender_list, default=list(DEFAULT_CONTENDERS),
                        metavar="NAME,...",
                        help=f"subset of {','.join(CONTENDERS)} (default {','.join(DEFAULT_CONTENDERS)})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (configs, logs, data) even on success")
    parser.add_argument("--smoke", action="store_true",
                        help="W=1, K=10, 1 round of 2 s with no warm-up: proves the script works")
    parser.add_argument("--pin", action="store_true",
                        help="run each contender on the last W cores and wrk and the backend on the "
                             "others (needs more cores than the largest W)")
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.workers, opts.keys, opts.rounds, opts.duration, opts.warmup = [1], [10], 1, 2, 0
    cores = len(os.sched_getaffinity(0))
    if opts.pin and max(opts.workers) >= cores:
        parser.error(f"--pin needs a core for wrk and the backend beside the contender's W: "
                     f"this machine gives {cores}, --workers asks for W={max(opts.workers)}")
    if opts.rounds < 1 or opts.duration < 1 or opts.warmup < 0:
        parser.error("--rounds and --duration must be at least 1, --warmup at least 0")
    check_wrk_arguments(parser, opts)
    return opts


# --- tools ------------------------------------------------------------------------


def find_binary(name):
    # Debian puts nginx and haproxy in /usr/sbin, which a non-root PATH may lack.
    found = shutil.which(name)
    if found:
        return found
    sbin = Path("/usr/sbin") / name
    return str(sbin) if os.access(sbin, os.X_OK) else None


def ensure_tools(names):
    """Paths of the tools named, installing the missing ones with apt."""
    missing = [name for name in names if not find_binary(name)]
    if missing:
        apt_install(missing)
    tools = {name: find_binary(name) for name in names}
    absent = [name for name, path in tools.items() if not path]
    if absent:
        raise BenchError(f"{' '.join(absent)} still missing after apt-get install")
    return tools


def apt_install(names):
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(names)}")
    try:
        subprocess.run(sudo + ["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(sudo + ["apt-get", "install", "-y", "-q"] + names, env=env, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise BenchError(f"could not install {' '.join(names)} with apt: {e}")
    for name in names:
        if name != "wrk":
            stop_packaged_daemon(name, sudo)


def stop_packaged_daemon(name, sudo):
    # Debian's postinst may start the package's daemon from its default
    # config (nginx on port 80); the benchmark runs private instances only.
    pidfile = Path(f"/run/{name}.pid")
    if not pidfile.exists():
        return
    service = find_binary("service")
    if service:
        subprocess.run(sudo + [service, name, "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = pidfile.read_text().strip() if pidfile.exists() else ""
    if pid:
        subprocess.run(sudo + ["kill", "-TERM", pid], check=False, stderr=subprocess.DEVNULL)


def ensure_built(path):
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} is missing: build it first with scripts/build.sh")
    return str(path)


def ensure_tollgate():
    return ensure_built(TOLLGATE)


# --- processes ------------------------------------------------------------------


def group_processes(pgid):
    """(state, user CPU clock ticks, system CPU clock ticks, pid) of each
    process in process group pgid."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # exited while /proc was read
            continue
        # The command name may hold spaces and parentheses: split after its last ')'.
        # fields[0] is stat field 3 (state), so field N is fields[N - 3].
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            members.append((fields[0], int(fields[11]), int(fields[12]), int(entry.name)))
    return members


def group_cpu_seconds(pgid):
    """(user, system) CPU seconds of a process group: nginx's master and all its workers."""
    members = group_processes(pgid)
    tick = os.sysconf("SC_CLK_TCK")
    return sum(m[1] for m in members) / tick, sum(m[2] for m in members) / tick


def group_preemptions(pgid):
    """Times the threads of a process group were taken off a core while they
    still had work (involuntary context switches). On cores shared with wrk
    and the backend, a proxy that is preempted often waits behind them: this
    is what separates a low p99 from a high one at one worker."""
    field = "nonvoluntary_ctxt_switches"
    total = 0
    for *_, pid in group_processes(pgid):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += proc_status(pid, (field,), task / "status")[field]
            except OSError:  # the thread ended while /proc was read
                continue
    return total


def children_cpu_seconds():
    """User + system CPU of the children this script has waited for: wrk's runs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Placement:
    """The cores a configuration runs on under --pin: the contender's W
    workers on cores of their own, wrk and the backend on the rest."""
    contender: set
    load: set

    @classmethod
    def for_workers(cls, workers):
        cores = sorted(os.sched_getaffinity(0))
        return cls(contender=set(cores[-workers:]), load=set(cores[:-workers]))

    def report(self):
        return {"contender": sorted(self.contender), "wrk_and_backend": sorted(self.load)}


def pin_group(pgid, cores):
    """Moves every thread of process group pgid to `cores`; threads they start
    later inherit it."""
    for *_, pid in group_processes(pgid):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                os.sched_setaffinity(int(task.name), cores)
            except ProcessLookupError:  # the thread ended meanwhile
                continue


class Processes:
    """Every long-running process this script starts. Each leads its own
    process group, so one signal reaches nginx's workers too, their CPU can be
    summed, and a Ctrl-C at the terminal leaves them for the cleanup here."""

    def __init__(self):
        self._running = []

    def start(self, argv, log_path):
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._running.append(proc)
        return proc

    def stop(self, proc, grace=STOP_GRACE_S):
        """TERM the group, then KILL whatever is left of it after `grace` seconds
        (million_keys.py gives a million keys' state longer to be written)."""
        self._signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self._group_alive(proc) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._group_alive(proc):
            self._signal_group(proc, signal.SIGKILL)
        proc.wait()
        self._running.remove(proc)

    def stop_all(self):
        for proc in reversed(list(self._running)):
            self.stop(proc)

    @staticmethod
    def _signal_group(proc, sig):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    @staticmethod
    def _group_alive(proc):
        # Workers orphaned by a killed master linger as zombies until init
        # reaps them; they are gone as far as the benchmark is concerned.
        return proc.poll() is None or any(m[0] != "Z" for m in group_processes(proc.pid))


def proc_status(pid, fields=STATUS_FIELDS, path=None):
    """Numeric fields of /proc/<pid>/status (or of the status file at path):
    by default the memory ones, in KiB (Threads as a count)."""
    values = {}
    for line in Path(path or f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in fields:
            values[name] = int(rest.split()[0])
    return values


def free_ports(count):
    """Ports free on 127.0.0.1, held open together so they all differ."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def http_get(port, path, headers=None, timeout=5):
    """(status, body) of GET http://127.0.0.1:port/path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def fetch(port, path, headers, what):
    """http_get for a server that is up: any failure stops the benchmark."""
    try:
        return http_get(port, path, headers)
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"{what}: GET 127.0.0.1:{port}{path} failed: {e!r}")


def wait_until_answering(port, path, proc, what):
    """Returns once the server answers any HTTP response; a 403 means it is up."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited during startup with status {proc.returncode}")
        try:
            http_get(port, path, timeout=1)
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise BenchError(f"{what} did not answer on port {port} within {STARTUP_TIMEOUT_S} s")


def run_checked(argv, what, log_path):
    """Runs a command to completion, its output in log_path."""
    with open(log_path, "wb") as out:
        status = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT).returncode
    if status != 0:
        raise BenchError(f"{what} failed with status {status}:\n{tail(log_path)}")


def tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"({e})"


# --- keys -----------------------------------------------------------------------


def api_key(index):
    """40 characters, the same for every contender and every run."""
    return "bk" + hashlib.sha256(str(index).encode()).hexdigest()[:38]


@dataclass
class KeySet:
    """K keys and the files each contender loads them from, written once per K."""
    count: int
    keys: list
    sample: list  # the keys wrk sends, spread evenly over all K
    base: Path
    lua: Path = None
    nginx_map: Path = None
    haproxy_map: Path = None
    tollgate_data: Path = None
    tollgate_apply_s: float = None


def prepare_keyset(count, work, contenders, tollgate, backend_port, log_prefix=NAME):
    keys = [api_key(i) for i in range(count)]
    n = min(count, MAX_LUA_KEYS)
    keyset = KeySet(count=count, keys=keys, sample=[keys[i * count // n] for i in range(n)],
                    base=work / f"keys-{count}")
    keyset.base.mkdir()
    keyset.lua = write_lua(keyset)
    if "nginx" in contenders:
        keyset.nginx_map = write_nginx_map(keyset)
    if "haproxy" in contenders:
        keyset.haproxy_map = keyset.base / "keys.map"
        keyset.haproxy_map.write_text("".join(f"{k} 1\n" for k in keys))
    if "tollgate" in contenders:
        apply_tollgate(keyset, tollgate, backend_port, log_prefix)
    return keyset


def lua_requests(keyset):
    """The part of a wrk script that sends GETs spread over keyset's sample.
    One script for every target: wrk.path comes from the URL, and the
    backend ignores the key. Requests are formatted once, in init()."""
    key_lines = "".join(f'  "{k}",\n' for k in keyset.sample)
    return f"""\
local keys = {{
{key_lines}}}
local requests = {{}}
local next_request = 0

function init(args)
  for i, key in ipairs(keys) do
    requests[i] = wrk.format("GET", wrk.path, {{["Host"] = wrk.headers["Host"], ["x-api-key"] = key}})
  end
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
"""


def write_lua(keyset):
    path = keyset.base / "bench.lua"
    path.write_text(lua_requests(keyset) + f"""\

-- One line for the script to parse; latencies in microseconds.
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d p999_us=%d\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
""")
    return path


def write_nginx_map(keyset):
    path = keyset.base / "keys_map.conf"
    with open(path, "w") as out:
        out.write("map $http_x_api_key $key_ok {\n  default 0;\n")
        out.writelines(f"  {k} 1;\n" for k in keyset.keys)
        out.write("}\n")
    return path


def tollgate_yaml(keyset, backend_port):
    key_entries = "".join(f"  - {{name: k{i}, value: {k}}}\n" for i, k in enumerate(keyset.keys))
    key_names = "".join(f"      - k{i}\n" for i in range(keyset.count))
    return f"""\
account:
  throttle: {{rateLimit: {HUGE_RATE}, burstLimit: {HUGE_RATE}}}
apis:
  - id: {TOLLGATE_API_ID}
    name: bench
    resources:
      /pets:
        GET:
          apiKeyRequired: true
          integration: {{type: HTTP_PROXY, uri: "http://127.0.0.1:{backend_port}/pets"}}
    stages:
      - stageName: prod
apiKeys:
{key_entries}usagePlans:
  - name: bench
    throttle: {{rateLimit: {HUGE_RATE}, burstLimit: {HUGE_RATE}}}
    quota: {{limit: {HUGE_QUOTA}, period: MONTH}}
    apiStages: [{{apiId: {TOLLGATE_API_ID}, stage: prod}}]
    apiKeys:
{key_names}"""


def apply_tollgate(keyset, tollgate, backend_port, log_prefix=NAME):
    """Loads the keys into a store shared by every W for this K; timed, as
    loading many keys is part of what an operator pays."""
    yaml_path = keyset.base / "tollgate.yaml"
    yaml_path.write_text(tollgate_yaml(keyset, backend_port))
    keyset.tollgate_data = keyset.base / "tollgate-data"
    started = time.monotonic()
    run_checked([tollgate, "apply", "-f", str(yaml_path), "--data-dir", str(keyset.tollgate_data)],
                f"tollgate apply of {keyset.count} keys", keyset.base / "tollgate-apply.log")
    keyset.tollgate_apply_s = round(time.monotonic() - started, 3)
    log(f"tollgate apply of {keyset.count} keys took {keyset.tollgate_apply_s:.1f} s", log_prefix)


# --- targets --------------------------------------------------------------------


@dataclass
class Target:
    """Something wrk loads: the backend itself or a contender in front of it."""
    name: str
    port: int
    path: str
    proc: subprocess.Popen  # leader of the process group whose CPU is charged
    startup_s: float

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def is_proxy(self):
        return self.name != "direct"


def nginx_conf(base, workers, http_block):
    tmp = base / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return f"""\
daemon off;
master_process on;
worker_processes {workers};
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
{http_block}}}
"""


def checked_nginx_argv(nginx, base, conf_text, what):
    """Writes the config and checks it with nginx -t; returns the command that
    runs nginx in the foreground from its private prefix (-e: even startup
    errors stay out of /var/log)."""
    conf = base / "nginx.conf"
    conf.write_text(conf_text)
    argv = [nginx, "-p", f"{base}/", "-c", str(conf), "-e", str(base / "error.log")]
    run_checked(argv + ["-t"], f"nginx -t for {what}", base / "nginx-t.log")
    return argv


def start_target(name, port, path, launch):
    """Times launch() until the target answers on its port."""
    started = time.monotonic()
    proc = launch()
    wait_until_answering(port, path, proc, name)
    return Target(name=name, port=port, path=path, proc=proc,
                  startup_s=round(time.monotonic() - started, 3))


def start_backend(procs, tools, work, port=None):
    """The nginx backend, on a free port unless given one (million_keys.py
    caches a declaration that routes to a fixed port)."""
    base = work / "backend"
    base.mkdir()
    if port is None:
        [port] = free_ports(1)
    http_block = f"""\
  server {{
    listen 127.0.0.1:{port};
    location = /pets {{ default_type application/json; return 200 '{OK_BODY.decode()}'; }}
    # Counts the requests nginx handled: proof that a proxy reached the backend.
    location = {STATUS_PATH} {{ stub_status; }}
  }}
"""
    argv = checked_nginx_argv(tools["nginx"], base, nginx_conf(base, 1, http_block), "the backend")
    target = start_target("direct", port, "/pets", lambda: procs.start(argv, base / "stdout.log"))
    expect(target, "GET /pets", {}, 200, OK_BODY)
    return target


def start_nginx(procs, tools, base, workers, keyset, backend_port):
    [port] = free_ports(1)
    # 100k keys of 40 characters: a bucket holds 4 of them, and room for 8x
    # as many buckets as keys keeps every bucket under that.
    http_block = f"""\
  map_hash_bucket_size 256;
  map_hash_max_size {max(1024, 8 * keyset.count)};
  include {keyset.nginx_map};
  limit_req_zone $http_x_api_key zone=perkey:32m rate={HUGE_RATE}r/s;
  upstream backend {{
    server 127.0.0.1:{backend_port};
    keepalive 128;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      if ($key_ok = 0) {{ return 403; }}
      limit_req zone=perkey burst={HUGE_RATE} nodelay;
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
"""
    argv = checked_nginx_argv(tools["nginx"], base, nginx_conf(base, workers, http_block), "nginx")
    return start_target("nginx", port, "/pets", lambda: procs.start(argv, base / "stdout.log"))


def start_haproxy(procs, tools, base, workers, keyset, backend_port):
    [port] = free_ports(1)
    cfg = base / "haproxy.cfg"
    cfg.write_text(f"""\
global
  nbthread {workers}
  maxconn 8192

defaults
  mode http
  option http-keep-alive
  maxconn 8192
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s

frontend gateway
  bind 127.0.0.1:{port}
  http-request deny deny_status 403 unless {{ req.hdr(x-api-key),map({keyset.haproxy_map}) -m found }}
  http-request track-sc0 req.hdr(x-api-key) table per_key
  http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt {HUGE_RATE} }}
  default_backend pets

backend per_key
  stick-table type string len 64 size 200k expire 60s store http_req_rate(1s)

backend pets
  http-reuse always
  server backend 127.0.0.1:{backend_port}
""")
    haproxy = tools["haproxy"]
    run_checked([haproxy, "-c", "-f", str(cfg)], "haproxy -c", base / "haproxy-c.log")
    return start_target("haproxy", port, "/pets",
                        lambda: procs.start([haproxy, "-f", str(cfg), "-db"], base / "haproxy.log"))


def tollgate_serve_argv(tools, data_dir, workers, access_log="off"):
    """(argv of `tollgate serve` on data_dir listening on free ports, its data-plane port)."""
    port, admin_port = free_ports(2)
    argv = [tools["tollgate"], "serve", "--data-dir", str(data_dir),
            "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin_port}",
            "--workers", str(workers), "--access-log", access_log]
    return argv, port


def start_tollgate(procs, tools, base, workers, keyset, backend_port, access_log="off"):
    # backend_port is unused: keyset's data already routes to it (STARTERS share one signature).
    argv, port = tollgate_serve_argv(tools, keyset.tollgate_data, workers, access_log)
    return start_target("tollgate", port, TOLLGATE_PATH,
                        lambda: procs.start(argv, base / "tollgate.log"))


def floor_starter(name):
    def start_floor(procs, tools, base, workers, keyset, backend_port):
        # It forwards the request unchanged, so it is asked for the backend's own path.
        [port] = free_ports(1)
        argv = [tools["floor"], str(port), str(backend_port), str(workers), FLOORS[name]]
        return start_target(name, port, "/pets", lambda: procs.start(argv, base / f"{name}.log"))
    return start_floor


STARTERS = {"nginx": start_nginx, "haproxy": start_haproxy, "tollgate": start_tollgate,
            **{name: floor_starter(name) for name in FLOORS}}


def expect(target, what, headers, status, body=None):
    got_status, got_body = fetch(target.port, target.path, headers, f"{target.name}, {what}")
    if got_status != status or (body is not None and got_body != body):
        raise BenchError(f"{target.name}: {what} answered {got_status} {got_body[:200]!r}, "
                         f"expected {status}" + (f" {body!r}" if body is not None else ""))


def probe_proxy(target, keyset):
    """The same contract for every proxy before it is loaded; the floor only
    has to reach the backend, as it checks no key."""
    for key in (keyset.sample[0], keyset.keys[-1]):
        expect(target, f"valid key {key}", {"x-api-key": key}, 200, OK_BODY)
    if target.name in FLOORS:
        return
    expect(target, "an unknown key", {"x-api-key": UNKNOWN_KEY}, 403)
    expect(target, "no key", {}, 403)


# --- load -----------------------------------------------------------------------


def run_wrk(tools, target, keyset, seconds, opts, wrk_log, cores=None):
    """wrk's RESULT line as a dict; wrk runs on `cores` if given."""
    argv = [tools["wrk"], "-t", str(opts.threads), "-c", str(opts.connections), "-d", f"{seconds}s",
            "--latency", "-s", str(keyset.lua), target.url]
    place = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=seconds + 60, preexec_fn=place)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk against {target.url} ran over {seconds + 60} s")
    with open(wrk_log, "a") as out:
        out.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise BenchError(f"wrk against {target.url} failed with status {result.returncode}: "
                         f"{result.stderr.strip()}")
    match = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if not match:
        raise BenchError(f"wrk printed no RESULT line against {target.url}")
    return {name: int(value) for name, value in
            (pair.split("=") for pair in match.group(1).split())}


def backend_requests(backend):
    """The 'requests' counter of stub_status: third number of its third line."""
    status, body = fetch(backend.port, STATUS_PATH, {}, "backend status")
    if status != 200:
        raise BenchError(f"backend {STATUS_PATH} answered {status}")
    return int(body.decode().splitlines()[2].split()[2])


def backend_requests_since(backend, before):
    # The status request reading the counter counts itself.
    return backend_requests(backend) - before - 1


def requests_per_sec(raw):
    """Of a run_wrk result, whose duration is in microseconds."""
    return round(raw["requests"] / (raw["duration_us"] / 1e6), 1)


def measure(target, backend, keyset, tools, opts, wrk_log, cores=None):
    """One measured run, after a warm-up that is not counted; wrk on `cores` if given."""
    if opts.warmup:
        run_wrk(tools, target, keyset, opts.warmup, opts, wrk_log, cores)
    requests_before = backend_requests(backend)
    user_before, system_before = group_cpu_seconds(target.proc.pid)
    backend_before = sum(group_cpu_seconds(backend.proc.pid))
    wrk_before = children_cpu_seconds()
    preemptions_before = group_preemptions(target.proc.pid)
    raw = run_wrk(tools, target, keyset, opts.duration, opts, wrk_log, cores)
    user_after, system_after = group_cpu_seconds(target.proc.pid)
    preemptions = group_preemptions(target.proc.pid) - preemptions_before
    backend_cpu = sum(group_cpu_seconds(backend.proc.pid)) - backend_before
    wrk_cpu = children_cpu_seconds() - wrk_before
    reached = backend_requests_since(backend, requests_before)
    completed = max(raw["requests"], 1)

    def per_request(seconds):
        return round(seconds * 1e6 / completed, 2)

    user, system = user_after - user_before, system_after - system_before
    return dict(
        raw,
        requests_per_sec=requests_per_sec(raw),
        p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000, p999_ms=raw["p999_us"] / 1000,
        cpu_us_per_request=per_request(user + system),
        user_us_per_request=per_request(user),
        system_us_per_request=per_request(system),
        backend_requests=reached,
        backend_cpu_us_per_request=per_request(backend_cpu),
        wrk_cpu_us_per_request=per_request(wrk_cpu),
        preemptions_per_1k_requests=round(preemptions * 1000 / completed, 1),
    )


def run_problems(target, run, where):
    problems = []
    if run["requests"] == 0:
        problems.append(f"{where}: no request completed")
    if run["non2xx"]:
        problems.append(f"{where}: {run['non2xx']} responses were not 2xx/3xx")
    if run["socket_errors"]:
        problems.append(f"{where}: {run['socket_errors']} socket errors")
    if target.is_proxy and run["backend_requests"] < run["requests"]:
        problems.append(f"{where}: the backend saw {run['backend_requests']} requests "
                        f"but wrk completed {run['requests']}")
    return problems


@dataclass
class Configuration:
    workers: int
    keys: int
    targets: list
    placement: Placement = None  # under --pin
    runs: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def run_rounds(config, backend, keyset, tools, opts, wrk_log):
    """Every target once per round; the order rotates so no target always
    follows the same neighbour (caches, CPU frequency, other load on the host)."""
    n = len(config.targets)
    load = config.placement.load if config.placement else None
    for r in range(opts.rounds):
        order = config.targets[r % n:] + config.targets[:r % n]
        for target in order:
            where = f"W={config.workers} K={config.keys} round {r + 1} {target.name}"
            run = measure(target, backend, keyset, tools, opts, wrk_log, load)
            config.runs.append(dict(run, round=r + 1, contender=target.name))
            config.problems += run_problems(target, run, where)
            log(f"{where}: {run['requests_per_sec']:.0f} requests/s, p99 {run['p99_ms']:.3f} ms, "
                f"{run['cpu_us_per_request']:.1f} µs CPU/request")


# --- report ---------------------------------------------------------------------


def medians(config):
    return {t.name: {m: statistics.median(run[m] for run in config.runs if run["contender"] == t.name)
                     for m in METRICS}
            for t in config.targets}


def rivals_in(median):
    return [name for name in RIVALS if name in median]


def comparisons(median):
    """tollgate's requests/s over each other's, and its p99 against the other proxies."""
    if "tollgate" not in median:
        return {}, None
    mine = median["tollgate"]
    ratios = {f"tollgate/{name}": round(mine["requests_per_sec"] / other["requests_per_sec"], 3)
              for name, other in median.items()
              if name != "tollgate" and other["requests_per_sec"] > 0}
    rival_p99 = [median[name]["p99_ms"] for name in rivals_in(median)]
    p99_best = mine["p99_ms"] <= min(rival_p99) if rival_p99 else None
    return ratios, p99_best


def floor_over_faster_rival(median):
    """The faster floor's requests/s over the faster of nginx and HAProxy: the
    most any proxy reached against them in this run, whatever its job."""
    rivals = [median[name]["requests_per_sec"] for name in rivals_in(median)]
    floors = [median[name]["requests_per_sec"] for name in FLOORS if name in median]
    if not floors or not rivals or max(rivals) <= 0:
        return None
    return round(max(floors) / max(rivals), 3)


def print_table(config, entry, opts):
    median, ratios = entry["medians"], entry["ratios_requests_per_sec"]
    p99_best = entry["tollgate_p99_le_min_of_nginx_haproxy"]
    print(f"\nW={config.workers} K={config.keys}: median of {opts.rounds} round(s), "
          f"wrk -t{opts.threads} -c{opts.connections} -d{opts.duration}s, warm-up {opts.warmup}s")
    if config.placement:
        cores = config.placement.report()
        print(f"pinned: contenders on cores {cores['contender']}, wrk and the backend on {cores['wrk_and_backend']}")
    startup = ", ".join(f"{name} {s:.1f}" for name, s in entry["startup_s"].items())
    apply_s = entry["tollgate_apply_s"]
    print(f"startup s: {startup}" + (f"; tollgate apply {apply_s:.1f} s" if apply_s is not None else ""))
    # CPU µs per request: the contender's (user + system), and what the
    # backend and wrk spent per request beside it on the same cores.
    # preempted/1k: times per 1,000 requests the contender lost its core while
    # it still had work.
    row = "{:<11} {:>12} {:>9} {:>9} {:>9} {:>12} {:>14} {:>9} {:>9} {:>13}"
    print(row.format("contender", "requests/s", "p50 ms", "p99 ms", "p99.9 ms", "CPU µs/req", "user + system",
                     "backend", "wrk", "preempted/1k"))
    for name, m in median.items():
        print(row.format(name, f"{m['requests_per_sec']:.0f}", f"{m['p50_ms']:.3f}", f"{m['p99_ms']:.3f}",
                         f"{m['p999_ms']:.3f}", f"{m['cpu_us_per_request']:.1f}",
                         f"{m['user_us_per_request']:.1f} + {m['system_us_per_request']:.1f}",
                         f"{m['backend_cpu_us_per_request']:.1f}", f"{m['wrk_cpu_us_per_request']:.1f}",
                         f"{m['preemptions_per_1k_requests']:.1f}"))
    if ratios:
        print("requests/s ratios: " + "   ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    rivals = ", ".join(rivals_in(median))
    if p99_best is not None:
        print(f"tollgate p99 <= min({rivals}) p99: {'yes' if p99_best else 'no'}")
    if entry["floor_over_faster_rival"] is not None:
        print(f"the faster floor / the faster of {rivals}: "
              f"{entry['floor_over_faster_rival']:.3f} (a proxy doing none of the job)")
    for problem in config.problems:
        print(f"PROBLEM: {problem}")
    sys.stdout.flush()


def command_output(argv):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    except OSError:
        return None
    return (result.stdout + result.stderr).strip()


def first_line(text):
    return text.splitlines()[0] if text else None


def machine_info(tools, memory=False):
    """The host, and the versions of those of nginx, haproxy and wrk that are
    in tools. memory=True adds MemTotal, in the place million_keys.py's
    reports have it."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    info = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1) if model else None,
    }
    if memory:
        memtotal = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.MULTILINE)
        info["mem_total_kib"] = int(memtotal.group(1)) if memtotal else None
    info["kernel"] = os.uname().release
    info["versions"] = {name: first_line(command_output([path, VERSION_FLAGS[name]]))
                        for name, path in tools.items() if name in VERSION_FLAGS}
    return info


def git_info():
    # Tracked files only: an untracked file cannot be in the binary.
    status = command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {"commit": command_output(["git", "rev-parse", "HEAD"]), "dirty": bool(status)}


def binary_mtime(path):
    # The binary may be older or newer than the checked-out commit.
    if not path:
        return None
    return datetime.datetime.fromtimestamp(
        os.stat(path).st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")


def report_header(opts, tools, parameters, memory=False):
    """The fields every script's JSON report starts with; `parameters` names
    the options recorded."""
    return {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        "smoke": opts.smoke,
        "machine": machine_info(tools, memory),
        "git": git_info(),
        "tollgate_binary_mtime": binary_mtime(tools.get("tollgate")),
        "parameters": {name: getattr(opts, name) for name in parameters},
    }


def write_results(report, prefix):
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{prefix}-{report['timestamp']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


# --- the run --------------------------------------------------------------------


def run_configuration(workers, keyset, backend, procs, tools, opts, work):
    base = work / f"w{workers}-k{keyset.count}"
    targets = [backend] if "direct" in opts.contenders else []
    placement = Placement.for_workers(workers) if opts.pin else None
    if placement:
        pin_group(backend.proc.pid, placement.load)
    started = []
    try:
        for name in opts.contenders:
            if name == "direct":
                continue
            contender_dir = base / name
            contender_dir.mkdir(parents=True)
            target = STARTERS[name](procs, tools, contender_dir, workers, keyset, backend.port)
            started.append(target)
            if placement:
                pin_group(target.proc.pid, placement.contender)
            probe_proxy(target, keyset)
            targets.append(target)
        config = Configuration(workers=workers, keys=keyset.count, targets=targets, placement=placement)
        run_rounds(config, backend, keyset, tools, opts, work / "wrk.log")
    finally:
        for target in started:
            procs.stop(target.proc)
    return config


def configuration_report(config, keyset):
    median = medians(config)
    ratios, p99_best = comparisons(median)
    return {
        "workers": config.workers,
        "keys": config.keys,
        "tollgate_apply_s": keyset.tollgate_apply_s,
        "startup_s": {t.name: t.startup_s for t in config.targets},
        "runs": config.runs,
        "medians": median,
        "ratios_requests_per_sec": ratios,
        "tollgate_p99_le_min_of_nginx_haproxy": p99_best,
        "floor_over_faster_rival": floor_over_faster_rival(median),
        "pinned_cores": config.placement.report() if config.placement else None,
        "problems": config.problems,
    }


def run(opts, tools, procs, work):
    report = dict(report_header(opts, tools, ("workers", "keys", "rounds", "duration", "warmup",
                                              "connections", "threads", "contenders", "pin")),
                  configurations=[], problems=[])
    if any(name in FLOORS for name in opts.contenders):
        tools["floor"] = ensure_built(FLOOR_PROXY)
    log(f"{report['machine']['nproc']} cores; working in {work}")
    backend = start_backend(procs, tools, work)
    keysets = {}
    for workers in opts.workers:
        for count in opts.keys:
            if count not in keysets:
                keysets[count] = prepare_keyset(count, work, opts.contenders, tools.get("tollgate"),
                                                backend.port)
            config = run_configuration(workers, keysets[count], backend, procs, tools, opts, work)
            entry = configuration_report(config, keysets[count])
            print_table(config, entry, opts)
            report["configurations"].append(entry)
            report["problems"] += config.problems
    report["tollgate_apply_s"] = {str(k): ks.tollgate_apply_s for k, ks in keysets.items()}
    return report


def finish(work, failed, keep, log_prefix):
    if failed:
        for log_path in sorted(work.rglob("*.log")):
            if log_path.stat().st_size:
                print(f"--- tail of {log_path}", file=sys.stderr)
                print(tail(log_path), file=sys.stderr)
    if failed or keep:
        log(f"kept {work}", log_prefix)
    else:
        shutil.rmtree(work, ignore_errors=True)


def exit_on_term():
    """A TERM is handled like Ctrl-C: unwind, and stop everything started
    (run_with_cleanup sees it as SystemExit)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main_with(prefix, opts, tool_names, run, need_tollgate=True, **cleanup):
    """The body of every bench script's main(): installs and finds the
    tools, then run(opts, tools, procs, work) under run_with_cleanup (whose
    `passed` and `interrupt_is_failure` come in `cleanup`). Returns the exit
    status."""
    exit_on_term()
    try:
        tools = ensure_tools(tool_names)
        if need_tollgate:
            tools["tollgate"] = ensure_tollgate()
    except BenchError as e:
        log(f"FAIL: {e}", prefix)
        return 1
    return run_with_cleanup(prefix, lambda procs, work: run(opts, tools, procs, work), opts.keep, **cleanup)


def run_with_cleanup(prefix, body, keep, passed=None, interrupt_is_failure=False):
    """Runs body(procs, work) with a new Processes and a new temporary
    directory; body returns the report, already printed. Writes the report
    to bench/results/<prefix>-<stamp>.json and logs its problems; then, however
    body ended, stops every process and removes the directory, unless `keep`
    or a failure (then the tails of its logs are shown too). prefix also names
    the log lines and the directory.

    Returns the exit status: 0, or 1 when a BenchError stopped body, the report
    lists problems or passed(report) is false, 130 on Ctrl-C. A TERM (see
    exit_on_term) goes on as SystemExit. Ctrl-C and TERM clean up as after a
    success, as the directory can hold gigabytes (memory_soak.py's access
    log); with interrupt_is_failure they keep it as after a failure.
    """
    work = Path(tempfile.mkdtemp(prefix=f"tollgate-{prefix.replace('_', '-')}."))
    procs = Processes()
    failed = True
    try:
        report = body(procs, work)
        print(f"\nresults: {write_results(report, prefix)}")
        # million_keys.py's report has no problems field: its checks raise.
        problems = report.get("problems", [])
        for problem in problems:
            log(f"FAIL: {problem}", prefix)
        failed = bool(problems)
        return 1 if failed or (passed is not None and not passed(report)) else 0
    except BenchError as e:
        log(f"FAIL: {e}", prefix)
        return 1
    except KeyboardInterrupt:
        log("interrupted", prefix)
        failed = interrupt_is_failure
        return 130
    except SystemExit:  # TERM, see exit_on_term
        if not interrupt_is_failure:
            log("terminated", prefix)
            failed = False
        raise
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        finish(work, failed, keep, prefix)


def main(argv):
    opts = parse_args(argv)
    # Stopped by Ctrl-C or TERM, this script keeps its directory and shows its
    # log tails as after a failure; memory_soak.py and million_keys.py clean up.
    return main_with(NAME, opts, ("nginx", "haproxy", "wrk"), run, need_tollgate="tollgate" in opts.contenders,
                     interrupt_is_failure=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
