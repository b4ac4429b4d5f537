#!/usr/bin/env python3
"""Integration tests for tollgate's data plane and `tollgate apply`.

Runs the real binary (env TOLLGATE_BIN, default /work/main/build/tollgate)
against the echo backend next to this file. Every server is started on
127.0.0.1 with ports chosen at run time and its own temporary data dir, and
stopped at the end of its test class.

    python3 tests/integration/test_gateway.py [-v]

Standard library only. No test asserts how long anything took; limits are
tested with tiny refill rates (one token per 100 s or slower) so that no
token comes back while a test runs.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from harness import (FORBIDDEN, HOST, LIMIT_EXCEEDED, MISSING_TOKEN, RELOAD_TIMEOUT_S, TINY,
                     TOLLGATE_BIN, TOO_MANY, Backend, Gateway, free_port, metric, refusing_port, run_apply,
                     utc_seconds_to_midnight, wait_until)

POLICY_RE = re.compile(r'^"(method|key|quota|stage|account)";q=(\d+);w=(\d+)$')
STATE_RE = re.compile(r'^"(method|key|quota|stage|account)";r=(\d+);t=(\d+)$')


# ---------------------------------------------------------------- helpers

def key_value(name):
    """A valid (20-128 chars) and unique API key value for a key name."""
    return f"{name}-value-0123456789abcdef"


class GatewayTestCase(unittest.TestCase):
    """Assertion helpers shared by the test classes."""

    gw = None

    @classmethod
    def serve_declaration(cls, prefix, declaration):
        """Starts a backend and a gateway serving declaration(backend_port) for the class."""
        cls.workdir = tempfile.mkdtemp(prefix=prefix)
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir)
        cls.gw.apply(declaration(cls.backend.port))
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    def assertRefusal(self, res, status, body, error_type):
        self.assertEqual(res.status, status, res)
        self.assertEqual(res.headers.get("Content-Type"), "application/json", res)
        self.assertEqual(res.json(), body, res)
        self.assertEqual(res.headers.get("x-amzn-ErrorType"), error_type, res)

    def assertForbidden(self, res):
        self.assertRefusal(res, 403, FORBIDDEN, "ForbiddenException")

    def assertMissingToken(self, res):
        self.assertRefusal(res, 403, MISSING_TOKEN, "MissingAuthenticationTokenException")

    def assertThrottled(self, res, policy=None):
        self.assertRefusal(res, 429, TOO_MANY, "TooManyRequestsException")
        retry = res.headers.get("Retry-After")
        self.assertIsNotNone(retry, res)
        self.assertRegex(retry, r"^\d+$")
        self.assertGreaterEqual(int(retry), 1, res)
        p, s = self.limit_fields(res)
        if policy:
            self.assertEqual(p[0], policy, res)
            self.assertEqual(s[0], policy, res)
        self.assertEqual(s[1], 0, f"a throttled response reports r=0: {res}")
        return p, s

    def assertQuotaExceeded(self, res, limit):
        self.assertRefusal(res, 429, LIMIT_EXCEEDED, "LimitExceededException")
        retry = res.headers.get("Retry-After")
        self.assertIsNotNone(retry, res)
        self.assertRegex(retry, r"^\d+$")
        self.assertGreater(int(retry), 0, res)
        self.assertLessEqual(int(retry), 86400, res)
        # Seconds to the next UTC midnight (a little slack for the clock read).
        expected = utc_seconds_to_midnight()
        self.assertLessEqual(abs(int(retry) - expected), 5, f"expected ~{expected:.0f}: {res}")
        self.assertEqual(res.headers.get("RateLimit-Policy"), f'"quota";q={limit};w=86400', res)
        p, s = self.limit_fields(res)
        self.assertEqual(s[0], "quota")
        self.assertEqual(s[1], 0, res)

    def assertAllowed(self, res, status=200):
        self.assertEqual(res.status, status, res)
        if status == 200 and res.headers.get("X-Mock") is None:
            self.assertEqual(res.headers.get("X-Backend"), "echo", res)

    def limit_fields(self, res):
        """(policy, q, w), (policy, r, t) from RateLimit-Policy and RateLimit."""
        policy = res.headers.get("RateLimit-Policy")
        state = res.headers.get("RateLimit")
        self.assertIsNotNone(policy, f"no RateLimit-Policy: {res}")
        self.assertIsNotNone(state, f"no RateLimit: {res}")
        pm, sm = POLICY_RE.match(policy), STATE_RE.match(state)
        self.assertIsNotNone(pm, f"bad RateLimit-Policy {policy!r}")
        self.assertIsNotNone(sm, f"bad RateLimit {state!r}")
        self.assertEqual(pm.group(1), sm.group(1), res)
        return ((pm.group(1), int(pm.group(2)), int(pm.group(3))),
                (sm.group(1), int(sm.group(2)), int(sm.group(3))))

    def count_until_refused(self, send, most=20):
        """Sends until the first non-2xx answer; returns (passed, refusal)."""
        for n in range(most):
            res = send()
            if res.status >= 300:
                return n, res
        self.fail(f"no refusal after {most} requests; last: {res}")


def proxy(backend_port, path, **extra):
    return {"type": "HTTP_PROXY", "uri": f"http://{HOST}:{backend_port}{path}", **extra}


def keyed(integration):
    return {"apiKeyRequired": True, "integration": integration}


def open_(integration):
    return {"integration": integration}


def plan(name, api, stages, keys, throttle=None, quota=None, method_throttle=None):
    p = {"name": name,
         "apiStages": [{"apiId": api, "stage": s, **({"throttle": method_throttle} if method_throttle else {})}
                       for s in stages],
         "apiKeys": keys}
    if throttle:
        p["throttle"] = {"rateLimit": throttle[0], "burstLimit": throttle[1]}
    if quota:
        p["quota"] = quota
    return p


def api_key(name, enabled=True):
    return {"name": name, "value": key_value(name), "enabled": enabled}


# ------------------------------------------------ main server (2 workers)

class GatewaySuite(GatewayTestCase):
    """One backend and one `tollgate serve --workers 2` for routing,
    forwarding, refusals and limits; every scenario has its own API, stage,
    plan and keys so that no bucket or quota is shared between tests."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-it-")
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, workers=2)
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.dead_socket = refusing_port()
        cls.addClassCleanup(cls.dead_socket.close)
        cls.dead_port = cls.dead_socket.getsockname()[1]
        cls.apply_result = cls.gw.apply(cls.declaration())
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    @classmethod
    def declaration(cls):
        b = cls.backend.port
        m = lambda burst: {"throttlingRateLimit": TINY, "throttlingBurstLimit": burst}  # noqa: E731
        apis = [
            {"id": "main01", "name": "main",
             "resources": {
                 "/": {"GET": open_({"type": "MOCK", "statusCode": 200, "body": '{"root": true}',
                                     "headers": {"X-Mock": "root"}})},
                 "/pets": {"GET": keyed(proxy(b, "/pets")), "POST": keyed(proxy(b, "/pets"))},
                 "/pets/{petId}": {"ANY": keyed(proxy(b, "/pets/{petId}"))},
                 "/pets/{petId}/toys/{toyId}": {"GET": keyed(proxy(b, "/p/{petId}/t/{toyId}"))},
                 "/files/{proxy+}": {"ANY": open_(proxy(b, "/static/{proxy}", timeoutInMillis=1000))},
                 "/open": {"ANY": open_(proxy(b, "/open"))},
                 "/mock": {"GET": open_({"type": "MOCK", "statusCode": 201, "body": '{"mocked": true}',
                                         "headers": {"X-Mock": "yes"}})},
                 "/dead": {"GET": open_(proxy(cls.dead_port, "/dead", timeoutInMillis=2000))},
                 "/slow": {"GET": open_(proxy(b, "/__sleep", timeoutInMillis=300))},
             },
             "stages": [{"stageName": "prod"}, {"stageName": "beta"}]},
            # plan throttle, per key
            {"id": "thr01", "name": "thr", "resources": {"/t": {"GET": keyed(proxy(b, "/t"))}},
             "stages": [{"stageName": "prod"}]},
            # plan throttle shared by two stages
            {"id": "shr01", "name": "shr", "resources": {"/s": {"GET": keyed(proxy(b, "/s"))}},
             "stages": [{"stageName": "prod"}, {"stageName": "beta"}]},
            # per-method plan throttle
            {"id": "mth01", "name": "mth",
             "resources": {"/pets": {"GET": keyed(proxy(b, "/pets")), "POST": keyed(proxy(b, "/pets"))}},
             "stages": [{"stageName": "prod"}]},
            # stage methodSettings
            {"id": "stg01", "name": "stg",
             "resources": {"/limited": {"GET": open_(proxy(b, "/limited"))},
                           "/keyed": {"GET": keyed(proxy(b, "/keyed"))},
                           "/wild": {"GET": open_(proxy(b, "/wild"))},
                           "/wild2": {"GET": open_(proxy(b, "/wild2"))}},
             "stages": [{"stageName": "prod", "methodSettings": {
                 "~1limited/GET": m(2), "~1keyed/GET": m(2), "*/*": m(3)}}]},
            # quotas
            {"id": "quo01", "name": "quo", "resources": {"/q": {"GET": keyed(proxy(b, "/q"))}},
             "stages": [{"stageName": "prod"}]},
            # a throttled request does not use quota (plan throttle removed later)
            {"id": "nq01", "name": "nq", "resources": {"/n": {"GET": keyed(proxy(b, "/n"))}},
             "stages": [{"stageName": "prod"}]},
            # same, plan throttle raised later
            {"id": "nr01", "name": "nr", "resources": {"/n": {"GET": keyed(proxy(b, "/n"))}},
             "stages": [{"stageName": "prod"}]},
            # a request throttled by the stage gives its quota back
            {"id": "sq01", "name": "sq", "resources": cls.sq_resources(),
             "stages": [{"stageName": "prod", "methodSettings": {"~1g/GET": m(2)}}]},
            # RateLimit headers on allowed responses
            {"id": "rl01", "name": "rl", "resources": {"/r": {"GET": keyed(proxy(b, "/r"))}},
             "stages": [{"stageName": "prod"}, {"stageName": "beta"}]},
            # changes applied while serving
            {"id": "rel01", "name": "rel", "resources": {"/x": {"GET": keyed(proxy(b, "/x"))}},
             "stages": [{"stageName": "prod"}]},
        ]
        keys = [api_key(n) for n in (
            "main-k1", "main-beta-only", "main-orphan", "thr-a", "thr-b", "shr-a", "mth-a",
            "stg-a", "stg-b", "quo-a", "quo-b", "nq-a", "nr-a", "sq-a", "rl-a", "rl-b", "rel-a")]
        keys.append(api_key("main-disabled", enabled=False))
        plans = [
            plan("main-plan", "main01", ["prod"], ["main-k1", "main-disabled"]),
            plan("main-beta-plan", "main01", ["beta"], ["main-beta-only"]),
            plan("thr-plan", "thr01", ["prod"], ["thr-a", "thr-b"], throttle=(TINY, 3)),
            plan("shr-plan", "shr01", ["prod", "beta"], ["shr-a"], throttle=(TINY, 3)),
            plan("mth-plan", "mth01", ["prod"], ["mth-a"], throttle=(TINY, 50),
                 method_throttle={"/pets/GET": {"rateLimit": 0.001, "burstLimit": 1}}),
            plan("stg-plan", "stg01", ["prod"], ["stg-a", "stg-b"]),
            plan("quo-plan", "quo01", ["prod"], ["quo-a"], quota={"limit": 3, "period": "DAY"}),
            plan("quo-off-plan", "quo01", ["prod"], ["quo-b"],
                 quota={"limit": 5, "offset": 2, "period": "DAY"}),
            cls.nq_plan(throttle=(TINY, 2)),
            cls.nr_plan(throttle=(TINY, 2)),
            plan("sq-plan", "sq01", ["prod"], ["sq-a"], quota={"limit": 3, "period": "DAY"}),
            plan("rl-plan", "rl01", ["prod"], ["rl-a"], throttle=(TINY, 5),
                 quota={"limit": 2, "period": "DAY"}),
            plan("rl2-plan", "rl01", ["beta"], ["rl-b"], throttle=(TINY, 2),
                 quota={"limit": 100, "period": "DAY"}),
            plan("rel-plan", "rel01", ["prod"], ["rel-a"]),
        ]
        return {"apis": apis, "apiKeys": keys, "usagePlans": plans}

    @classmethod
    def sq_resources(cls):
        return {"/g": {"GET": keyed(proxy(cls.backend.port, "/g"))}}

    @staticmethod
    def nq_plan(throttle=None):
        return plan("nq-plan", "nq01", ["prod"], ["nq-a"], throttle=throttle,
                    quota={"limit": 5, "period": "DAY"})

    @staticmethod
    def nr_plan(throttle=None):
        return plan("nr-plan", "nr01", ["prod"], ["nr-a"], throttle=throttle,
                    quota={"limit": 5, "period": "DAY"})

    def k(self, name):
        return key_value(name)

    # --- setup sanity

    def test_apply_output_and_workers(self):
        out = self.apply_result.stdout
        self.assertIn("created rest api main (id main01)", out)
        self.assertRegex(out, r"(?m)^\d+ change\(s\) applied$")
        self.assertIn(f"tollgate: data plane on http://{HOST}:{self.gw.port} (2 workers)", self.gw.output())
        health = self.gw.health()
        self.assertEqual(health["status"], "ok")
        self.assertGreater(health["catalogVersion"], 0)
        self.assertGreaterEqual(health["apiKeys"], 18)
        for name in ("allowed", "throttled", "quota_exceeded", "forbidden", "missing_token", "upstream_error"):
            self.assertIn(name, health["outcomes"])

    # --- 1. invocation styles

    def test_path_style_and_host_style_route_the_same(self):
        for host_style in (False, True):
            with self.subTest(host_style=host_style):
                res = self.gw.request("GET", "main01", "prod", "/pets/42?x=1", key=self.k("main-k1"),
                                      host_style=host_style)
                self.assertAllowed(res)
                echo = res.json()
                self.assertEqual(echo["path"], "/pets/42")
                self.assertEqual(echo["query"], "x=1")
                res = self.gw.request("GET", "main01", "prod", "/mock", host_style=host_style)
                self.assertEqual(res.status, 201, res)
                res = self.gw.request("GET", "main01", "prod", "/nope", host_style=host_style)
                self.assertMissingToken(res)
                res = self.gw.request("GET", "main01", "nostage", "/pets", key=self.k("main-k1"),
                                      host_style=host_style)
                self.assertForbidden(res)

    # --- 2. routing

    def test_literal_resource(self):
        res = self.gw.request("GET", "main01", "prod", "/pets", key=self.k("main-k1"))
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/pets")
        self.assertEqual(res.json()["method"], "GET")

    def test_path_params_reach_backend(self):
        res = self.gw.request("GET", "main01", "prod", "/pets/7/toys/ball", key=self.k("main-k1"))
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/p/7/t/ball")

    def test_greedy_proxy_with_several_segments(self):
        res = self.gw.request("GET", "main01", "prod", "/files/a/b/c.txt")
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/static/a/b/c.txt")
        res = self.gw.request("GET", "main01", "prod", "/files/one")
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/static/one")

    def test_any_method_answers_get_post_delete(self):
        for method in ("GET", "POST", "DELETE", "PUT", "PATCH"):
            with self.subTest(method=method):
                res = self.gw.request(method, "main01", "prod", "/pets/9", key=self.k("main-k1"),
                                      body=b"" if method in ("POST", "PUT", "PATCH") else None)
                self.assertAllowed(res)
                self.assertEqual(res.json()["method"], method)
                self.assertEqual(res.json()["path"], "/pets/9")

    def test_requests_and_answers_go_in_batches(self):
        # Each proxied request is two sends: to the backend, and the answer.
        sends = metric(self.gw, "tollgate_batched_sends_total")
        for _ in range(5):
            self.assertAllowed(self.gw.request("GET", "main01", "prod", "/files/a/b/c.txt"))
        self.assertGreaterEqual(metric(self.gw, "tollgate_batched_sends_total") - sends, 10)
        self.assertGreaterEqual(metric(self.gw, "tollgate_send_batches_total"), 1)
        self.assertGreaterEqual(metric(self.gw, "tollgate_batched_sends_unfinished_total"), 0)

    def test_root_resource(self):
        for path in ("/", ""):
            for host_style in (False, True):
                with self.subTest(path=path, host_style=host_style):
                    res = self.gw.request("GET", "main01", "prod", path, host_style=host_style)
                    self.assertEqual(res.status, 200, res)
                    self.assertEqual(res.json(), {"root": True})
                    self.assertEqual(res.headers.get("X-Mock"), "root")

    def test_trailing_slash_tolerated(self):
        res = self.gw.request("GET", "main01", "prod", "/pets/", key=self.k("main-k1"))
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/pets")
        res = self.gw.request("GET", "main01", "prod", "/mock/")
        self.assertEqual(res.status, 201, res)

    def test_mock_answers_as_declared(self):
        res = self.gw.request("GET", "main01", "prod", "/mock")
        self.assertEqual(res.status, 201, res)
        self.assertEqual(res.json(), {"mocked": True})
        self.assertEqual(res.headers.get("X-Mock"), "yes")
        self.assertEqual(res.headers.get("Content-Type"), "application/json")
        self.assertIsNone(res.headers.get("X-Backend"))

    # --- 3. forwarding

    def test_forwards_method_path_query_headers(self):
        res = self.gw.request("GET", "main01", "prod", "/pets/5?color=red&size=big",
                              key=self.k("main-k1"), headers={"X-Custom": "hello", "Accept": "text/plain"})
        self.assertAllowed(res)
        echo = res.json()
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["path"], "/pets/5")
        self.assertEqual(echo["query"], "color=red&size=big")
        self.assertEqual(echo["headers"].get("x-custom"), "hello")
        self.assertEqual(echo["headers"].get("accept"), "text/plain")
        self.assertEqual(echo["headers"].get("x-api-key"), self.k("main-k1"))
        self.assertEqual(echo["headers"].get("host"), f"{HOST}:{self.backend.port}")
        self.assertEqual(res.headers.get("Content-Type"), "application/json")

    def test_forwards_query_on_greedy_route(self):
        res = self.gw.request("GET", "main01", "prod", "/files/x/y?a=1&b=2")
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/static/x/y")
        self.assertEqual(res.json()["query"], "a=1&b=2")

    def test_forwards_body_of_post_and_put(self):
        for method in ("POST", "PUT"):
            with self.subTest(method=method):
                body = json.dumps({"name": "rex", "method": method}).encode()
                res = self.gw.request(method, "main01", "prod", "/pets/3", key=self.k("main-k1"),
                                      headers={"Content-Type": "application/json"}, body=body)
                self.assertAllowed(res)
                echo = res.json()
                self.assertEqual(echo["method"], method)
                self.assertEqual(echo["body"], body.decode())
                self.assertEqual(echo["headers"].get("content-type"), "application/json")
        res = self.gw.request("POST", "main01", "prod", "/pets", key=self.k("main-k1"), body=b"plain text")
        self.assertAllowed(res)
        self.assertEqual(res.json()["body"], "plain text")

    # --- 4. refusals

    def test_missing_key_forbidden(self):
        self.assertForbidden(self.gw.request("GET", "main01", "prod", "/pets"))

    def test_unknown_key_forbidden(self):
        self.assertForbidden(self.gw.request("GET", "main01", "prod", "/pets", key=key_value("nobody")))

    def test_disabled_key_forbidden(self):
        self.assertForbidden(self.gw.request("GET", "main01", "prod", "/pets", key=self.k("main-disabled")))

    def test_key_without_plan_forbidden(self):
        self.assertForbidden(self.gw.request("GET", "main01", "prod", "/pets", key=self.k("main-orphan")))

    def test_key_in_plan_for_other_stage_forbidden(self):
        self.assertForbidden(self.gw.request("GET", "main01", "prod", "/pets", key=self.k("main-beta-only")))
        # ... and it does work on the stage its plan covers.
        self.assertAllowed(self.gw.request("GET", "main01", "beta", "/pets", key=self.k("main-beta-only")))
        # a prod key is refused on beta.
        self.assertForbidden(self.gw.request("GET", "main01", "beta", "/pets", key=self.k("main-k1")))

    def test_key_header_name_case_insensitive(self):
        for header in ("x-api-key", "X-API-Key", "X-Api-Key", "X-API-KEY"):
            with self.subTest(header=header):
                res = self.gw.request("GET", "main01", "prod", "/pets", key=self.k("main-k1"), key_header=header)
                self.assertAllowed(res)

    def test_unknown_resource_missing_token(self):
        self.assertMissingToken(self.gw.request("GET", "main01", "prod", "/unknown"))
        self.assertMissingToken(self.gw.request("GET", "main01", "prod", "/pets/1/2", key=self.k("main-k1")))
        self.assertMissingToken(self.gw.request("GET", "main01", "prod", "/unknown", key=self.k("main-k1")))

    def test_unknown_method_missing_token(self):
        self.assertMissingToken(self.gw.request("DELETE", "main01", "prod", "/pets", key=self.k("main-k1")))
        self.assertMissingToken(self.gw.request("POST", "main01", "prod", "/mock"))

    def test_unknown_stage_forbidden(self):
        self.assertForbidden(self.gw.request("GET", "main01", "staging", "/pets", key=self.k("main-k1")))
        self.assertForbidden(self.gw.request("GET", "main01", "staging", "/open"))

    def test_no_key_required_passes_without_or_with_unknown_key(self):
        self.assertAllowed(self.gw.request("GET", "main01", "prod", "/open"))
        res = self.gw.request("POST", "main01", "prod", "/open", key=key_value("nobody"), body=b"x")
        self.assertAllowed(res)
        self.assertEqual(res.json()["method"], "POST")
        self.assertAllowed(self.gw.request("GET", "main01", "prod", "/open", key=self.k("main-disabled")))

    def test_backend_unreachable_502(self):
        res = self.gw.request("GET", "main01", "prod", "/dead")
        self.assertEqual(res.status, 502, res)
        self.assertEqual(res.headers.get("Content-Type"), "application/json")
        body = res.json()
        self.assertIsInstance(body.get("message"), str, res)
        self.assertTrue(body["message"], res)

    def test_backend_timeout_504(self):
        res = self.gw.request("GET", "main01", "prod", "/slow?ms=2000")
        self.assertEqual(res.status, 504, res)
        self.assertEqual(res.headers.get("Content-Type"), "application/json")
        self.assertEqual(res.json(), {"message": "Endpoint request timed out"})
        # a quick answer on the same route still works.
        res = self.gw.request("GET", "main01", "prod", "/slow?ms=0")
        self.assertAllowed(res)
        self.assertEqual(res.json()["path"], "/__sleep")

    # --- 5. RateLimit fields on allowed responses

    def test_allowed_response_reports_tightest_limit(self):
        # quota 2/DAY beats a burst of 5.
        res = self.gw.request("GET", "rl01", "prod", "/r", key=self.k("rl-a"))
        self.assertAllowed(res)
        self.assertEqual(res.headers.get("RateLimit-Policy"), '"quota";q=2;w=86400')
        (_, _, _), (_, r, t) = self.limit_fields(res)
        self.assertEqual(r, 1)
        self.assertGreater(t, 0)
        self.assertLessEqual(t, 86400)
        res = self.gw.request("GET", "rl01", "prod", "/r", key=self.k("rl-a"))
        self.assertAllowed(res)
        self.assertEqual(self.limit_fields(res)[1][:2], ("quota", 0))
        self.assertQuotaExceeded(self.gw.request("GET", "rl01", "prod", "/r", key=self.k("rl-a")), 2)

    def test_allowed_response_reports_key_throttle_when_tightest(self):
        # burst 2 beats a quota of 100.
        res = self.gw.request("GET", "rl01", "beta", "/r", key=self.k("rl-b"))
        self.assertAllowed(res)
        (p, q, w), (p2, r, t) = self.limit_fields(res)
        self.assertEqual((p, q, r), ("key", 2, 1))
        self.assertGreaterEqual(w, 1)

    # --- 6. limits

    def test_plan_throttle_burst_then_429(self):
        send = lambda: self.gw.request("GET", "thr01", "prod", "/t", key=self.k("thr-a"))  # noqa: E731
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 3)
        (policy, q, w), _ = self.assertThrottled(refusal, "key")
        self.assertEqual(q, 3)
        self.assertThrottled(send(), "key")
        # a second key of the same plan has its own bucket.
        send_b = lambda: self.gw.request("GET", "thr01", "prod", "/t", key=self.k("thr-b"))  # noqa: E731
        passed_b, refusal_b = self.count_until_refused(send_b)
        self.assertEqual(passed_b, 3)
        self.assertThrottled(refusal_b, "key")

    def test_plan_throttle_shared_across_plan_stages(self):
        key = self.k("shr-a")
        self.assertAllowed(self.gw.request("GET", "shr01", "prod", "/s", key=key))
        self.assertAllowed(self.gw.request("GET", "shr01", "beta", "/s", key=key))
        self.assertAllowed(self.gw.request("GET", "shr01", "prod", "/s", key=key))
        self.assertThrottled(self.gw.request("GET", "shr01", "beta", "/s", key=key), "key")
        self.assertThrottled(self.gw.request("GET", "shr01", "prod", "/s", key=key), "key")

    def test_per_method_plan_throttle(self):
        key = self.k("mth-a")
        res = self.gw.request("GET", "mth01", "prod", "/pets", key=key)
        self.assertAllowed(res)
        self.assertEqual(self.limit_fields(res)[1][:2], ("method", 0))
        _, (policy, r, t) = self.assertThrottled(self.gw.request("GET", "mth01", "prod", "/pets", key=key),
                                                  "method")
        self.assertEqual(res.headers.get("RateLimit-Policy")[:len('"method";q=1;')], '"method";q=1;')
        for _ in range(4):
            self.assertAllowed(self.gw.request("POST", "mth01", "prod", "/pets", key=key, body=b"{}"))
        self.assertThrottled(self.gw.request("GET", "mth01", "prod", "/pets", key=key), "method")

    def test_stage_method_setting_applies_to_all_callers(self):
        # no key required: callers without key, with an unknown key, with a real key all share it.
        self.assertAllowed(self.gw.request("GET", "stg01", "prod", "/limited"))
        self.assertAllowed(self.gw.request("GET", "stg01", "prod", "/limited", key=key_value("nobody")))
        self.assertThrottled(self.gw.request("GET", "stg01", "prod", "/limited"), "stage")
        self.assertThrottled(self.gw.request("GET", "stg01", "prod", "/limited", key=self.k("stg-a")), "stage")

    def test_stage_method_setting_applies_across_keys(self):
        self.assertAllowed(self.gw.request("GET", "stg01", "prod", "/keyed", key=self.k("stg-a")))
        self.assertAllowed(self.gw.request("GET", "stg01", "prod", "/keyed", key=self.k("stg-b")))
        res = self.gw.request("GET", "stg01", "prod", "/keyed", key=self.k("stg-a"))
        (_, q, _), _ = self.assertThrottled(res, "stage")
        self.assertEqual(q, 2)
        self.assertThrottled(self.gw.request("GET", "stg01", "prod", "/keyed", key=self.k("stg-b")), "stage")
        # still 403 for a bad key: the key check comes before the stage throttle.
        self.assertForbidden(self.gw.request("GET", "stg01", "prod", "/keyed", key=key_value("nobody")))

    def test_stage_star_setting(self):
        # "*/*" is the default limit of each method: every method has its own bucket.
        for path in ("/wild", "/wild2"):
            with self.subTest(path=path):
                send = lambda: self.gw.request("GET", "stg01", "prod", path)  # noqa: E731
                passed, refusal = self.count_until_refused(send)
                self.assertEqual(passed, 3)
                (_, q, _), _ = self.assertThrottled(refusal, "stage")
                self.assertEqual(q, 3)

    def test_quota_then_limit_exceeded(self):
        send = lambda: self.gw.request("GET", "quo01", "prod", "/q", key=self.k("quo-a"))  # noqa: E731
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 3)
        self.assertQuotaExceeded(refusal, 3)
        self.assertQuotaExceeded(send(), 3)

    def test_quota_offset_in_first_period(self):
        send = lambda: self.gw.request("GET", "quo01", "prod", "/q", key=self.k("quo-b"))  # noqa: E731
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 3)  # limit 5 - offset 2
        self.assertQuotaExceeded(refusal, 3)

    def _throttled_requests_keep_quota(self, api, key, replan):
        send = lambda: self.gw.request("GET", api, "prod", "/n", key=self.k(key))  # noqa: E731
        self.assertAllowed(send())
        self.assertAllowed(send())
        for _ in range(4):
            self.assertThrottled(send(), "key")
        self.gw.apply_and_wait({"usagePlans": [replan]})
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 3, f"quota 5, 2 used before: {refusal}")
        self.assertQuotaExceeded(refusal, 5)

    def test_throttled_requests_do_not_use_quota(self):
        # burst 2, quota 5: 2 pass, 4 throttled; the throttle is then removed.
        self._throttled_requests_keep_quota("nq01", "nq-a", self.nq_plan(throttle=None))

    # A raised throttle takes effect at once: the changed bucket starts full.
    def test_throttled_requests_do_not_use_quota_after_raising_throttle(self):
        self._throttled_requests_keep_quota("nr01", "nr-a", self.nr_plan(throttle=(1000, 1000)))

    def test_stage_throttled_request_gives_quota_back(self):
        # The quota step comes before the stage step; a stage refusal returns it.
        send = lambda: self.gw.request("GET", "sq01", "prod", "/g", key=self.k("sq-a"))  # noqa: E731
        self.assertAllowed(send())
        self.assertAllowed(send())
        for _ in range(3):
            self.assertThrottled(send(), "stage")
        self.gw.apply_and_wait({"apis": [{"id": "sq01", "name": "sq", "resources": self.sq_resources(),
                                          "stages": [{"stageName": "prod"}]}]})
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 1, refusal)
        self.assertQuotaExceeded(refusal, 3)

    # --- 7. changes while serving

    def test_apply_while_serving_adds_and_disables_keys(self):
        new_key = key_value("rel-new")
        send = lambda k: self.gw.request("GET", "rel01", "prod", "/x", key=k)  # noqa: E731
        self.assertAllowed(send(self.k("rel-a")))
        self.assertForbidden(send(new_key))
        keys_before = self.gw.health()["apiKeys"]
        result = self.gw.apply({"apiKeys": [api_key("rel-new")],
                                "usagePlans": [plan("rel-plan", "rel01", ["prod"], ["rel-a", "rel-new"])]})
        self.assertIn("created api key rel-new", result.stdout)
        res = wait_until(lambda: (r := send(new_key)).status == 200 and r, RELOAD_TIMEOUT_S, 0.1)
        self.assertTrue(res, f"new key not served within {RELOAD_TIMEOUT_S} s: {send(new_key)}")
        self.assertAllowed(res)
        self.assertEqual(self.gw.health()["apiKeys"], keys_before + 1)

        result = self.gw.apply({"apiKeys": [api_key("rel-a", enabled=False)]})
        self.assertIn("updated api key rel-a", result.stdout)
        res = wait_until(lambda: (r := send(self.k("rel-a"))).status == 403 and r, RELOAD_TIMEOUT_S, 0.1)
        self.assertTrue(res, f"disabled key still served after {RELOAD_TIMEOUT_S} s")
        self.assertForbidden(res)
        self.assertAllowed(send(new_key))

    def test_health_counts_outcomes(self):
        before = self.gw.health()["outcomes"]
        self.gw.request("GET", "main01", "prod", "/nope")
        self.gw.request("GET", "main01", "prod", "/pets")
        self.gw.request("GET", "main01", "prod", "/mock")
        after = self.gw.health()["outcomes"]
        self.assertGreaterEqual(after["missing_token"], before["missing_token"] + 1)
        self.assertGreaterEqual(after["forbidden"], before["forbidden"] + 1)
        self.assertGreaterEqual(after["allowed"], before["allowed"] + 1)


