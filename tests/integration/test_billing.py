#!/usr/bin/env python3
"""Integration tests for the path from the count to the bill: the exports a
business bills from, run against a real `tollgate serve` and its store.

- One definition of a billable request: admitted by the gate and handed to
  the integration. A request the gateway sheds itself after admitting it
  (every connection to the backend busy, too many waiting) is not billed in
  any export, nor charged to the quota.
- Failures are loud: an export that cannot write all it read (a full disk,
  a closed pipe) exits non-zero with the reason and prints no cursor, and a
  file it was to write is left as it was; a cursor that names nothing is an
  error naming it.

    python3 tests/integration/test_billing.py [-v]

Standard library only. No test asserts how long anything took.
"""
import datetime
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest

from harness import HOST, TOLLGATE_BIN, Backend, Gateway, http_request, wait_until

API = "bill01"


def key_value(name):
    return f"{name}-billing-0123456789abcdef"


def declaration(backend_port, keys, plans, backend_path="/b"):
    return {"apis": [{"id": API, "name": "billing",
                      "resources": {"/b": {"GET": {"apiKeyRequired": True, "integration": {
                          "type": "HTTP_PROXY", "uri": f"http://{HOST}:{backend_port}{backend_path}"}}}},
                      "stages": [{"stageName": "prod"}]}],
            "apiKeys": [dict({"id": k, "name": k, "value": key_value(k)}, **extra) for k, extra in keys.items()],
            "usagePlans": plans}


def plan(plan_id, keys, quota=None):
    p = {"id": plan_id, "name": plan_id, "apiStages": [{"apiId": API, "stage": "prod"}], "apiKeys": list(keys)}
    if quota:
        p["quota"] = quota
    return p


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


