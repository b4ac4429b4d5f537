#!/usr/bin/env python3
"""Integration tests for the customer usage page on the data listener: a
key's holder sees their plan's limits, the quota left in this period, when
it resets and their daily usage, made by real requests; a wrong key sees
nothing; the key never reaches the access log; each client address is
limited.

Runs the real binary (env TOLLGATE_BIN) and the echo backend on 127.0.0.1.

    python3 tests/integration/test_usage_page.py [-v]
"""
import calendar
import datetime
import os
import shutil
import tempfile
import time
import unittest

from harness import Backend, Gateway, http_request, keyed_echo_declaration, wait_until

API = "usage01"
KEY = "usage-page-key-0123456789ab"
OTHER = "other-page-key-0123456789ab"
WAIT_S = 10.0


def declaration(backend_port):
    doc = keyed_echo_declaration(API, backend_port, "customer", KEY, "Gold", plan_id="goldplan")
    doc["apiKeys"].append({"name": "other", "value": OTHER})
    doc["usagePlans"][0]["apiKeys"].append("other")
    doc["usagePlans"][0]["throttle"] = {"rateLimit": 50, "burstLimit": 20}
    doc["usagePlans"][0]["quota"] = {"limit": 100, "period": "DAY"}
    return doc


class UsagePageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-it-usage-page-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, args=["--usage-page-rate", "100"])
        cls.gw.apply(declaration(cls.backend.port))
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    def usage(self, key=None, target="/_usage/api"):
        return http_request(self.gw.port, "GET", target, {"x-api-key": key} if key is not None else {})

    def test_a_customer_sees_their_limits_remaining_quota_and_daily_usage(self):
        for _ in range(7):
            self.assertEqual(self.gw.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        today = datetime.datetime.now(datetime.timezone.utc).date()

        def plan():
            res = self.usage(KEY)
            self.assertEqual(res.status, 200, res.body)
            body = res.json()
            self.assertEqual(len(body["plans"]), 1)
            return body["plans"][0]

        self.assertTrue(wait_until(lambda: plan()["daily"][-1]["used"] == 7, WAIT_S), plan())
        p = plan()
        self.assertEqual(p["name"], "Gold")
        self.assertEqual(p["stages"], [f"{API}/prod"])
        self.assertEqual(p["throttle"], {"rateLimit": 50.0, "burstLimit": 20})
        midnight = calendar.timegm((today + datetime.timedelta(days=1)).timetuple())
        self.assertEqual(p["quota"], {"limit": 100, "period": "DAY", "used": 7, "remaining": 93,
                                      "resetsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(midnight))})
        self.assertEqual(len(p["daily"]), 30)
        self.assertEqual(p["daily"][-1]["date"], today.isoformat())
        self.assertEqual(sum(d["used"] for d in p["daily"]), 7)
        # The other key's holder sees only their own.
        other = self.usage(OTHER).json()["plans"][0]
        self.assertEqual(other["quota"]["used"], 0)

    def test_a_wrong_or_missing_key_sees_nothing(self):
        for key in ("no-such-key-0123456789", None, ""):
            res = self.usage(key)
            self.assertEqual(res.status, 403)
            self.assertEqual(res.json(), {"message": "Forbidden"})

    def test_the_page_is_served_and_the_key_never_logged(self):
        page = http_request(self.gw.port, "GET", "/_usage")
        self.assertEqual(page.status, 200)
        self.assertIn("text/html", page.headers["Content-Type"])
        self.assertIn("frame-ancestors 'none'", page.headers["Content-Security-Policy"])
        self.assertEqual(self.usage(KEY, target=f"/_usage/api?key={KEY}").status, 200)
        self.assertEqual(http_request(self.gw.port, "POST", "/_usage/api", {"x-api-key": KEY}, b"{}").status, 405)
        log = os.path.join(self.gw.data_dir, "access.log")

        def logged():
            if not os.path.exists(log):
                return ""
            with open(log) as f:
                return f.read()

        self.assertTrue(wait_until(lambda: "usage_page" in logged(), WAIT_S))
        text = logged()
        self.assertNotIn(KEY, text)
        self.assertIn('"path":"/_usage/api"', text)


class UsagePageLimitTest(unittest.TestCase):
    def test_each_client_address_is_limited(self):
        workdir = tempfile.mkdtemp(prefix="tollgate-it-usage-limit-")
        self.addCleanup(shutil.rmtree, workdir, True)
        backend = Backend(workdir).start()
        self.addCleanup(backend.stop)
        gw = Gateway(workdir, args=["--usage-page", "/my-usage", "--usage-page-rate", "0.5"])
        gw.apply(declaration(backend.port))
        gw.start()
        self.addCleanup(gw.stop)
        statuses = [http_request(gw.port, "GET", "/my-usage/api", {"x-api-key": KEY}).status for _ in range(15)]
        self.assertEqual(statuses[:10], [200] * 10)  # the burst
        self.assertIn(429, statuses[10:])
        self.assertEqual(http_request(gw.port, "GET", "/_usage").status, 403)  # not the page any more
        refused = http_request(gw.port, "GET", "/my-usage/api", {"x-api-key": KEY})
        self.assertEqual(refused.headers["Retry-After"], "1")


if __name__ == "__main__":
    unittest.main()