# ------------------------------------------------------ account throttle

class AccountThrottleTest(GatewayTestCase):
    """An account throttle with a small burst limits every request of the server."""

    @classmethod
    def setUpClass(cls):
        cls.serve_declaration("tollgate-it-acct-", lambda b: {
            "account": {"throttle": {"rateLimit": TINY, "burstLimit": 3}},
            "apis": [
                {"id": "acc01", "name": "acc",
                 "resources": {"/open": {"GET": open_(proxy(b, "/open"))},
                               "/keyed": {"GET": keyed(proxy(b, "/keyed"))},
                               "/mock": {"GET": open_({"type": "MOCK", "statusCode": 200, "body": "{}"})}},
                 "stages": [{"stageName": "prod"}]},
                {"id": "acc02", "name": "acc2",
                 "resources": {"/other": {"GET": open_(proxy(b, "/other"))}},
                 "stages": [{"stageName": "live"}]},
            ],
            "apiKeys": [api_key("acc-a")],
            "usagePlans": [plan("acc-plan", "acc01", ["prod"], ["acc-a"], throttle=(1000, 1000))],
        })

    def test_account_throttle_applies_to_everything(self):
        self.assertAllowed(self.gw.request("GET", "acc01", "prod", "/open"))
        self.assertAllowed(self.gw.request("GET", "acc01", "prod", "/keyed", key=key_value("acc-a")))
        res = self.gw.request("GET", "acc02", "live", "/other")
        self.assertAllowed(res)
        self.assertEqual(self.limit_fields(res)[1][:2], ("account", 0))
        (_, q, _), _ = self.assertThrottled(self.gw.request("GET", "acc01", "prod", "/open"), "account")
        self.assertEqual(q, 3)
        self.assertThrottled(self.gw.request("GET", "acc01", "prod", "/keyed", key=key_value("acc-a")),
                             "account")
        self.assertThrottled(self.gw.request("GET", "acc01", "prod", "/mock"), "account")
        self.assertThrottled(self.gw.request("GET", "acc02", "live", "/other"), "account")
        # refusals before the limits are unchanged.
        self.assertForbidden(self.gw.request("GET", "acc01", "prod", "/keyed"))
        self.assertMissingToken(self.gw.request("GET", "acc01", "prod", "/nope"))


