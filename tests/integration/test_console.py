#!/usr/bin/env python3
"""Integration tests for the owner console's sessions on the admin
listener: signing in with the admin credentials, the session cookie's
flags, requests without a session or without the CSRF token refused,
changes from another origin refused, sign-in attempts limited, and the
management operations reached through the console: a key created, put in a
plan, served by the data plane, disabled and then refused by it; and the
console's daily usage and requests by outcome over the last hour.

Runs the real binary (env TOLLGATE_BIN) and the echo backend on 127.0.0.1.

    python3 tests/integration/test_console.py [-v]
"""
import http.client
import json
import shutil
import tempfile
import time
import unittest
import urllib.parse

from harness import HOST, Backend, Gateway, admin_credentials, keyed_echo_declaration, wait_until

API = "cons01"
KEY = "console-test-key-0123456789"
BURST_KEY = "console-burst-key-0123456789"
WAIT_S = 10.0


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-it-console-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None,
                                           "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        doc = keyed_echo_declaration(API, cls.backend.port, "first", KEY, "Console plan", plan_id="consoleplan")
        doc["usagePlans"][0]["quota"] = {"limit": 10, "period": "DAY"}
        doc["apiKeys"].append({"name": "burst", "value": BURST_KEY})
        doc["usagePlans"].append({"id": "burstplan", "name": "Burst plan", "apiKeys": ["burst"],
                                  "apiStages": [{"apiId": API, "stage": "prod"}],
                                  "throttle": {"rateLimit": 1, "burstLimit": 3},
                                  "quota": {"limit": 5, "period": "DAY"}})
        cls.gw.apply(doc)
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    def send(self, method, path, body=None, headers=None, cookie=None):
        """One request to the admin listener: a dict body goes as a form,
        a str one as it is."""
        conn = http.client.HTTPConnection(HOST, self.gw.admin_port, timeout=10)
        try:
            hdrs = dict(headers or {})
            if cookie:
                hdrs["Cookie"] = cookie
            if isinstance(body, dict):
                body = urllib.parse.urlencode(body)
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=hdrs)
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        finally:
            conn.close()

    def sign_in(self):
        key_id, secret = admin_credentials(self.gw.data_dir)
        for _ in range(5):
            status, headers, _ = self.send("POST", "/console/session",
                                           {"access_key_id": key_id, "secret_access_key": secret})
            if status != 429:  # sign-ins are limited to one a second after five
                break
            time.sleep(1)
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/console")
        cookie = headers["Set-Cookie"]
        status, _, body = self.send("GET", "/console/api/session", cookie=cookie.split(";")[0])
        self.assertEqual(status, 200)
        return cookie, json.loads(body)

    def mgmt(self, method, path, cookie, token, body=None):
        """A management operation through the console, with JSON."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-CSRF-Token"] = token
        status, _, data = self.send(method, "/console/api/mgmt" + path,
                                    None if body is None else json.dumps(body), headers, cookie)
        return status, json.loads(data) if data else None

    def test_without_a_session_there_is_only_the_sign_in_page(self):
        status, headers, body = self.send("GET", "/console")
        self.assertEqual(status, 200)
        self.assertIn(b'action="/console/session"', body)
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        for method, path in (("GET", "/console/api/session"), ("GET", "/console/api/mgmt/apikeys"),
                             ("POST", "/console/api/mgmt/apikeys")):
            self.assertEqual(self.send(method, path)[0], 401, path)
        # A session id made up, or ended, is no session.
        self.assertEqual(self.send("GET", "/console/api/session", cookie="tollgate_console=made-up")[0], 401)

    def test_wrong_credentials_are_refused(self):
        key_id, _ = admin_credentials(self.gw.data_dir)
        status, headers, body = self.send("POST", "/console/session",
                                          {"access_key_id": key_id, "secret_access_key": "wrong"})
        self.assertIn(status, (401, 429))
        self.assertNotIn("Set-Cookie", headers)
        self.assertNotIn(b"wrong", body)

    def test_the_session_cookie_is_http_only_strict_and_scoped(self):
        cookie, session = self.sign_in()
        flags = [f.strip() for f in cookie.split(";")]
        self.assertIn("HttpOnly", flags)
        self.assertIn("SameSite=Strict", flags)
        self.assertIn("Path=/console", flags)
        self.assertNotIn("Secure", flags)  # plain HTTP here; over TLS it is set
        self.assertEqual(session["accessKeyId"], admin_credentials(self.gw.data_dir)[0])
        self.assertEqual(len(session["csrfToken"]), 43)
        # Signed in, /console is the built page (with uPlot inlined); it
        # holds no token, which only the session's own requests can read.
        status, headers, page = self.send("GET", "/console", cookie=cookie.split(";")[0])
        self.assertEqual(status, 200)
        self.assertIn(b'<table id="keys">', page)
        self.assertIn(b"uPlot", page)
        self.assertNotIn(session["csrfToken"].encode(), page)
        self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])

    def test_changes_need_the_csrf_token_and_this_origin(self):
        cookie, session = self.sign_in()
        cookie = cookie.split(";")[0]
        status, _ = self.mgmt("POST", "/apikeys", cookie, None, {"name": "no-token"})
        self.assertEqual(status, 403)
        status, _ = self.mgmt("POST", "/apikeys", cookie, "x" * 43, {"name": "wrong-token"})
        self.assertEqual(status, 403)
        status, _, _ = self.send("POST", "/console/api/mgmt/apikeys", json.dumps({"name": "elsewhere"}),
                                 {"X-CSRF-Token": session["csrfToken"], "Origin": "http://evil.example"}, cookie)
        self.assertEqual(status, 403)
        names = [k["name"] for k in self.mgmt("GET", "/apikeys", cookie, None)[1]["item"]]
        for refused in ("no-token", "wrong-token", "elsewhere"):
            self.assertNotIn(refused, names)
        # Signing out needs the token too, then ends the session.
        self.assertEqual(self.send("POST", "/console/session/end", {}, cookie=cookie)[0], 403)
        self.assertEqual(self.send("POST", "/console/session/end", {"csrf": session["csrfToken"]},
                                   cookie=cookie)[0], 303)
        self.assertEqual(self.send("GET", "/console/api/session", cookie=cookie)[0], 401)

    def test_a_key_made_in_the_console_is_served_then_refused_once_disabled(self):
        cookie, session = self.sign_in()
        cookie, token = cookie.split(";")[0], session["csrfToken"]
        status, created = self.mgmt("POST", "/apikeys", cookie, token, {"name": "from-console", "enabled": True,
                                                                         "value": "console-made-key-0123456789"})
        self.assertEqual(status, 201, created)
        status, _ = self.mgmt("POST", "/usageplans/consoleplan/keys", cookie, token,
                              {"keyId": created["id"], "keyType": "API_KEY"})
        self.assertEqual(status, 201)

        def served():
            return self.gw.request("GET", API, "prod", "/echo", key="console-made-key-0123456789").status
        self.assertTrue(wait_until(lambda: served() == 200, WAIT_S))
        status, _ = self.mgmt("PATCH", f"/apikeys/{created['id']}", cookie, token,
                              {"patchOperations": [{"op": "replace", "path": "/enabled", "value": "false"}]})
        self.assertEqual(status, 200)
        self.assertTrue(wait_until(lambda: served() == 403, WAIT_S))

    def test_the_overview_and_usage_series_reflect_requests_just_sent(self):
        cookie, _ = self.sign_in()
        cookie = cookie.split(";")[0]
        for _ in range(7):
            self.assertEqual(self.gw.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        status, _, body = self.send("GET", "/console/api/overview", cookie=cookie)
        self.assertEqual(status, 200)
        overview = json.loads(body)
        self.assertNotIn(KEY, body.decode())  # names and ids, never a key's value
        self.assertEqual([a["id"] for a in overview["apis"]], [API])
        self.assertEqual(overview["apis"][0]["stages"], ["prod"])
        plan = next(p for p in overview["plans"] if p["id"] == "consoleplan")
        self.assertEqual(plan["quota"], {"limit": 10, "offset": 0, "period": "DAY"})
        self.assertEqual(plan["apiStages"], [f"{API}/prod"])
        first = next(k for k in overview["keys"] if k["name"] == "first")
        self.assertEqual(first["today"], 7)
        self.assertEqual(first["plans"][0]["used"], 7)
        self.assertEqual(first["plans"][0]["percent"], 70.0)
        near = overview["nearQuota"]
        self.assertIn(first["id"], [n["keyId"] for n in near])
        self.assertEqual([n["percent"] for n in near], sorted((n["percent"] for n in near), reverse=True))

        status, _, body = self.send("GET", f"/console/api/usage?planId=consoleplan&keyId={first['id']}&days=90",
                                    cookie=cookie)
        self.assertEqual(status, 200)
        days = json.loads(body)["days"]
        self.assertEqual(len(days), 90)
        self.assertEqual(days[-1]["used"], 7)
        status, _, body = self.send("GET", "/console/api/usage?planId=consoleplan", cookie=cookie)
        self.assertEqual(len(json.loads(body)["days"]), 30)
        self.assertGreaterEqual(json.loads(body)["days"][-1]["used"], 7)
        self.assertEqual(self.send("GET", "/console/api/usage?days=30", cookie=cookie)[0], 400)
        self.assertEqual(self.send("GET", "/console/api/usage?planId=consoleplan&days=7", cookie=cookie)[0], 400)
        self.assertEqual(self.send("GET", "/console/api/overview")[0], 401)

    def test_keys_come_a_page_at_a_time_by_name(self):
        cookie, _ = self.sign_in()
        cookie = cookie.split(";")[0]

        def overview(query):
            status, _, body = self.send("GET", "/console/api/overview?" + query, cookie=cookie)
            self.assertEqual(status, 200, body)
            return json.loads(body)
        names, position, count = [], "", None
        while True:
            page = overview("limit=1" + (f"&position={position}" if position else ""))
            self.assertLessEqual(len(page["keys"]), 1)
            names += [k["name"] for k in page["keys"]]
            count = page["keyCount"]
            position = page.get("keysPosition")
            if not position:
                break
        self.assertEqual(len(names), count)
        self.assertGreaterEqual(count, 2)
        self.assertEqual(names, sorted(names))
        found = overview("nameQuery=bur")
        self.assertEqual([k["name"] for k in found["keys"]], ["burst"])
        self.assertEqual(found["keyCount"], 1)
        self.assertNotIn("keysPosition", found)
        in_plan = overview("planId=burstplan")
        self.assertEqual([k["name"] for k in in_plan["keys"]], ["burst"])
        self.assertEqual(overview("planId=burstplan&nameQuery=first")["keyCount"], 0)
        self.assertEqual(self.send("GET", "/console/api/overview?position=nope", cookie=cookie)[0], 400)
        self.assertEqual(self.send("GET", "/console/api/overview?limit=many", cookie=cookie)[0], 400)

    def test_requests_by_outcome_over_the_last_hour(self):
        cookie, _ = self.sign_in()
        cookie = cookie.split(";")[0]
        outcomes = {"allowed": 0, "throttled": 0, "quotaExceeded": 0}

        def burst(n):
            for _ in range(n):
                res = self.gw.request("GET", API, "prod", "/echo", key=BURST_KEY)
                if res.status == 200:
                    outcomes["allowed"] += 1
                else:
                    self.assertEqual(res.status, 429)
                    limit = json.loads(res.body)["message"] == "Limit Exceeded"
                    outcomes["quotaExceeded" if limit else "throttled"] += 1
        burst(6)      # 3 served (the burst), the rest throttled
        time.sleep(2.2)
        burst(6)      # 2 more served: the quota of 5 is spent
        time.sleep(1.2)
        burst(1)      # a token again, but no quota
        self.assertEqual(outcomes["allowed"], 5)
        self.assertGreater(outcomes["throttled"], 0)
        self.assertGreater(outcomes["quotaExceeded"], 0)

        overview = json.loads(self.send("GET", "/console/api/overview", cookie=cookie)[2])
        key_id = next(k["id"] for k in overview["keys"] if k["name"] == "burst")
        for query in (f"planId=burstplan&keyId={key_id}", "planId=burstplan"):
            status, _, body = self.send("GET", f"/console/api/recent?{query}", cookie=cookie)
            self.assertEqual(status, 200)
            minutes = json.loads(body)["minutes"]
            self.assertEqual(len(minutes), 60)
            self.assertEqual(minutes[1]["start"] - minutes[0]["start"], 60)
            self.assertLessEqual(minutes[-1]["seconds"], 60)
            self.assertLessEqual(minutes[-1]["start"], time.time())
            charted = {name: sum(m[name] for m in minutes) for name in outcomes}
            self.assertEqual(charted, outcomes, query)
        self.assertEqual(self.send("GET", "/console/api/recent?keyId=x", cookie=cookie)[0], 400)
        self.assertEqual(self.send("GET", "/console/api/recent?planId=burstplan&keyId=", cookie=cookie)[0], 400)
        self.assertEqual(self.send("GET", "/console/api/recent?planId=burstplan")[0], 401)


class ConsoleSignInLimitTest(unittest.TestCase):
    def test_sign_in_attempts_are_limited(self):
        workdir = tempfile.mkdtemp(prefix="tollgate-it-console-limit-")
        self.addCleanup(shutil.rmtree, workdir, True)
        gw = Gateway(workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None, "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        gw.start()
        self.addCleanup(gw.stop)
        statuses = []
        for _ in range(10):
            conn = http.client.HTTPConnection(HOST, gw.admin_port, timeout=10)
            conn.request("POST", "/console/session", body="access_key_id=a&secret_access_key=b",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            statuses.append(conn.getresponse().status)
            conn.close()
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertIn(429, statuses[5:])


if __name__ == "__main__":
    unittest.main()
