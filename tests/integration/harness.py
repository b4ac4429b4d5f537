"""Shared helpers for tollgate's integration tests: free loopback ports, raw
HTTP requests, polling, the echo backend and `tollgate serve` processes.

Standard library only. Imported by the test_*.py files next to it, which
are run as scripts from this directory.
"""
import calendar
import configparser
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TOLLGATE_BIN = os.environ.get("TOLLGATE_BIN", "/work/main/build/tollgate")
ECHO_BACKEND = os.path.join(HERE, "echo_backend.py")
HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
RELOAD_TIMEOUT_S = 5.0

# A refill rate so slow that no token comes back during the run.
TINY = 0.01

# How the AWS CLI reports a refusal on stderr.
AWS_CLI_ERROR = re.compile(r"An error occurred \(([^)]*)\) when calling the (\w+) operation"
                           r"(?: \(reached max retries: \d+\))?: (.*)\Z", re.S)

FORBIDDEN = {"message": "Forbidden"}
MISSING_TOKEN = {"message": "Missing Authentication Token"}
TOO_MANY = {"message": "Too Many Requests"}
LIMIT_EXCEEDED = {"message": "Limit Exceeded"}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def refusing_port():
    """A socket bound to a free port but never listening: connections to the
    port are refused, and no server started later (the gateway itself) can
    take it. Keep the socket open as long as the port is needed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    return s


def to_yaml(doc):
    # JSON is YAML: yaml-cpp reads it, and quoting keeps every string a string.
    return json.dumps(doc, indent=2)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {dict(self.headers)} {self.body[:300]!r}>"


def http_request(port, method, target, headers=None, body=None, timeout=10.0, tls=None):
    """One request on a new connection; over TLS when `tls` (an ssl.SSLContext) is given."""
    conn = (http.client.HTTPSConnection(HOST, port, timeout=timeout, context=tls) if tls
            else http.client.HTTPConnection(HOST, port, timeout=timeout))
    try:
        conn.request(method, target, body=body, headers=headers or {})
        res = conn.getresponse()
        data = res.read()
        return Response(res.status, res.headers, data)
    finally:
        conn.close()


def metric(gateway, name):
    """The value of an unlabelled line of the gateway's /metrics."""
    text = http_request(gateway.admin_port, "GET", "/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def run_apply(yaml_text, data_dir, workdir, extra=()):
    fd, path = tempfile.mkstemp(suffix=".yaml", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write(yaml_text)
    return subprocess.run([TOLLGATE_BIN, "apply", "-f", path, "--data-dir", data_dir, *extra],
                          capture_output=True, text=True, timeout=30)


def admin_credentials(data_dir):
    """(access key id, secret) of the admin credentials generated in `data_dir`."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(data_dir, "admin-credentials"))
    return parser["default"]["aws_access_key_id"], parser["default"]["aws_secret_access_key"]


def console_cookie(gateway):
    """Signs in to `gateway`'s owner console with its admin credentials; the
    session's cookie, as a Cookie header carries it."""
    key_id, secret = admin_credentials(gateway.data_dir)
    body = urllib.parse.urlencode({"access_key_id": key_id, "secret_access_key": secret})
    res = http_request(gateway.admin_port, "POST", "/console/session",
                       {"Content-Type": "application/x-www-form-urlencoded"}, body)
    if res.status != 303:
        raise AssertionError(f"console sign-in: {res.status} {res.body!r}")
    return res.headers["Set-Cookie"].split(";")[0]


def console_json(gateway, cookie, path):
    """A console read (GET /console/api/...) with a session's cookie; its JSON."""
    res = http_request(gateway.admin_port, "GET", path, {"Cookie": cookie})
    if res.status != 200:
        raise AssertionError(f"GET {path}: {res.status} {res.body!r}")
    return json.loads(res.body)


def aws_cli_env(data_dir, workdir):
    """The environment for /usr/bin/aws against the server of `data_dir`: its
    generated admin credentials, and no local AWS setup."""
    key_id, secret = admin_credentials(data_dir)
    nowhere = os.path.join(workdir, "no-such-aws-config")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TOLLGATE_"))}
    env.update({"AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere, "AWS_PAGER": "",
                "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def keyed_echo_declaration(api, backend_port, key_name, key_value, plan_name, plan_id=None, method="GET"):
    """One API whose prod stage has /echo (proxied to the echo backend, a key
    required), one key with its value, and one plan holding it."""
    plan = {"name": plan_name, "apiStages": [{"apiId": api, "stage": "prod"}], "apiKeys": [key_name]}
    if plan_id:
        plan["id"] = plan_id
    return {"apis": [{"id": api, "name": api,
                      "resources": {"/echo": {method: {"integration": {
                          "type": "HTTP_PROXY", "uri": f"http://{HOST}:{backend_port}/echo"},
                          "apiKeyRequired": True}}},
                      "stages": [{"stageName": "prod"}]}],
            "apiKeys": [{"name": key_name, "value": key_value}],
            "usagePlans": [plan]}


def aws(gateway, workdir, *args, scheme="http", env=None):
    """/usr/bin/aws against `gateway`'s management API with its generated
    credentials; its JSON output. Raises AssertionError when it fails."""
    result = subprocess.run(["aws", "--endpoint-url", f"{scheme}://{HOST}:{gateway.admin_port}",
                             "--region", "us-east-1", "--output", "json", "apigateway", *args],
                            capture_output=True, text=True, timeout=60,
                            env=dict(aws_cli_env(gateway.data_dir, workdir), **(env or {})))
    if result.returncode != 0:
        raise AssertionError(f"aws apigateway {' '.join(args)} failed: {result.stderr}")
    return json.loads(result.stdout) if result.stdout.strip() else None


class CliError:
    """A failed AWS CLI call: its exit code, stderr, and the error code,
    operation and message the CLI printed."""

    def __init__(self, result):
        self.returncode = result.returncode
        self.stderr = result.stderr
        m = AWS_CLI_ERROR.search(result.stderr.rstrip("\n"))
        self.code, self.operation, self.message = m.groups() if m else (None, None, None)

    def __repr__(self):
        return f"<exit {self.returncode}: {self.stderr!r}>"


def wait_until(predicate, timeout, interval=0.05):
    """Polls predicate() until it returns a truthy value; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def utc_seconds_to_midnight():
    now = time.time()
    day_start = calendar.timegm(time.gmtime(now)[:3] + (0, 0, 0))
    return day_start + 86400 - now


class Backend:
    """A backend in its own process: the echo backend, or another `script`
    taking the same options."""

    def __init__(self, workdir, script=ECHO_BACKEND):
        self.workdir = workdir
        self.script = script
        self.name = os.path.splitext(os.path.basename(script))[0]
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, f"{self.name}.log")

    def start(self):
        port_file = os.path.join(self.workdir, f"{self.name}.port")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, self.script, "--host", HOST, "--port", "0",
                                      "--port-file", port_file],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                return True
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                return text.isdigit() and int(text)
            except OSError:
                return False

        port = wait_until(ready, START_TIMEOUT_S)
        if self.proc.poll() is not None or not port or port is True:
            self.stop()
            raise RuntimeError(f"{self.name} did not start within {START_TIMEOUT_S} s:\n{self.output()}")
        self.port = int(port)
        return self

    def received(self, key=None):
        """Requests the backend received: all, or those with x-api-key `key`."""
        counts = http_request(self.port, "GET", "/__count").json()
        return counts["count"] if key is None else counts.get("by_key", {}).get(key, 0)

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        stop_process(self.proc)
        if getattr(self, "log", None):
            self.log.close()


def stop_process(proc, sig=signal.SIGTERM, timeout=10.0):
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=timeout)


class RedisServer:
    """A real redis-server on a free loopback port: started, killed and
    started again (same port) by the test. With `persist`, every write is in
    its append-only file before it is answered, so a restart keeps it all;
    without, a restart starts empty."""

    def __init__(self, workdir, persist=False, args=()):
        self.workdir = workdir
        self.persist = persist
        self.args = list(args)  # more redis-server options, e.g. --replicaof HOST PORT
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"redis://{HOST}:{self.port}"

    def start(self):
        self.log = open(os.path.join(self.workdir, "redis.log"), "ab")
        # Its files (the append-only log, a replica's copy of its master)
        # go in the test's directory, never in the current one where a later
        # server would load them.
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if self.persist
                       else ["--appendonly", "no"])
        persistence += ["--dir", self.workdir, "--dbfilename", f"redis-{self.port}.rdb",
                        "--appendfilename", f"redis-{self.port}.aof"]
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
                                      *persistence, *self.args], stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                return "exited"
            try:
                with socket.create_connection((HOST, self.port), timeout=1.0) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG") and "ready"
            except OSError:
                return False

        if wait_until(ready, START_TIMEOUT_S) != "ready":
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        return self

    def stop(self, sig=signal.SIGKILL):
        stop_process(self.proc, sig)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


class Gateway:
    """One `tollgate serve` over its own data dir, plus `apply` into that dir.

    `env` adds variables to the server's environment; a None value removes one
    (e.g. so that an outer TOLLGATE_ADMIN_* setting cannot leak in). `args`
    are more `serve` options. `tls`, an ssl.SSLContext trusting the server's
    certificate, is how this client speaks to a listener given one in `args`."""

    def __init__(self, workdir, workers=1, env=None, args=(), tls=None, prefix=()):
        self.workdir = workdir
        self.args = list(args)
        self.prefix = list(prefix)  # a command that runs the server (e.g. as another user)
        self.data_tls = tls if "--tls-cert" in self.args else None
        self.admin_tls = tls if "--admin-tls-cert" in self.args else None
        self.data_dir = os.path.join(workdir, "data")
        self.workers = workers
        self.env = dict(env or {})
        self.proc = None
        self.port = None
        self.admin_port = None
        self.log_path = None
        self.starts = 0

    def apply(self, doc_or_text, check=True):
        text = doc_or_text if isinstance(doc_or_text, str) else to_yaml(doc_or_text)
        # A server on a shared store is applied to through that store.
        store = self.args[self.args.index("--store"):][:2] if "--store" in self.args else []
        result = run_apply(text, self.data_dir, self.workdir, store)
        if check and result.returncode != 0:
            raise AssertionError(f"tollgate apply failed (exit {result.returncode}):\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def start(self):
        self.starts += 1
        self.port, self.admin_port = free_port(), free_port()
        while self.admin_port == self.port:
            self.admin_port = free_port()
        self.log_path = os.path.join(self.workdir, f"tollgate-{self.starts}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.prefix + [TOLLGATE_BIN, "serve", "--data-dir", self.data_dir,
             "--listen", f"{HOST}:{self.port}", "--admin-listen", f"{HOST}:{self.admin_port}",
             "--workers", str(self.workers)] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT, env=self.environment())

        def ready():
            if self.proc.poll() is not None:
                return "exited"
            try:
                health = http_request(self.admin_port, "GET", "/health", timeout=1.0, tls=self.admin_tls)
                if health.status != 200 or "catalogVersion" not in health.json():
                    return False
                with socket.create_connection((HOST, self.port), timeout=1.0):
                    return "ready"
            except (OSError, ValueError, http.client.HTTPException):
                return False

        state = wait_until(ready, START_TIMEOUT_S, interval=0.05)
        if state != "ready":
            self.stop()
            raise RuntimeError(f"tollgate serve did not become ready within {START_TIMEOUT_S} s "
                               f"(state: {state or 'timeout'}); its output:\n{self.output()}")
        return self

    def environment(self):
        env = dict(os.environ)
        for name, value in self.env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def stop(self, sig=signal.SIGTERM):
        code = stop_process(self.proc, sig)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        return code

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def health(self):
        res = http_request(self.admin_port, "GET", "/health", tls=self.admin_tls)
        if res.status != 200:
            raise AssertionError(f"GET /health: {res}")
        return res.json()

    def control_version(self):
        """The store's control version, read from the server's database: /health
        reports the version the data plane has loaded, which may lag behind."""
        db = sqlite3.connect(f"file:{os.path.join(self.data_dir, 'tollgate.db')}?mode=ro", uri=True,
                             timeout=5)
        try:
            return db.execute("SELECT value FROM meta WHERE name = 'control_version'").fetchone()[0]
        finally:
            db.close()

    def wait_loaded(self):
        """Waits until the data plane serves every change committed so far."""
        wanted = self.control_version()
        if not wait_until(lambda: self.health()["catalogVersion"] >= wanted, RELOAD_TIMEOUT_S):
            raise AssertionError(f"control version {wanted} not loaded within {RELOAD_TIMEOUT_S} s:\n"
                                 f"{self.output()}")

    def request(self, method, api, stage, path, key=None, headers=None, body=None, host_style=False,
                key_header="x-api-key"):
        hdrs = dict(headers or {})
        if key is not None:
            hdrs[key_header] = key
        if host_style:
            hdrs["Host"] = f"{api}.execute-api.anything"
            target = f"/{stage}{path}"
        else:
            target = f"/restapis/{api}/{stage}/_user_request_{path}"
        return http_request(self.port, method, target, hdrs, body, tls=self.data_tls)

    def apply_and_wait(self, doc):
        """Applies while serving and waits until the server has loaded the change."""
        before = self.health()["catalogVersion"]
        result = self.apply(doc)
        if "no changes" in result.stdout:
            return result
        loaded = wait_until(lambda: self.health()["catalogVersion"] > before, RELOAD_TIMEOUT_S)
        if not loaded:
            raise AssertionError(f"catalog not reloaded within {RELOAD_TIMEOUT_S} s after apply:\n"
                                 f"{result.stdout}\nserver output:\n{self.output()}")
        return result


# ------------------------------------------------------------------ SigV4

def amz_date(epoch_s=None):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if epoch_s is None else epoch_s))


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _encode(text):
    return urllib.parse.quote(text, safe="-_.~")


def sigv4_headers(method, host, path, query, body, access_key_id, secret, date, region="us-east-1"):
    """Headers that sign a request as spec §8 describes. `path` and `query` are
    as sent on the wire (already percent-encoded once); only host and
    x-amz-date are signed."""
    canonical_uri = urllib.parse.quote(path, safe="/~")  # the wire path encoded a second time
    pairs = []
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        pairs.append((_encode(urllib.parse.unquote(name)), _encode(urllib.parse.unquote(value))))
    canonical_query = "&".join(f"{n}={v}" for n, v in sorted(pairs))
    signed_headers = "host;x-amz-date"
    canonical_headers = f"host:{host}\nx-amz-date:{date}\n"
    canonical_request = "\n".join([method, canonical_uri, canonical_query, canonical_headers,
                                   signed_headers, hashlib.sha256(body).hexdigest()])
    scope = f"{date[:8]}/{region}/apigateway/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                         hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = _hmac(("AWS4" + secret).encode("utf-8"), date[:8])
    for part in (region, "apigateway", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"Host": host, "X-Amz-Date": date,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
                             f"SignedHeaders={signed_headers}, Signature={signature}"}


class AdminClient:
    """Raw signed requests to the management API (for fixtures and signing tests)."""

    def __init__(self, port, access_key_id, secret):
        self.port = port
        self.access_key_id = access_key_id
        self.secret = secret

    def send(self, method, path, body=None, query="", date=None, mutate=None, timeout=10.0):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        host = f"{HOST}:{self.port}"
        headers = sigv4_headers(method, host, path, query, data, self.access_key_id, self.secret,
                                date or amz_date())
        headers["Accept"] = "application/json"
        if data:
            headers["Content-Type"] = "application/json"
        target = path + ("?" + query if query else "")
        if mutate:  # a test's change after signing
            target, headers, data = mutate(target, headers, data)
        return http_request(self.port, method, target, headers, data or None, timeout=timeout)

    def __call__(self, method, path, body=None, query=""):
        res = self.send(method, path, body, query)
        if res.status >= 300:
            raise AssertionError(f"{method} {path}?{query} failed: {res}")
        return res.json() if res.body else None