class HttpEdgesTest(GatewayTestCase):
    """HTTP details a proxy must get right: Expect, HEAD, bodiless statuses."""

    @classmethod
    def setUpClass(cls):
        cls.serve_declaration("tollgate-it-edges-", lambda b: {
            "apis": [{"id": "edge01", "name": "edge",
                      "resources": {"/echo": {"ANY": open_(proxy(b, "/echo"))},
                                    "/gone": {"DELETE": open_({"type": "MOCK", "statusCode": 204,
                                                               "body": "ignored"})}},
                      "stages": [{"stageName": "prod"}]}],
        })

    def test_expect_continue_is_not_forwarded(self):
        # The backend would answer Expect with an interim 100 Continue; the
        # gateway already holds the body, so it drops the header and the
        # client gets the final answer.
        body = b"x" * 5000
        res = self.gw.request("POST", "edge01", "prod", "/echo", body=body,
                              headers={"Expect": "100-continue", "Content-Length": str(len(body))})
        self.assertEqual(res.status, 200, res)
        echoed = res.json()
        self.assertNotIn("expect", echoed["headers"])
        self.assertEqual(len(echoed["body"]), 5000)
        # The pooled connection is still in step: the next answer is its own.
        again = self.gw.request("POST", "edge01", "prod", "/echo", body=b"second")
        self.assertEqual(again.json()["body"], "second")

    def test_head_has_headers_and_no_body(self):
        res = self.gw.request("HEAD", "edge01", "prod", "/echo")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.body, b"")
        self.assertEqual(self.gw.request("GET", "edge01", "prod", "/echo").status, 200)

    def test_mock_204_is_sent_without_a_body(self):
        res = self.gw.request("DELETE", "edge01", "prod", "/gone")
        self.assertEqual(res.status, 204)
        self.assertEqual(res.body, b"")
        self.assertIsNone(res.headers.get("Content-Length"))