class BillingTestCase(unittest.TestCase):
    """A backend and a gateway over a data dir of its own, per test."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tollgate-billing-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.backend = Backend(self.workdir).start()
        self.addCleanup(self.backend.stop)
        self.gw = Gateway(self.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None,
                                             "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        self.addCleanup(self.gw.stop)

    def call(self, key, n=1):
        for _ in range(n):
            res = self.gw.request("GET", API, "prod", "/b", key=key_value(key))
            self.assertEqual(res.status, 200, res)

    def export(self, *args, stdout=subprocess.PIPE):
        """`tollgate usage export` on the gateway's data dir over today, which
        is open: its daily usage written as provisional records."""
        today = utc_today().isoformat()
        daily = [] if "--events" in args or "--after" in args else ["--open"]
        return subprocess.run([TOLLGATE_BIN, "usage", "export", "--data-dir", self.gw.data_dir,
                               "--from", today, "--to", today, *daily, *args],
                              stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)

    def exported(self, *args):
        """Records an export of today writes (jsonl), or False if it failed."""
        result = self.export("--format", "jsonl", *args)
        return result.returncode == 0 and len(result.stdout.splitlines())

    def records(self, *args):
        result = self.export("--format", "jsonl", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return [json.loads(line) for line in result.stdout.splitlines()]

    def assertFailedLoudly(self, result, *words):
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("resume with", result.stderr)
        for w in words:
            self.assertIn(w, result.stderr)


class ExportFailures(BillingTestCase):
    def setUp(self):
        super().setUp()
        self.gw.apply(declaration(self.backend.port, {"k1": {}, "k2": {}}, [plan("p1", ["k1", "k2"])]))
        self.gw.start()
        self.call("k1", 3)
        self.call("k2", 2)
        # Written by the meter (each second) and the access log's writer.
        for args, records in ((), 2), (("--events",), 5):
            self.assertTrue(wait_until(lambda: self.exported(*args) == records, 10), self.export(*args).stderr)

    def test_a_full_device_fails_with_no_cursor(self):
        for args in ([], ["--events"]):
            with self.subTest(args=args):
                self.assertFailedLoudly(self.export("--format", "jsonl", "-o", "/dev/full", *args), "/dev/full")

    def test_a_closed_pipe_fails_with_no_cursor(self):
        for args in ([], ["--events"]):
            with self.subTest(args=args):
                read_end, write_end = os.pipe()
                os.close(read_end)
                try:
                    result = self.export("--format", "jsonl", *args, stdout=write_end)
                finally:
                    os.close(write_end)
                self.assertFailedLoudly(result, "closed")

    def test_a_file_is_replaced_whole_or_left_as_it_was(self):
        out = os.path.join(self.workdir, "usage.jsonl")
        first = self.export("--format", "jsonl", "-o", out, "--events")
        self.assertEqual(first.returncode, 0, first.stderr)
        with open(out) as f:
            written = f.read()
        self.assertEqual(len(written.splitlines()), 5)
        self.assertFailedLoudly(self.export("--format", "jsonl", "-o", out, "--events", "--after", "no-such-request"),
                                "no-such-request")
        with open(out) as f:
            self.assertEqual(f.read(), written)
        self.assertEqual(os.listdir(self.workdir).count("usage.jsonl"), 1)
        self.assertFalse([n for n in os.listdir(self.workdir) if n.startswith("usage.jsonl.")])

    def test_a_daily_cursor_that_names_no_record_is_an_error(self):
        cursor = f"{utc_today().isoformat()}/p1/k9/"
        self.assertFailedLoudly(self.export("--after", cursor), cursor)

    def test_events_resume_across_a_rotated_log_and_a_lost_cursor_is_an_error(self):
        log = os.path.join(self.gw.data_dir, "access.log")
        first = self.export("--events", "--format", "jsonl")
        self.assertEqual(first.returncode, 0, first.stderr)
        cursor = first.stderr.strip().rsplit(" ", 1)[-1]
        # Rotated as logrotate does: moved aside, then the server told to reopen.
        os.rename(log, log + ".1")
        self.gw.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: os.path.exists(log), 10))
        self.call("k1", 4)
        self.assertTrue(wait_until(lambda: self.exported("--events", "--access-log", log) == 4, 10))
        self.assertFailedLoudly(self.export("--events", "--after", cursor), cursor, "--access-log")
        rest = self.export("--events", "--format", "jsonl", "--after", cursor,
                           "--access-log", log + ".1", "--access-log", log)
        self.assertEqual(rest.returncode, 0, rest.stderr)
        records = [json.loads(line) for line in rest.stdout.splitlines()]
        self.assertEqual([r["keyId"] for r in records], ["k1"] * 4)


class ShedRequestsAreNotBilled(BillingTestCase):
    def test_a_request_shed_after_admission_is_in_no_export_nor_charged(self):
        self.gw.args += ["--max-backend-connections", "1", "--max-backend-waiting", "1"]
        quota = {"limit": 100, "period": "DAY", "offset": 0}
        self.gw.apply(declaration(self.backend.port, {"k1": {}}, [plan("p1", ["k1"], quota)], "/__sleep"))
        self.gw.start()
        statuses = []
        barrier = threading.Barrier(8)

        def one():
            barrier.wait()
            res = http_request(self.gw.port, "GET", f"/restapis/{API}/prod/_user_request_/b?ms=600",
                               {"x-api-key": key_value("k1")}, timeout=30)
            statuses.append(res.status)
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        served = self.backend.received(key_value("k1"))
        self.assertIn(503, statuses)
        self.assertEqual(statuses.count(200), served, statuses)
        self.assertTrue(wait_until(lambda: self.exported("--events") == served, 10), self.records("--events"))
        self.assertTrue(wait_until(lambda: sum(r["requests"] for r in self.records()) == served, 10),
                        self.records())
        # The quota was charged only what the backend had: one more request
        # leaves 100 - served - 1.
        res = self.gw.request("GET", API, "prod", "/b", key=key_value("k1"))
        self.assertTrue(res.headers["RateLimit"].startswith(f'"quota";r={100 - served - 1};'), res)


if __name__ == "__main__":
    unittest.main()