# ---------------------------------------------------------- restart

class QuotaSurvivesRestartTest(GatewayTestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tollgate-it-restart-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.backend = Backend(self.workdir).start()
        self.addCleanup(self.backend.stop)
        self.gw = Gateway(self.workdir)
        self.gw.apply({
            "apis": [{"id": "rst01", "name": "rst",
                      "resources": {"/r": {"GET": keyed(proxy(self.backend.port, "/r"))}},
                      "stages": [{"stageName": "prod"}]}],
            "apiKeys": [api_key("rst-a")],
            "usagePlans": [plan("rst-plan", "rst01", ["prod"], ["rst-a"], quota={"limit": 5, "period": "DAY"})],
        })
        self.addCleanup(lambda: self.gw.stop(signal.SIGKILL))

    def test_quota_survives_restart(self):
        send = lambda: self.gw.request("GET", "rst01", "prod", "/r", key=key_value("rst-a"))  # noqa: E731
        self.gw.start()
        self.assertAllowed(send())
        self.assertAllowed(send())
        code = self.gw.stop(signal.SIGTERM)
        self.assertEqual(code, 0, f"exit code after SIGTERM; output:\n{self.gw.output()}")
        self.gw.start()
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 3, f"5 per day, 2 used before the restart; output:\n{self.gw.output()}")
        self.assertQuotaExceeded(refusal, 5)

    # Counts live in a memory-mapped counter file the kernel keeps when the
    # process dies, and the next start flushes them into the store.
    def test_quota_survives_kill_9(self):
        send = lambda: self.gw.request("GET", "rst01", "prod", "/r", key=key_value("rst-a"))  # noqa: E731
        self.gw.start()
        self.assertAllowed(send())
        self.assertAllowed(send())
        self.gw.stop(signal.SIGKILL)
        self.gw.start()
        passed, refusal = self.count_until_refused(send)
        self.assertEqual(passed, 3, f"5 per day, 2 used before the kill; output:\n{self.gw.output()}")
        self.assertQuotaExceeded(refusal, 5)


# ------------------------------------------------------ `tollgate apply`

PETSTORE_YAML = """\
account:
  throttle: {rateLimit: 10000, burstLimit: 5000}
apis:
  - id: petstore01
    name: petstore
    resources:
      /pets:
        GET:
          apiKeyRequired: true
          integration: {type: HTTP_PROXY, uri: "http://127.0.0.1:9/pets"}
      /pets/{petId}:
        ANY:
          apiKeyRequired: true
          integration: {type: HTTP_PROXY, uri: "http://127.0.0.1:9/pets/{petId}"}
      /files/{proxy+}:
        ANY:
          integration: {type: HTTP_PROXY, uri: "http://127.0.0.1:9/static/{proxy}", timeoutInMillis: 1000}
      /health:
        GET:
          integration: {type: MOCK, statusCode: 200, body: '{"ok": true}', headers: {X-Mock: "yes"}}
    stages:
      - stageName: prod
        methodSettings:
          "*/*": {throttlingRateLimit: 1000, throttlingBurstLimit: 500}
          "~1pets/GET": {throttlingRateLimit: 0.001, throttlingBurstLimit: 2}
      - stageName: beta
apiKeys:
  - name: alice
    value: alice-key-0123456789abcdef
    enabled: true
    customerId: c1
  - name: bob
    value: bob-key-0123456789abcdef
usagePlans:
  - name: gold
    throttle: {rateLimit: 5, burstLimit: 3}
    quota: {limit: 100, period: DAY, offset: 0}
    apiStages:
      - apiId: petstore01
        stage: prod
        throttle: {"/pets/GET": {rateLimit: 0.001, burstLimit: 1}}
    apiKeys: [alice]
"""


class ApplyTest(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tollgate-it-apply-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.data_dir = os.path.join(self.workdir, "data")

    def apply(self, text):
        return run_apply(text, self.data_dir, self.workdir)

    def assertRefused(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result)
        self.assertTrue(result.stderr.startswith("tollgate: "), result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_apply_is_idempotent(self):
        first = self.apply(PETSTORE_YAML)
        self.assertEqual(first.returncode, 0, first)
        self.assertIn("created rest api petstore (id petstore01)", first.stdout)
        self.assertIn("created api key alice", first.stdout)
        self.assertIn("created usage plan gold", first.stdout)
        self.assertRegex(first.stdout, r"(?m)^\d+ change\(s\) applied\n\Z")
        self.assertNotIn("no changes", first.stdout)
        second = self.apply(PETSTORE_YAML)
        self.assertEqual(second.returncode, 0, second)
        self.assertEqual(second.stdout.strip(), "no changes")

    def test_change_is_reported(self):
        self.assertEqual(self.apply(PETSTORE_YAML).returncode, 0)
        changed = self.apply(PETSTORE_YAML.replace("value: bob-key-0123456789abcdef",
                                                   "value: bob-key-0123456789abcdef\n    enabled: false"))
        self.assertEqual(changed.returncode, 0, changed)
        self.assertIn("updated api key bob", changed.stdout)
        self.assertIn("1 change(s) applied", changed.stdout)

    def test_key_in_two_plans_for_same_stage_refused(self):
        text = PETSTORE_YAML + """\
  - name: silver
    throttle: {rateLimit: 1, burstLimit: 1}
    apiStages:
      - {apiId: petstore, stage: prod}
    apiKeys: [alice]
"""
        self.assertRefused(self.apply(text), "only one usage plan per stage", "alice")
        # nothing was written: a valid apply afterwards creates everything.
        self.assertIn("created rest api petstore", self.apply(PETSTORE_YAML).stdout)

    def test_key_in_two_plans_for_different_stages_accepted(self):
        text = PETSTORE_YAML + """\
  - name: silver
    apiStages:
      - {apiId: petstore, stage: beta}
    apiKeys: [alice]
"""
        result = self.apply(text)
        self.assertEqual(result.returncode, 0, result)

    def test_duplicate_key_value_refused(self):
        text = PETSTORE_YAML.replace("value: bob-key-0123456789abcdef", "value: alice-key-0123456789abcdef")
        self.assertRefused(self.apply(text), "API Key already exists")

    def test_unknown_field_refused(self):
        text = PETSTORE_YAML.replace("    customerId: c1\n", "    customerId: c1\n    colour: red\n")
        self.assertRefused(self.apply(text), "colour")
        text = PETSTORE_YAML.replace("  - name: gold\n", "  - name: gold\n    priority: 1\n")
        self.assertRefused(self.apply(text), "priority")

    def test_bad_quota_period_refused(self):
        text = PETSTORE_YAML.replace("period: DAY", "period: YEAR")
        self.assertRefused(self.apply(text), "YEAR", "period")

    def test_short_key_value_refused(self):
        text = PETSTORE_YAML.replace("value: bob-key-0123456789abcdef", "value: abcde")
        self.assertRefused(self.apply(text), "value", "20")

    def test_unreadable_file_refused(self):
        result = subprocess.run([TOLLGATE_BIN, "apply", "-f", os.path.join(self.workdir, "missing.yaml"),
                                 "--data-dir", self.data_dir], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("missing.yaml", result.stderr)


if __name__ == "__main__":
    if not os.access(TOLLGATE_BIN, os.X_OK):
        sys.exit(f"tollgate binary not found or not executable: {TOLLGATE_BIN} (set TOLLGATE_BIN)")
    unittest.main(verbosity=2)
