#!/usr/bin/env python3
"""Integration tests for tollgate's management API, driven by the real AWS CLI.

The admin listener of `tollgate serve` speaks Amazon API Gateway's management
API (service `apigateway`, version 2015-07-09, rest-json; contract:
/work/shared/spec/aws-usage-plans.md). These tests run the Debian AWS CLI v2
(/usr/bin/aws) against it with `--endpoint-url`, check what the CLI prints
(JSON on stdout, `An error occurred (Code) ...` on stderr), and check the
effect of the changes on the data plane. The request-signing tests send raw
requests signed here with SigV4 (spec §8).

    TOLLGATE_BIN=build/tollgate python3 tests/integration/test_management_api.py [-v]

Standard library only. Fixtures that are not the subject of a test are built
with raw signed requests (fast); everything under test goes through the CLI.
Limits are tested with tiny refill rates so that no token comes back while a
test runs.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

from harness import (FORBIDDEN, CliError, HOST, LIMIT_EXCEEDED, TINY, TOLLGATE_BIN, TOO_MANY,
                     AdminClient, Backend, Gateway, amz_date, http_request, sigv4_headers,
                     utc_seconds_to_midnight, wait_until)

AWS = "/usr/bin/aws"
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDTOLLGATETEST0001"
SECRET_ACCESS_KEY = "tollgate-test-secret-0123456789abcdefABCD"
ACCOUNT_ID_RE = r"\d{12}"

PLAN_PATHS = ("/apiStages, /quota, /throttle, /productCode, "
              "/apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>, "
              "/apiStages/<apidId:stageName>/throttle")

# A new stage methodSettings entry (spec §9.6).
METHOD_SETTING_DEFAULTS = {
    "metricsEnabled": False, "loggingLevel": "OFF", "dataTraceEnabled": False, "throttlingBurstLimit": 5000,
    "throttlingRateLimit": 10000.0, "cachingEnabled": False, "cacheTtlInSeconds": 300,
    "cacheDataEncrypted": False, "requireAuthorizationForCacheControl": True,
    "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
}

CLI_CALLS = 0


def seg(text):
    """One path segment, percent-encoded as the AWS clients do."""
    return urllib.parse.quote(text, safe="")


# ------------------------------------------------------------------ AWS CLI

class AwsCli:
    """/usr/bin/aws against one admin port, isolated from any local AWS setup."""

    def __init__(self, port, workdir, access_key_id=ACCESS_KEY_ID, secret=SECRET_ACCESS_KEY):
        self.port = port
        nowhere = os.path.join(workdir, "no-such-aws-config")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update({
            "AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere, "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", "AWS_EC2_METADATA_DISABLED": "true",
        })

    def run(self, *args):
        global CLI_CALLS
        CLI_CALLS += 1
        cmd = [AWS, "--endpoint-url", f"http://{HOST}:{self.port}", "--region", REGION, "--output", "json",
               "apigateway", *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=60)

    def __call__(self, *args):
        """Runs a command that must succeed; its JSON output, or None when empty."""
        result = self.run(*args)
        if result.returncode != 0:
            raise AssertionError(f"aws apigateway {' '.join(args)} failed (exit {result.returncode}):\n"
                                 f"{result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else None

    def fail(self, *args):
        """Runs a command that must fail; the parsed error."""
        result = self.run(*args)
        if result.returncode == 0:
            raise AssertionError(f"aws apigateway {' '.join(args)} succeeded: {result.stdout}")
        return CliError(result)


def ops(*operations):
    """--patch-operations as JSON: ("replace", "/name", "x") or ("remove", "/quota")."""
    out = []
    for o in operations:
        item = {"op": o[0], "path": o[1]}
        if len(o) > 2:
            item["value"] = o[2]
        out.append(item)
    return ["--patch-operations", json.dumps(out)]


def utc_day(offset_days=0):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset_days * 86400))


def avoid_midnight(margin_s=90):
    """Usage tests read today's counters: do not straddle a UTC midnight."""
    left = utc_seconds_to_midnight()
    if left < margin_s:
        time.sleep(left + 2)


# ------------------------------------------------------------------ tests

class ManagementTestCase(unittest.TestCase):
    """One backend and one `tollgate serve` (credentials from the environment)
    for the class; each test builds its own APIs, keys and plans."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-mgmt-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": ACCESS_KEY_ID,
                                           "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY})
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)
        cls.cli = AwsCli(cls.gw.admin_port, cls.workdir)
        cls.admin = AdminClient(cls.gw.admin_port, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        # An API most usage-plan tests attach to: GET /pets (key required) and
        # GET /pets/{petId}, deployed to prod and beta.
        cls.fixture = cls.make_api("fixture", {"/pets": True, "/pets/{petId}": True},
                                   stages=("prod", "beta"))
        cls.api_id = cls.fixture["id"]

    # --- fixtures (raw signed requests)

    @classmethod
    def make_api(cls, name, methods, stages=()):
        """An API with a GET method (key required or not) per path, each
        proxied to the echo backend at the same path."""
        api = cls.admin("POST", "/restapis", {"name": name})
        api_id = api["id"]
        root = cls.admin("GET", f"/restapis/{api_id}/resources")["item"][0]
        ids = {"/": root["id"]}
        for path, key_required in methods.items():
            parent = "/"
            for part in path.strip("/").split("/"):
                here = (parent.rstrip("/") + "/" + part)
                if here not in ids:
                    r = cls.admin("POST", f"/restapis/{api_id}/resources/{ids[parent]}", {"pathPart": part})
                    ids[here] = r["id"]
                parent = here
            base = f"/restapis/{api_id}/resources/{ids[path]}/methods/GET"
            cls.admin("PUT", base, {"authorizationType": "NONE", "apiKeyRequired": key_required})
            cls.admin("PUT", base + "/integration",
                      {"type": "HTTP_PROXY", "httpMethod": "GET", "uri": f"http://{HOST}:{cls.backend.port}{path}"})
        for stage in stages:
            cls.admin("POST", f"/restapis/{api_id}/deployments", {"stageName": stage})
        return {"id": api_id, "resources": ids}

    def make_key(self, name, **extra):
        return self.admin("POST", "/apikeys", {"name": name, "enabled": True, **extra})

    def make_plan(self, name, stages=(), **extra):
        return self.admin("POST", "/usageplans",
                          {"name": name, "apiStages": [{"apiId": a, "stage": s} for a, s in stages], **extra})

    def add_plan_key(self, plan_id, key_id):
        return self.admin("POST", f"/usageplans/{plan_id}/keys", {"keyId": key_id, "keyType": "API_KEY"})

    # --- waiting for the data plane

    def log_count(self, text):
        return self.gw.output().count(text)

    # --- assertions

    def assertCliError(self, err, code, message=None, operation=None, regex=None, contains=None):
        self.assertNotEqual(err.returncode, 0, err)
        self.assertEqual(err.code, code, err)
        if operation:
            self.assertEqual(err.operation, operation, err)
        if message is not None:
            self.assertEqual(err.message, message, err)
        if regex is not None:
            self.assertRegex(err.message, regex)
        for fragment in contains or ():
            self.assertIn(fragment, err.message, err)
        self.assertIn(f"An error occurred ({code})", err.stderr)

    def assertRefusal(self, res, status, body, error_type):
        self.assertEqual(res.status, status, res)
        self.assertEqual(res.json(), body, res)
        self.assertEqual(res.headers.get("x-amzn-ErrorType"), error_type, res)

    def assertEcho(self, res, path):
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.headers.get("X-Backend"), "echo", res)
        self.assertEqual(res.json()["path"], path, res)


class ManagementApiTest(ManagementTestCase):

    # ---------------------------------------------------------- 1. REST APIs

    def test_rest_apis(self):
        cli = self.cli
        a = cli("create-rest-api", "--name", "ra-one", "--description", "first api", "--api-key-source", "HEADER")
        self.assertRegex(a["id"], r"^[a-z0-9]{10}$")
        self.assertEqual((a["name"], a["description"], a["apiKeySource"]), ("ra-one", "first api", "HEADER"))
        self.assertEqual(a["endpointConfiguration"], {"types": ["EDGE"]})
        self.assertIs(a["disableExecuteApiEndpoint"], False)
        self.assertRegex(a["createdDate"], r"^\d{4}-\d\d-\d\dT")  # epoch seconds on the wire, ISO in the CLI
        b = cli("create-rest-api", "--name", "ra-two", "--api-key-source", "AUTHORIZER")
        self.assertEqual(b["apiKeySource"], "AUTHORIZER")
        self.assertNotIn("description", b)
        self.assertEqual(cli("get-rest-api", "--rest-api-id", a["id"]), a)
        self.assertIsInstance(self.admin("GET", f"/restapis/{a['id']}")["createdDate"], int)

        # --page-size 1: the CLI follows `position` page by page and merges the items.
        pages_before = self.log_count("admin GET /restapis by")
        listed = cli("get-rest-apis", "--page-size", "1")["items"]
        ids = [x["id"] for x in listed]
        self.assertEqual(len(ids), len(set(ids)), ids)
        self.assertGreaterEqual(len(ids), 3)  # the fixture, ra-one, ra-two, and other tests' APIs
        self.assertTrue({a["id"], b["id"], self.api_id} <= set(ids), ids)
        self.assertEqual(len(self.admin("GET", "/restapis", query="limit=500")["item"]), len(ids))
        wait_until(lambda: self.log_count("admin GET /restapis by") - pages_before >= len(ids) + 1, 2.0)
        self.assertEqual(self.log_count("admin GET /restapis by") - pages_before, len(ids) + 1,
                         "one request per page plus the raw one")
        first = self.admin("GET", "/restapis", query="limit=1")
        self.assertEqual(len(first["item"]), 1)
        second = self.admin("GET", "/restapis", query="limit=1&position=" + seg(first["position"]))
        self.assertNotEqual(second["item"][0]["id"], first["item"][0]["id"])

        u = cli("update-rest-api", "--rest-api-id", a["id"], "--patch-operations",
                "op=replace,path=/name,value=ra-renamed", "op=replace,path=/description,value=changed")
        self.assertEqual((u["name"], u["description"]), ("ra-renamed", "changed"))
        err = cli.fail("update-rest-api", "--rest-api-id", a["id"], "--patch-operations",
                       "op=replace,path=/id,value=x")
        self.assertCliError(err, "BadRequestException", operation="UpdateRestApi",
                            message="Invalid patch path  '/id' specified for op 'replace'. "
                                    "Must be one of: [/name, /description, /version, /apiKeySource, "
                                    "/binaryMediaTypes/{type}, /minimumCompressionSize, /policy, "
                                    "/disableExecuteApiEndpoint, /endpointConfiguration/types/0, "
                                    "/endpointConfiguration/vpcEndpointIds, "
                                    "/endpointConfiguration/ipAddressType]")

        self.assertIsNone(cli("delete-rest-api", "--rest-api-id", b["id"]))
        err = cli.fail("get-rest-api", "--rest-api-id", b["id"])
        self.assertCliError(err, "NotFoundException", operation="GetRestApi",
                            regex=rf"^Invalid API identifier specified {ACCOUNT_ID_RE}:{b['id']}$")

    # ---------------------------------------------------------- 2. resources

    def test_resources(self):
        cli = self.cli
        api = cli("create-rest-api", "--name", "res-api")["id"]
        resources = cli("get-resources", "--rest-api-id", api)["items"]
        self.assertEqual(len(resources), 1, resources)
        self.assertEqual(resources[0]["path"], "/")
        root = resources[0]["id"]

        pets = cli("create-resource", "--rest-api-id", api, "--parent-id", root, "--path-part", "pets")
        self.assertRegex(pets["id"], r"^[a-z0-9]{6}$")
        self.assertEqual((pets["parentId"], pets["pathPart"], pets["path"]), (root, "pets", "/pets"))
        pet = cli("create-resource", "--rest-api-id", api, "--parent-id", pets["id"], "--path-part", "{petId}")
        self.assertEqual((pet["parentId"], pet["path"]), (pets["id"], "/pets/{petId}"))
        greedy = cli("create-resource", "--rest-api-id", api, "--parent-id", root, "--path-part", "{proxy+}")
        self.assertEqual(greedy["path"], "/{proxy+}")

        err = cli.fail("create-resource", "--rest-api-id", api, "--parent-id", root, "--path-part", "pets")
        self.assertCliError(err, "ConflictException", operation="CreateResource")
        err = cli.fail("create-resource", "--rest-api-id", api, "--parent-id", root, "--path-part", "a b")
        self.assertCliError(err, "BadRequestException", contains=["a b"])

        got = cli("get-resource", "--rest-api-id", api, "--resource-id", pet["id"])
        self.assertEqual((got["id"], got["parentId"], got["pathPart"], got["path"]),
                         (pet["id"], pets["id"], "{petId}", "/pets/{petId}"))

        self.assertIsNone(cli("delete-resource", "--rest-api-id", api, "--resource-id", pets["id"]))
        err = cli.fail("get-resource", "--rest-api-id", api, "--resource-id", pet["id"])
        self.assertCliError(err, "NotFoundException", message="Invalid Resource identifier specified")
        left = cli("get-resources", "--rest-api-id", api)["items"]
        self.assertEqual(sorted(r["path"] for r in left), ["/", "/{proxy+}"])

    # ---------------------------------------------------------- 3. methods and integrations

    def test_methods_and_integrations(self):
        cli = self.cli
        api = self.make_api("mi-api", {})
        api_id = api["id"]
        root = api["resources"]["/"]
        items = self.admin("POST", f"/restapis/{api_id}/resources/{root}", {"pathPart": "items"})["id"]
        mock = self.admin("POST", f"/restapis/{api_id}/resources/{root}", {"pathPart": "mock"})["id"]
        self.admin("PUT", f"/restapis/{api_id}/resources/{mock}/methods/GET", {"authorizationType": "NONE"})
        at = ["--rest-api-id", api_id, "--resource-id", items]

        m = cli("put-method", *at, "--http-method", "GET", "--authorization-type", "NONE", "--api-key-required")
        self.assertEqual(m, {"httpMethod": "GET", "authorizationType": "NONE", "apiKeyRequired": True})
        p = cli("put-method", *at, "--http-method", "POST", "--authorization-type", "NONE",
                "--no-api-key-required")
        self.assertIs(p["apiKeyRequired"], False)
        self.assertIs(cli("get-method", *at, "--http-method", "GET")["apiKeyRequired"], True)
        u = cli("update-method", *at, "--http-method", "GET", "--patch-operations",
                "op=replace,path=/apiKeyRequired,value=false")
        self.assertIs(u["apiKeyRequired"], False)
        self.assertEqual(cli("put-method-response", *at, "--http-method", "GET", "--status-code", "200"),
                         {"statusCode": "200"})

        uri = f"http://{HOST}:{self.backend.port}/pets"
        err = cli.fail("put-integration", *at, "--http-method", "GET", "--type", "HTTP_PROXY", "--uri", uri)
        self.assertCliError(err, "BadRequestException", operation="PutIntegration",
                            message="Enumeration value for HttpMethod must be non-empty")
        i = cli("put-integration", *at, "--http-method", "GET", "--type", "HTTP_PROXY",
                "--integration-http-method", "GET", "--uri", uri)
        expected = {"type": "HTTP_PROXY", "httpMethod": "GET", "uri": uri, "passthroughBehavior": "WHEN_NO_MATCH",
                    "timeoutInMillis": 29000, "cacheNamespace": items, "cacheKeyParameters": [],
                    "connectionType": "INTERNET"}
        self.assertEqual(i, expected)
        self.assertEqual(cli("get-integration", *at, "--http-method", "GET"), expected)
        h = cli("put-integration", *at, "--http-method", "POST", "--type", "HTTP",
                "--integration-http-method", "POST", "--uri", f"http://{HOST}:{self.backend.port}/items")
        self.assertEqual((h["type"], h["httpMethod"]), ("HTTP", "POST"))

        on_mock = ["--rest-api-id", api_id, "--resource-id", mock, "--http-method", "GET"]
        mk = cli("put-integration", *on_mock, "--type", "MOCK",
                 "--request-templates", json.dumps({"application/json": '{"statusCode": 200}'}))
        self.assertEqual((mk["type"], mk["requestTemplates"]),
                         ("MOCK", {"application/json": '{"statusCode": 200}'}))
        self.assertNotIn("uri", mk)
        ir = cli("put-integration-response", *on_mock, "--status-code", "200",
                 "--response-templates", json.dumps({"application/json": '{"ok":true}'}))
        self.assertEqual(ir, {"statusCode": "200", "responseTemplates": {"application/json": '{"ok":true}'}})
        self.assertEqual(cli("get-integration", *on_mock)["integrationResponses"]["200"]["responseTemplates"],
                         {"application/json": '{"ok":true}'})

        self.assertIsNone(cli("delete-method", *at, "--http-method", "POST"))
        err = cli.fail("get-method", *at, "--http-method", "POST")
        self.assertCliError(err, "NotFoundException", message="Invalid Method identifier specified")

        # Deployed, the MOCK answers from its templates and GET /items is proxied without a key.
        self.admin("POST", f"/restapis/{api_id}/deployments", {"stageName": "prod"})
        self.gw.wait_loaded()
        res = self.gw.request("GET", api_id, "prod", "/mock")
        self.assertEqual((res.status, res.json()), (200, {"ok": True}), res)
        self.assertEcho(self.gw.request("GET", api_id, "prod", "/items"), "/pets")
        res = self.gw.request("POST", api_id, "prod", "/items")
        self.assertEqual(res.status, 403, "a deleted method is not served")

    # ---------------------------------------------------------- 4. deployments and stages

    def test_deployments_and_stages(self):
        cli = self.cli
        empty = self.make_api("dep-empty", {})["id"]
        err = cli.fail("create-deployment", "--rest-api-id", empty, "--stage-name", "prod")
        self.assertCliError(err, "BadRequestException", operation="CreateDeployment",
                            message="The REST API doesn't contain any methods")

        api = self.make_api("dep-api", {"/pets": False})["id"]
        d = cli("create-deployment", "--rest-api-id", api, "--stage-name", "prod")
        self.assertRegex(d["id"], r"^[a-z0-9]{6}$")
        self.assertIn("createdDate", d)
        self.assertEqual([x["id"] for x in cli("get-deployments", "--rest-api-id", api)["items"]], [d["id"]])
        prod = cli("get-stage", "--rest-api-id", api, "--stage-name", "prod")
        self.assertEqual({k: prod[k] for k in ("deploymentId", "stageName", "cacheClusterEnabled",
                                               "cacheClusterStatus", "methodSettings", "tracingEnabled")},
                         {"deploymentId": d["id"], "stageName": "prod", "cacheClusterEnabled": False,
                          "cacheClusterStatus": "NOT_AVAILABLE", "methodSettings": {}, "tracingEnabled": False})

        dev = cli("create-stage", "--rest-api-id", api, "--stage-name", "dev", "--deployment-id", d["id"])
        self.assertEqual((dev["stageName"], dev["deploymentId"], dev["methodSettings"]), ("dev", d["id"], {}))
        err = cli.fail("create-stage", "--rest-api-id", api, "--stage-name", "dev", "--deployment-id", d["id"])
        self.assertCliError(err, "ConflictException", operation="CreateStage")
        stages = cli("get-stages", "--rest-api-id", api)["item"]
        self.assertEqual(sorted(s["stageName"] for s in stages), ["dev", "prod"])

        dev_at = ["--rest-api-id", api, "--stage-name", "dev"]
        u = cli("update-stage", *dev_at, "--patch-operations",
                "op=replace,path=/*/*/throttling/rateLimit,value=100",
                "op=replace,path=/~1pets/GET/throttling/burstLimit,value=20")
        settings = u["methodSettings"]
        self.assertEqual(set(settings), {"*/*", "~1pets/GET"})
        self.assertEqual(settings["*/*"], {**METHOD_SETTING_DEFAULTS, "throttlingRateLimit": 100.0})
        # Created after */* existed: starts as a copy of it.
        self.assertEqual(settings["~1pets/GET"],
                         {**METHOD_SETTING_DEFAULTS, "throttlingRateLimit": 100.0, "throttlingBurstLimit": 20})
        u = cli("update-stage", *dev_at, "--patch-operations", "op=replace,path=/*/*/throttling/rateLimit,value=7")
        self.assertEqual(u["methodSettings"]["*/*"]["throttlingRateLimit"], 7.0)
        self.assertEqual(u["methodSettings"]["~1pets/GET"]["throttlingRateLimit"], 100.0,
                         "a later */* change does not overwrite an existing method entry")

        u = cli("update-stage", *dev_at, "--patch-operations", "op=remove,path=/*/*")
        self.assertEqual(set(u["methodSettings"]), {"~1pets/GET"})
        err = cli.fail("update-stage", *dev_at, "--patch-operations", "op=remove,path=/*/*")
        self.assertCliError(err, "BadRequestException", operation="UpdateStage",
                            message="Cannot remove method setting */* because there is no method setting "
                                    "for this method ")
        err = cli.fail("update-stage", *dev_at, "--patch-operations", "op=replace,path=/nope,value=1")
        self.assertCliError(err, "BadRequestException",
                            regex=r"^Invalid method setting path: /nope\. Must be one of: \[")

        self.assertIsNone(cli("delete-stage", *dev_at))
        err = cli.fail("get-stage", *dev_at)
        self.assertCliError(err, "NotFoundException", message="Invalid stage identifier specified")

    def test_stage_throttle_enforced_on_data_plane(self):
        api = self.make_api("stt-api", {"/open": False}, stages=("prod",))["id"]
        self.cli("update-stage", "--rest-api-id", api, "--stage-name", "prod", "--patch-operations",
                 f"op=replace,path=/*/*/throttling/rateLimit,value={TINY}",
                 "op=replace,path=/*/*/throttling/burstLimit,value=2")
        self.gw.wait_loaded()
        for _ in range(2):
            self.assertEcho(self.gw.request("GET", api, "prod", "/open"), "/open")
        self.assertRefusal(self.gw.request("GET", api, "prod", "/open"), 429, TOO_MANY, "TooManyRequestsException")

    def test_stage_variables_fill_the_integration_uri(self):
        cli = self.cli
        api = self.make_api("stage-vars", {"/open": False})
        at = ("--rest-api-id", api["id"])
        cli("put-integration", *at, "--resource-id", api["resources"]["/open"], "--http-method", "GET",
            "--type", "HTTP_PROXY", "--integration-http-method", "GET",
            "--uri", "http://${stageVariables.backend}/${stageVariables.version}/open")
        cli("create-deployment", *at, "--stage-name", "blue",
            "--variables", f"backend={HOST}:{self.backend.port},version=v1")
        blue = cli("get-stage", *at, "--stage-name", "blue")
        cli("create-stage", *at, "--stage-name", "green", "--deployment-id", blue["deploymentId"],
            "--variables", f"backend={HOST}:{self.backend.port},version=v2")
        self.gw.wait_loaded()
        self.assertEcho(self.gw.request("GET", api["id"], "blue", "/open"), "/v1/open")
        self.assertEcho(self.gw.request("GET", api["id"], "green", "/open"), "/v2/open")
        cli("update-stage", *at, "--stage-name", "green", "--patch-operations",
            "op=replace,path=/variables/version,value=v3")
        self.gw.wait_loaded()
        self.assertEcho(self.gw.request("GET", api["id"], "green", "/open"), "/v3/open")

    # ---------------------------------------------------------- 5. API keys

    def test_api_keys(self):
        cli = self.cli
        gen = cli("create-api-key", "--name", "akt-gen")
        self.assertRegex(gen["id"], r"^[a-z0-9]{10}$")
        self.assertRegex(gen["value"], r"^[A-Za-z0-9]{40}$")
        self.assertIs(gen["enabled"], False, "disabled unless --enabled")
        self.assertEqual(gen["stageKeys"], [])
        self.assertNotIn("customerId", gen)
        value = "akt-given-value-0123456789"
        given = cli("create-api-key", "--name", "akt-given", "--description", "d1", "--value", value,
                    "--enabled", "--customer-id", "cust-akt")
        self.assertEqual((given["value"], given["enabled"], given["customerId"], given["description"]),
                         (value, True, "cust-akt", "d1"))
        err = cli.fail("create-api-key", "--name", "akt-dup", "--value", value)
        self.assertCliError(err, "ConflictException", operation="CreateApiKey", message="API Key already exists")
        err = cli.fail("create-api-key", "--name", "akt-short", "--value", "abcde")
        self.assertCliError(err, "BadRequestException", message="API Key value should be at least 20 characters")

        for body, message in [({"value": "v" * 129}, "API Key value exceeds maximum size of 128 characters"),
                              ({"name": "n" * 1025}, "Invalid API Key name, can be at most 1024 characters.")]:
            res = self.admin.send("POST", "/apikeys", body)
            self.assertEqual((res.status, res.json()), (400, {"message": message}), res)

        plain = cli("get-api-key", "--api-key", given["id"])
        self.assertNotIn("value", plain)
        self.assertEqual(plain["name"], "akt-given")
        self.assertEqual(cli("get-api-key", "--api-key", given["id"], "--include-value")["value"], value)

        listed = cli("get-api-keys", "--name-query", "akt-")["items"]
        self.assertEqual(sorted(k["name"] for k in listed), ["akt-gen", "akt-given"])
        self.assertTrue(all("value" not in k for k in listed), listed)
        self.assertEqual(self.admin("GET", "/apikeys", query="name=kt-given")["item"], [], "a prefix, not infix")
        by_customer = cli("get-api-keys", "--customer-id", "cust-akt", "--include-values")["items"]
        self.assertEqual([(k["id"], k["value"]) for k in by_customer], [(given["id"], value)])
        pages_before = self.log_count("admin GET /apikeys by")
        paged = cli("get-api-keys", "--name-query", "akt-", "--page-size", "1")["items"]
        self.assertEqual(sorted(k["id"] for k in paged), sorted([gen["id"], given["id"]]))
        wait_until(lambda: self.log_count("admin GET /apikeys by") - pages_before >= 2, 2.0)
        self.assertEqual(self.log_count("admin GET /apikeys by") - pages_before, 2, "two pages of one")

        u = cli("update-api-key", "--api-key", given["id"], "--patch-operations",
                "op=replace,path=/name,value=akt-renamed", "op=replace,path=/description,value=d2",
                "op=replace,path=/enabled,value=false", "op=replace,path=/customerId,value=cust-2")
        self.assertEqual((u["name"], u["description"], u["enabled"], u["customerId"]),
                         ("akt-renamed", "d2", False, "cust-2"))
        self.assertNotIn("value", u)
        self.assertEqual(cli("get-api-key", "--api-key", given["id"])["name"], "akt-renamed")
        err = cli.fail("update-api-key", "--api-key", given["id"], "--patch-operations",
                       "op=replace,path=/value,value=another-value-0123456789")
        self.assertCliError(err, "BadRequestException", operation="UpdateApiKey",
                            message="Invalid patch path  '/value' specified for op 'replace'. "
                                    "Must be one of: [/description, /enabled, /name, /customerId]")

        # Deleting a key takes it out of its plans.
        plan = self.make_plan("akt-plan")
        self.add_plan_key(plan["id"], gen["id"])
        self.assertIsNone(cli("delete-api-key", "--api-key", gen["id"]))
        self.assertEqual(cli("get-usage-plan-keys", "--usage-plan-id", plan["id"])["items"], [])
        err = cli.fail("get-api-key", "--api-key", gen["id"])
        self.assertCliError(err, "NotFoundException", operation="GetApiKey",
                            message="Invalid API Key identifier specified")

    # ---------------------------------------------------------- 6. import-api-keys

    def write_csv(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        return f"fileb://{path}"

    def test_import_api_keys(self):
        cli = self.cli
        p1, p2 = self.make_plan("imp-p1")["id"], self.make_plan("imp-p2")["id"]
        csv = ("\ufeffKey,name,DESCRIPTION,enabled,usageplanIds,Extra\r\n"
               f'imp-key-a-0123456789abcdef,imp-a,"desc, with comma",tRuE,"{p1},{p2}",x\r\n'
               f"imp-key-b-0123456789abcdef,imp-b,plain,FALSE,'{p1},{p2}',y\r\n"
               f"imp-key-c-0123456789abcdef,imp-c,,,{p1},\r\n"
               "short-key,imp-short,,true,,\r\n"
               "imp-key-d-0123456789abcdef,imp-d,,true,nosuchplan,\r\n")
        out = cli("import-api-keys", "--body", self.write_csv("keys.csv", csv), "--format", "csv")
        self.assertEqual(len(out["ids"]), 3, out)
        warnings = out.get("warnings", [])
        self.assertEqual(len(warnings), 2, out)
        self.assertIn("Line 5", warnings[0])
        self.assertIn("20 characters", warnings[0])
        self.assertIn("Line 6", warnings[1])
        self.assertIn("nosuchplan", warnings[1])

        keys = {k["name"]: k for k in cli("get-api-keys", "--name-query", "imp-", "--include-values")["items"]}
        self.assertEqual(set(keys), {"imp-a", "imp-b", "imp-c"})
        id_a, id_b, id_c = out["ids"]
        self.assertEqual((keys["imp-a"]["id"], keys["imp-b"]["id"], keys["imp-c"]["id"]), (id_a, id_b, id_c))
        self.assertEqual((keys["imp-a"]["value"], keys["imp-a"]["description"], keys["imp-a"]["enabled"]),
                         ("imp-key-a-0123456789abcdef", "desc, with comma", True))
        self.assertEqual((keys["imp-b"]["description"], keys["imp-b"]["enabled"]), ("plain", False))
        self.assertIs(keys["imp-c"]["enabled"], True, "Enabled defaults to true")
        self.assertNotIn("description", keys["imp-c"])
        in_p1 = {k["id"] for k in cli("get-usage-plan-keys", "--usage-plan-id", p1)["items"]}
        in_p2 = {k["id"] for k in cli("get-usage-plan-keys", "--usage-plan-id", p2)["items"]}
        self.assertEqual((in_p1, in_p2), ({id_a, id_b, id_c}, {id_a, id_b}))

        # --fail-on-warnings: one bad row fails the call and nothing is imported.
        bad = "Name,Key\nimp-e,imp-key-e-0123456789abcdef\nimp-bad,tooshort\n"
        err = cli.fail("import-api-keys", "--body", self.write_csv("bad.csv", bad), "--format", "csv",
                       "--fail-on-warnings")
        self.assertCliError(err, "BadRequestException", operation="ImportApiKeys", contains=["Line 3"])
        self.assertEqual(self.admin("GET", "/apikeys", query="name=imp-e")["item"], [])

        # The key value is the identity: a re-import updates the key and keeps its id.
        again = "name,key,enabled\nimp-a-renamed,imp-key-a-0123456789abcdef,false\n"
        out = cli("import-api-keys", "--body", self.write_csv("again.csv", again), "--format", "csv",
                  "--fail-on-warnings")
        self.assertEqual(out["ids"], [id_a])
        self.assertFalse(out.get("warnings"), out)
        key_a = self.admin("GET", f"/apikeys/{id_a}")
        self.assertEqual((key_a["name"], key_a["enabled"]), ("imp-a-renamed", False))

        err = cli.fail("import-api-keys", "--body", self.write_csv("nokey.csv", "Name,Description\nx,y\n"),
                       "--format", "csv")
        self.assertCliError(err, "BadRequestException", contains=["Key"])

    def test_bad_input_is_a_400_naming_the_problem_and_changes_nothing(self):
        key = self.make_key("bad-input-key")
        plan = self.make_plan("bad-input-plan")
        before = (self.admin("GET", "/apikeys", query="limit=500"), self.admin("GET", "/usageplans", query="limit=500"))
        cases = [
            ("POST", "/apikeys", b'{"name": "x",', "json"),
            ("POST", "/apikeys", b"[1, 2]", "object"),
            ("POST", "/apikeys", b"\xff\xfe{}", "json"),
            ("POST", "/apikeys", {"name": 5}, "name"),
            ("POST", "/apikeys", {"name": "x", "enabled": "yes"}, "enabled"),
            ("POST", "/usageplans", {"name": "x", "throttle": {"rateLimit": "fast"}}, "rateLimit"),
            ("POST", "/usageplans", {"name": "x", "quota": {"limit": 10, "period": "HOUR"}}, "period"),
            ("PATCH", f"/apikeys/{key['id']}",
             {"patchOperations": [{"op": "replace", "path": "/name", "value": "renamed"},
                                  {"op": "replace", "path": "/nope", "value": "1"}]}, "/nope"),
            ("PATCH", f"/apikeys/{key['id']}", {"patchOperations": "not a list"}, "patchOperations"),
            ("PATCH", f"/usageplans/{plan['id']}",
             {"patchOperations": [{"op": "replace", "path": "/throttle/burstLimit", "value": "many"}]}, "burstLimit"),
            ("PATCH", f"/usageplans/{plan['id']}",
             {"patchOperations": [{"op": "frobnicate", "path": "/name", "value": "x"}]}, "frobnicate"),
        ]
        for method, path, body, named in cases:
            res = self.admin.send(method, path, body)
            self.assertEqual(res.status, 400, (method, path, body, res))
            self.assertEqual(res.headers.get("Content-Type"), "application/json")
            self.assertIn(named, res.json()["message"], (method, path, body))
        # A body past the admin listener's 10 MiB limit is refused before it is read whole.
        huge = http_request(self.gw.admin_port, "POST", "/apikeys", {"Content-Length": str(11 * 1024 * 1024)})
        self.assertEqual(huge.status, 413, huge)
        after = (self.admin("GET", "/apikeys", query="limit=500"), self.admin("GET", "/usageplans", query="limit=500"))
        self.assertEqual(before, after, "a refused request changed something")

    # ---------------------------------------------------------- 7. usage plans

    def test_usage_plans_create_get_list(self):
        cli = self.cli
        key = self.make_key("upl-key")
        stages = [{"apiId": self.api_id, "stage": "prod",
                   "throttle": {"/pets/GET": {"burstLimit": 10, "rateLimit": 5.5}}}]
        plan = cli("create-usage-plan", "--name", "upl-gold", "--description", "Gold tier",
                   "--throttle", "burstLimit=100,rateLimit=50", "--quota", "limit=1000,offset=10,period=MONTH",
                   "--api-stages", json.dumps(stages))
        self.assertRegex(plan["id"], r"^[a-z0-9]{6}$")
        self.assertEqual((plan["name"], plan["description"]), ("upl-gold", "Gold tier"))
        self.assertEqual(plan["apiStages"], stages)
        self.assertEqual(plan["throttle"], {"burstLimit": 100, "rateLimit": 50.0})
        self.assertEqual(plan["quota"], {"limit": 1000, "offset": 10, "period": "MONTH"})
        self.assertNotIn("productCode", plan)
        got = cli("get-usage-plan", "--usage-plan-id", plan["id"])
        self.assertEqual({k: v for k, v in got.items() if k != "tags"}, plan)

        self.add_plan_key(plan["id"], key["id"])
        self.assertIn(plan["id"], [p["id"] for p in cli("get-usage-plans")["items"]])
        self.assertEqual([p["id"] for p in cli("get-usage-plans", "--key-id", key["id"])["items"]], [plan["id"]])

        err = cli.fail("create-usage-plan", "--name", "upl-bad", "--api-stages",
                       f"apiId={self.api_id},stage=nostage")
        self.assertCliError(err, "BadRequestException", operation="CreateUsagePlan",
                            regex=rf"^Invalid API Stage \{{api: {self.api_id}, stage: nostage\}} "
                                  r"specified for usageplan [a-z0-9]+$")
        err = cli.fail("create-usage-plan", "--name", "upl-badp", "--quota", "limit=5,period=HOUR")
        self.assertCliError(err, "ValidationException", operation="CreateUsagePlan",
                            message="1 validation error detected: Value 'HOUR' at "
                                    "'createUsagePlanInput.quota.period' failed to satisfy constraint: "
                                    "Member must satisfy enum value set: [DAY, WEEK, MONTH]")

    def test_update_usage_plan_every_path(self):
        cli = self.cli
        pid = self.make_plan("upd-plan")["id"]
        api = self.api_id

        def update(*operations):
            return cli("update-usage-plan", "--usage-plan-id", pid, *ops(*operations))

        def refused(code, *operations, **checks):
            err = cli.fail("update-usage-plan", "--usage-plan-id", pid, *ops(*operations))
            self.assertCliError(err, code, operation="UpdateUsagePlan", **checks)

        p = update(("replace", "/name", "upd-renamed"), ("replace", "/description", "D"),
                   ("add", "/productCode", "pc-1"))
        self.assertEqual((p["name"], p["description"], p["productCode"]), ("upd-renamed", "D", "pc-1"))
        self.assertEqual(update(("replace", "/productCode", "pc-2"))["productCode"], "pc-2")
        self.assertNotIn("productCode", update(("remove", "/productCode")))

        # throttle: created by a field, then each field added/replaced, then removed
        p = update(("add", "/throttle/rateLimit", "2.5"))
        self.assertEqual(p["throttle"]["rateLimit"], 2.5)
        self.assertGreater(p["throttle"]["burstLimit"], 0)
        p = update(("replace", "/throttle/rateLimit", "7.5"), ("add", "/throttle/burstLimit", "15"))
        self.assertEqual(p["throttle"], {"rateLimit": 7.5, "burstLimit": 15})
        self.assertEqual(update(("replace", "/throttle/burstLimit", "30"))["throttle"],
                         {"rateLimit": 7.5, "burstLimit": 30})
        self.assertNotIn("throttle", update(("remove", "/throttle")))
        p = update(("replace", "/throttle/burstLimit", "4"))
        self.assertEqual(p["throttle"]["burstLimit"], 4)
        self.assertGreater(p["throttle"]["rateLimit"], 0)

        # quota: created by replacing fields (offset 0), then changed, then removed
        p = update(("replace", "/quota/period", "MONTH"), ("replace", "/quota/limit", "5000"))
        self.assertEqual(p["quota"], {"limit": 5000, "offset": 0, "period": "MONTH"})
        p = update(("add", "/quota/limit", "6000"), ("add", "/quota/offset", "10"),
                   ("add", "/quota/period", "WEEK"))
        self.assertEqual(p["quota"], {"limit": 6000, "offset": 10, "period": "WEEK"})
        p = update(("replace", "/quota/offset", "0"), ("replace", "/quota/period", "DAY"))
        self.assertEqual(p["quota"], {"limit": 6000, "offset": 0, "period": "DAY"})
        self.assertNotIn("quota", update(("remove", "/quota")))
        refused("ValidationException", ("replace", "/quota/period", "HOUR"),
                message="1 validation error detected: Value 'HOUR' at 'updateUsagePlanInput.quota.period' "
                        "failed to satisfy constraint: Member must satisfy enum value set: [DAY, WEEK, MONTH]")

        # apiStages
        p = update(("add", "/apiStages", f"{api}:prod"))
        self.assertEqual(p["apiStages"], [{"apiId": api, "stage": "prod"}])
        refused("ConflictException", ("add", "/apiStages", f"{api}:prod"))
        refused("NotFoundException", ("add", "/apiStages", f"{api}:nostage"))
        refused("BadRequestException", ("remove", "/apiStages"), message="Invalid API Stage specified")
        refused("BadRequestException", ("remove", "/apiStages", "no-colon"), message="Invalid API Stage specified")
        refused("NotFoundException", ("remove", "/apiStages", f"{api}:nostage"),
                message=f"Invalid API Stage {{api: {api}, stage: nostage}} specified for usageplan {pid}")
        refused("BadRequestException", ("remove", "/apiStages/abc:dev"),
                message=f"Invalid patch path  '/apiStages/abc:dev' specified for op 'remove'. "
                        f"Must be one of: [{PLAN_PATHS}]")

        # per-method throttles: unescaped ("//pets/GET") and ~1-escaped map keys
        at = f"/apiStages/{api}:prod/throttle"
        p = update(("add", f"{at}//pets/GET/rateLimit", "2"))
        self.assertEqual(p["apiStages"][0]["throttle"]["/pets/GET"]["rateLimit"], 2.0)
        p = update(("replace", f"{at}/~1pets~1GET/burstLimit", "4"),
                   ("add", f"{at}//pets/{{petId}}/GET/burstLimit", "3"),
                   ("replace", f"{at}/~1pets~1{{petId}}~1GET/rateLimit", "1.5"))
        self.assertEqual(p["apiStages"][0]["throttle"], {"/pets/GET": {"rateLimit": 2.0, "burstLimit": 4},
                                                         "/pets/{petId}/GET": {"rateLimit": 1.5, "burstLimit": 3}})
        p = update(("remove", f"{at}//pets/{{petId}}/GET"))
        self.assertEqual(p["apiStages"][0]["throttle"], {"/pets/GET": {"rateLimit": 2.0, "burstLimit": 4}})
        whole = {"/pets/GET": {"rateLimit": 1.0, "burstLimit": 1},
                 "/pets/{petId}/GET": {"rateLimit": 3.0, "burstLimit": 6}}
        p = update(("replace", at, json.dumps(whole)))
        self.assertEqual(p["apiStages"][0]["throttle"], whole)
        p = update(("remove", at))
        self.assertEqual(p["apiStages"], [{"apiId": api, "stage": "prod"}])
        refused("BadRequestException", ("add", f"{at}//nope/GET/rateLimit", "1"), contains=["/nope/GET"])

        refused("BadRequestException", ("replace", "/nope", "x"),
                message=f"Invalid patch path  '/nope' specified for op 'replace'. Must be one of: [{PLAN_PATHS}]")
        got = cli("get-usage-plan", "--usage-plan-id", pid)
        self.assertEqual((got["name"], got["description"], got["throttle"]["burstLimit"]), ("upd-renamed", "D", 4))
        self.assertEqual(update(("remove", "/apiStages", f"{api}:prod"))["apiStages"], [])

    def test_delete_usage_plan(self):
        cli = self.cli
        pid = self.make_plan("del-plan", stages=[(self.api_id, "beta")])["id"]
        err = cli.fail("delete-usage-plan", "--usage-plan-id", pid)
        self.assertCliError(err, "BadRequestException", operation="DeleteUsagePlan",
                            message=f"Cannot delete Usage Plan {pid} because there are API Stages associated "
                                    f"with it, including {self.api_id}:beta")
        cli("update-usage-plan", "--usage-plan-id", pid, "--patch-operations",
            f"op=remove,path=/apiStages,value={self.api_id}:beta")
        self.assertIsNone(cli("delete-usage-plan", "--usage-plan-id", pid))
        err = cli.fail("get-usage-plan", "--usage-plan-id", pid)
        self.assertCliError(err, "NotFoundException", operation="GetUsagePlan",
                            message="Invalid Usage Plan ID specified")

    # ---------------------------------------------------------- 8. usage plan keys

    def test_usage_plan_keys(self):
        cli = self.cli
        stage = [(self.api_id, "prod")]
        p1, p2 = self.make_plan("upk-p1", stage)["id"], self.make_plan("upk-p2", stage)["id"]
        ka, kb = self.make_key("upk-a"), self.make_key("upk-b")

        pk = cli("create-usage-plan-key", "--usage-plan-id", p1, "--key-id", ka["id"], "--key-type", "API_KEY")
        self.assertEqual(pk, {"id": ka["id"], "type": "API_KEY", "value": ka["value"], "name": "upk-a"})
        err = cli.fail("create-usage-plan-key", "--usage-plan-id", p1, "--key-id", ka["id"],
                       "--key-type", "API_KEY")
        self.assertCliError(err, "ConflictException", operation="CreateUsagePlanKey")
        err = cli.fail("create-usage-plan-key", "--usage-plan-id", p2, "--key-id", ka["id"],
                       "--key-type", "API_KEY")
        self.assertCliError(err, "ConflictException", contains=["only one usage plan per stage"])
        err = cli.fail("create-usage-plan-key", "--usage-plan-id", p1, "--key-id", "nosuchkey", "--key-type",
                       "API_KEY")
        self.assertCliError(err, "NotFoundException", contains=["Invalid API Key identifier specified"])

        self.assertEqual(cli("get-usage-plan-key", "--usage-plan-id", p1, "--key-id", ka["id"]), pk)
        err = cli.fail("get-usage-plan-key", "--usage-plan-id", p1, "--key-id", kb["id"])
        self.assertCliError(err, "NotFoundException", operation="GetUsagePlanKey")

        self.add_plan_key(p1, kb["id"])
        listed = cli("get-usage-plan-keys", "--usage-plan-id", p1)["items"]
        self.assertEqual(sorted(k["id"] for k in listed), sorted([ka["id"], kb["id"]]))
        self.assertEqual([k["id"] for k in cli("get-usage-plan-keys", "--usage-plan-id", p1,
                                                "--name-query", "upk-b")["items"]], [kb["id"]])
        self.assertEqual(cli("get-usage-plan-keys", "--usage-plan-id", "nosuchplan")["items"], [])

        # A stage added to a plan must not put one of its keys into two plans for that stage.
        p3 = self.make_plan("upk-p3")["id"]
        self.add_plan_key(p3, ka["id"])
        err = cli.fail("update-usage-plan", "--usage-plan-id", p3, "--patch-operations",
                       f"op=add,path=/apiStages,value={self.api_id}:prod")
        self.assertCliError(err, "ConflictException", operation="UpdateUsagePlan",
                            contains=["only one usage plan per stage"])
        self.assertEqual(self.admin("GET", f"/usageplans/{p3}")["apiStages"], [])

        self.assertIsNone(cli("delete-usage-plan-key", "--usage-plan-id", p1, "--key-id", kb["id"]))
        err = cli.fail("delete-usage-plan-key", "--usage-plan-id", p1, "--key-id", kb["id"])
        self.assertCliError(err, "NotFoundException", operation="DeleteUsagePlanKey")
        self.assertEqual([k["id"] for k in self.admin("GET", f"/usageplans/{p1}/keys")["item"]], [ka["id"]])

    # ---------------------------------------------------------- 9. usage, end to end with the CLI

    def test_seed_scenario_with_usage(self):
        cli = self.cli
        avoid_midnight()
        api = cli("create-rest-api", "--name", "seed-api")["id"]
        root = cli("get-resources", "--rest-api-id", api)["items"][0]["id"]
        pets = cli("create-resource", "--rest-api-id", api, "--parent-id", root, "--path-part", "pets")["id"]
        cli("put-method", "--rest-api-id", api, "--resource-id", pets, "--http-method", "GET",
            "--authorization-type", "NONE", "--api-key-required")
        cli("put-integration", "--rest-api-id", api, "--resource-id", pets, "--http-method", "GET",
            "--type", "HTTP_PROXY", "--integration-http-method", "GET",
            "--uri", f"http://{HOST}:{self.backend.port}/pets")
        cli("create-deployment", "--rest-api-id", api, "--stage-name", "prod")
        value = "seed-key-value-0123456789abcdef"
        key = cli("create-api-key", "--name", "seed-key", "--enabled", "--value", value)["id"]
        plan = cli("create-usage-plan", "--name", "seed-plan", "--throttle", f"burstLimit=3,rateLimit={TINY}",
                   "--quota", "limit=5,offset=0,period=DAY", "--api-stages", f"apiId={api},stage=prod")["id"]
        cli("create-usage-plan-key", "--usage-plan-id", plan, "--key-id", key, "--key-type", "API_KEY")
        self.gw.wait_loaded()

        def send(with_key=True):
            return self.gw.request("GET", api, "prod", "/pets", key=value if with_key else None)

        self.assertRefusal(send(with_key=False), 403, FORBIDDEN, "ForbiddenException")
        for _ in range(3):
            self.assertEcho(send(), "/pets")
        self.assertRefusal(send(), 429, TOO_MANY, "TooManyRequestsException")

        cli("update-usage-plan", "--usage-plan-id", plan, "--patch-operations",
            "op=replace,path=/throttle/rateLimit,value=1000", "op=replace,path=/throttle/burstLimit,value=1000")
        self.gw.wait_loaded()
        for _ in range(2):  # the throttled request did not use quota
            self.assertEcho(send(), "/pets")
        self.assertRefusal(send(), 429, LIMIT_EXCEEDED, "LimitExceededException")

        today = utc_day()
        usage = cli("get-usage", "--usage-plan-id", plan, "--start-date", today, "--end-date", today)
        self.assertEqual(usage, {"usagePlanId": plan, "startDate": today, "endDate": today,
                                 "items": {key: [[5, 0]]}})

        updated = cli("update-usage", "--usage-plan-id", plan, "--key-id", key, "--patch-operations",
                      "op=replace,path=/remaining,value=2")
        self.assertEqual(updated["items"], {key: [[5, 2]]})
        # An unrelated change rebuilds the data plane's catalog; the new remaining must survive it.
        cli("update-usage-plan", "--usage-plan-id", plan, "--patch-operations",
            "op=replace,path=/description,value=after update-usage")
        self.gw.wait_loaded()
        for _ in range(2):
            self.assertEcho(send(), "/pets")
        self.assertRefusal(send(), 429, LIMIT_EXCEEDED, "LimitExceededException")
        usage = cli("get-usage", "--usage-plan-id", plan, "--start-date", today, "--end-date", today)
        self.assertEqual(usage["items"], {key: [[7, 0]]})

        start = utc_day(-2)
        usage = cli("get-usage", "--usage-plan-id", plan, "--key-id", key, "--start-date", start,
                    "--end-date", today)
        self.assertEqual((usage["startDate"], usage["endDate"]), (start, today))
        self.assertEqual(usage["items"], {key: [[0, 5], [0, 5], [7, 0]]})

        # A disabled key is refused before its quota is looked at.
        cli("update-api-key", "--api-key", key, "--patch-operations", "op=replace,path=/enabled,value=false")
        self.gw.wait_loaded()
        self.assertRefusal(send(), 403, FORBIDDEN, "ForbiddenException")

        # The plan's stage keeps its API from being deleted; the stage itself
        # goes, as on AWS, and leaves the plan (Terraform's replace of a stage
        # is a delete, then a create).
        err = cli.fail("delete-rest-api", "--rest-api-id", api)
        self.assertCliError(err, "BadRequestException", operation="DeleteRestApi", contains=[plan])
        self.assertIsNone(cli("delete-stage", "--rest-api-id", api, "--stage-name", "prod"))
        self.assertEqual(cli("get-usage-plan", "--usage-plan-id", plan)["apiStages"], [])
        err = cli.fail("get-stage", "--rest-api-id", api, "--stage-name", "prod")
        self.assertCliError(err, "NotFoundException", operation="GetStage")

        err = cli.fail("get-usage", "--usage-plan-id", plan, "--start-date", today, "--end-date", start)
        self.assertCliError(err, "BadRequestException", operation="GetUsage")
        err = cli.fail("get-usage", "--usage-plan-id", "nosuchplan", "--start-date", today, "--end-date", today)
        self.assertCliError(err, "NotFoundException", operation="GetUsage",
                            message="Invalid Usage Plan ID specified")

    def test_key_and_plan_changes_reach_data_plane(self):
        cli = self.cli
        value = "dp-key-value-0123456789abcdef"
        key = cli("create-api-key", "--name", "dp-key", "--value", value)["id"]  # disabled
        plan = self.make_plan("dp-plan", stages=[(self.api_id, "beta")])["id"]
        self.add_plan_key(plan, key)
        self.gw.wait_loaded()

        def send(path):
            return self.gw.request("GET", self.api_id, "beta", path, key=value)

        self.assertRefusal(send("/pets"), 403, FORBIDDEN, "ForbiddenException")
        cli("update-api-key", "--api-key", key, "--patch-operations", "op=replace,path=/enabled,value=true")
        self.gw.wait_loaded()
        self.assertEcho(send("/pets/1"), "/pets/1")

        # A per-method plan throttle on GET /pets leaves GET /pets/{petId} alone.
        at = f"/apiStages/{self.api_id}:beta/throttle//pets/GET"
        cli("update-usage-plan", "--usage-plan-id", plan, *ops(("add", at + "/rateLimit", str(TINY)),
                                                              ("add", at + "/burstLimit", "1")))
        self.gw.wait_loaded()
        self.assertEcho(send("/pets"), "/pets")
        self.assertRefusal(send("/pets"), 429, TOO_MANY, "TooManyRequestsException")
        self.assertEcho(send("/pets/2"), "/pets/2")

        cli("delete-usage-plan-key", "--usage-plan-id", plan, "--key-id", key)
        self.gw.wait_loaded()
        self.assertRefusal(send("/pets/3"), 403, FORBIDDEN, "ForbiddenException")

    # ---------------------------------------------------------- 10. errors and signatures

    def test_error_codes_reach_the_cli(self):
        cli = self.cli
        err = cli.fail("get-usage-plan", "--usage-plan-id", "nosuchplan")
        self.assertCliError(err, "NotFoundException", operation="GetUsagePlan",
                            message="Invalid Usage Plan ID specified")
        self.assertIn("An error occurred (NotFoundException) when calling the GetUsagePlan operation", err.stderr)
        err = cli.fail("update-api-key", "--api-key", "nosuchkey", "--patch-operations",
                       "op=wrong-op,path=/name,value=x")
        self.assertCliError(err, "ValidationException", operation="UpdateApiKey",
                            message="1 validation error detected: Value 'wrong-op' at "
                                    "'updateApiKeyInput.patchOperations.1.member.op' failed to satisfy "
                                    "constraint: Member must satisfy enum value set: "
                                    "[add, remove, move, test, replace, copy]")
        # BadRequestException and ConflictException: see the tests above; one more of each here.
        err = cli.fail("get-usage", "--usage-plan-id", "x", "--start-date", "2024-13-45",
                       "--end-date", "2024-01-01")
        self.assertCliError(err, "BadRequestException", operation="GetUsage")
        err = cli.fail("create-stage", "--rest-api-id", self.api_id, "--stage-name", "prod", "--deployment-id",
                       self.admin("GET", f"/restapis/{self.api_id}/stages/prod")["deploymentId"])
        self.assertCliError(err, "ConflictException", operation="CreateStage")

        wrong_secret = AwsCli(self.gw.admin_port, self.workdir, secret="not-the-secret")
        err = wrong_secret.fail("get-account")
        self.assertCliError(err, "InvalidSignatureException", operation="GetAccount")
        unknown = AwsCli(self.gw.admin_port, self.workdir, access_key_id="AKIDUNKNOWN000000000")
        err = unknown.fail("get-account")
        self.assertCliError(err, "UnrecognizedClientException", operation="GetAccount",
                            message="The security token included in the request is invalid.")

    def test_raw_signatures(self):
        # Correctly signed: a plain path, a query, and a percent-encoded path segment.
        self.assertEqual(self.admin.send("GET", "/account").status, 200)
        self.assertEqual(self.admin.send("GET", "/apikeys", query="name=a%20b%2Bc%2Fd&limit=5").status, 200)
        key = self.make_key("sig-key")
        arn = f"arn:aws:apigateway:{REGION}::/apikeys/{key['id']}"
        self.assertEqual(self.admin.send("GET", "/tags/" + seg(arn)).status, 200)

        unsigned = http_request(self.gw.admin_port, "POST", "/apikeys", {"Content-Type": "application/json"},
                                b'{"name":"unsigned"}')
        self.assertRefusal(unsigned, 403, {"message": "Missing Authentication Token"},
                           "MissingAuthenticationTokenException")

        def refused(res, message=None):
            self.assertEqual(res.status, 403, res)
            self.assertEqual(res.headers.get("x-amzn-ErrorType"), "InvalidSignatureException", res)
            if message:
                self.assertRegex(res.json()["message"], message)

        body = {"name": "sig-replayed"}
        refused(self.admin.send("POST", "/apikeys", body,
                                mutate=lambda t, h, d: (t, h, d.replace(b"replayed", b"altered!"))))
        self.assertEqual(self.admin("GET", "/apikeys", query="name=sig-")["item"][0]["id"], key["id"])

        def later_date(t, h, d):
            h["X-Amz-Date"] = amz_date(time.time() + 1)
            return t, h, d
        refused(self.admin.send("POST", "/apikeys", body, date=amz_date(time.time() - 1), mutate=later_date))

        def other_host(t, h, d):
            h["Host"] = f"localhost:{self.gw.admin_port}"
            return t, h, d
        refused(self.admin.send("GET", "/account", mutate=other_host))

        def other_query(t, h, d):
            return t.replace("limit=5", "limit=6"), h, d
        refused(self.admin.send("GET", "/apikeys", query="limit=5", mutate=other_query))

        stale = amz_date(time.time() - 600)
        refused(self.admin.send("GET", "/account", date=stale),
                r"^Signature expired: " + stale + " is now earlier than")
        self.assertEqual([k["id"] for k in self.admin("GET", "/apikeys", query="name=sig-")["item"]], [key["id"]],
                         "no refused request created a key")

    def test_raw_status_codes_and_headers(self):
        """What the CLI does not show: the model's success codes (spec §1.6,
        §2), empty bodies, and the headers on successes and errors."""
        created = self.admin.send("POST", "/apikeys", {"name": "raw-key"})
        self.assertEqual(created.status, 201, created)
        self.assertEqual(created.headers.get("Content-Type"), "application/json")
        self.assertTrue(created.headers.get("x-amzn-RequestId"), created)
        key_id = created.json()["id"]
        self.assertIsInstance(created.json()["createdDate"], int, "epoch seconds, not a string")
        arn = seg(f"arn:aws:apigateway:{REGION}::/apikeys/{key_id}")
        for method, path, body, query, status in [
                ("PUT", f"/tags/{arn}", {"tags": {"a": "b"}}, "", 204),
                ("DELETE", f"/tags/{arn}", None, "tagKeys=a", 204),
                ("DELETE", f"/apikeys/{key_id}", None, "", 202)]:
            res = self.admin.send(method, path, body, query)
            self.assertEqual((res.status, res.body), (status, b""), f"{method} {path}: {res}")
        api = self.make_api("raw-api", {"/r": False})
        method = f"/restapis/{api['id']}/resources/{api['resources']['/r']}/methods/GET"
        res = self.admin.send("DELETE", method + "/integration")
        self.assertEqual((res.status, res.body), (204, b""), res)
        res = self.admin.send("DELETE", method)
        self.assertEqual((res.status, res.body), (204, b""), res)
        self.assertEqual(self.admin.send("GET", method).status, 404)

        missing = self.admin.send("GET", "/usageplans/nosuchplan")
        self.assertEqual(missing.status, 404, missing)
        self.assertEqual(missing.headers.get("Content-Type"), "application/json")
        self.assertEqual(missing.headers.get("x-amzn-ErrorType"), "NotFoundException")
        self.assertTrue(missing.headers.get("x-amzn-RequestId"), missing)
        self.assertEqual(missing.json(), {"message": "Invalid Usage Plan ID specified"})

    # ---------------------------------------------------------- 11. account and tags

    def test_stage_settings_are_kept_as_set(self):
        """What Terraform's aws_api_gateway_stage and aws_api_gateway_method_settings
        write must read back unchanged, or every plan shows a diff."""
        cli = self.cli
        api = self.make_api("stage-settings", {"/pets": False})["id"]
        at = ("--rest-api-id", api)
        d = cli("create-deployment", *at, "--stage-name", "prod", "--variables", "backend=blue")
        self.assertEqual(cli("get-stage", *at, "--stage-name", "prod")["variables"], {"backend": "blue"})
        st = cli("create-stage", *at, "--stage-name", "qa", "--deployment-id", d["id"],
                 "--variables", "backend=green,tier=2", "--tracing-enabled", "--cache-cluster-enabled",
                 "--cache-cluster-size", "0.5")
        self.assertEqual((st["variables"], st["tracingEnabled"], st["cacheClusterEnabled"],
                          st["cacheClusterStatus"], st["cacheClusterSize"]),
                         ({"backend": "green", "tier": "2"}, True, True, "AVAILABLE", "0.5"))
        qa = (*at, "--stage-name", "qa")
        ops = ["op=replace,path=/variables/backend,value=red", "op=remove,path=/variables/tier",
               "op=replace,path=/tracingEnabled,value=false", "op=replace,path=/cacheClusterEnabled,value=false",
               "op=replace,path=/~1pets/GET/logging/loglevel,value=INFO",
               "op=replace,path=/~1pets/GET/logging/dataTrace,value=true",
               "op=replace,path=/~1pets/GET/metrics/enabled,value=true",
               "op=replace,path=/~1pets/GET/caching/enabled,value=true",
               "op=replace,path=/~1pets/GET/caching/ttlInSeconds,value=60",
               "op=replace,path=/~1pets/GET/caching/dataEncrypted,value=true",
               "op=replace,path=/~1pets/GET/caching/requireAuthorizationForCacheControl,value=false",
               "op=replace,path=/~1pets/GET/caching/unauthorizedCacheControlHeaderStrategy,value=FAIL_WITH_403",
               "op=replace,path=/*/*/logging/loglevel,value=ERROR"]
        updated = cli("update-stage", *qa, "--patch-operations", *ops)
        read = cli("get-stage", *qa)
        for stage in (updated, read):
            self.assertEqual((stage["variables"], stage["tracingEnabled"], stage["cacheClusterEnabled"],
                              stage["cacheClusterStatus"]), ({"backend": "red"}, False, False, "NOT_AVAILABLE"))
            pets = stage["methodSettings"]["~1pets/GET"]
            self.assertEqual({k: pets[k] for k in ("loggingLevel", "dataTraceEnabled", "metricsEnabled",
                                                   "cachingEnabled", "cacheTtlInSeconds", "cacheDataEncrypted",
                                                   "requireAuthorizationForCacheControl",
                                                   "unauthorizedCacheControlHeaderStrategy")},
                             {"loggingLevel": "INFO", "dataTraceEnabled": True, "metricsEnabled": True,
                              "cachingEnabled": True, "cacheTtlInSeconds": 60, "cacheDataEncrypted": True,
                              "requireAuthorizationForCacheControl": False,
                              "unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403"})
            self.assertEqual(stage["methodSettings"]["*/*"]["loggingLevel"], "ERROR")
        for bad in ("op=replace,path=/*/*/logging/loglevel,value=LOUD", "op=replace,path=/cacheClusterSize,value=3",
                    "op=copy,path=/variables/x,value=y", "op=replace,path=/variables/x,value=a%0d%0ab",
                    "op=replace,path=/variables/x y,value=1"):
            err = cli.fail("update-stage", *qa, "--patch-operations", bad)
            self.assertCliError(err, "BadRequestException", operation="UpdateStage")
        self.assertEqual(cli("get-stage", *qa)["methodSettings"], read["methodSettings"])
        # A value that could break the URI it fills is refused where it is set.
        err = cli.fail("create-stage", *at, "--stage-name", "bad", "--deployment-id", d["id"],
                       "--variables", "host=a b")
        self.assertCliError(err, "BadRequestException", operation="CreateStage",
                            contains=["Invalid stage variable value"])

    def test_deployment_read_update_delete(self):
        cli = self.cli
        api = self.make_api("dep-crud", {"/pets": False})["id"]
        at = ("--rest-api-id", api)
        served = cli("create-deployment", *at, "--stage-name", "prod", "--description", "first")
        spare = cli("create-deployment", *at, "--description", "")
        got = cli("get-deployment", *at, "--deployment-id", served["id"])
        self.assertEqual((got["id"], got["description"], got["createdDate"]),
                         (served["id"], "first", served["createdDate"]))
        updated = cli("update-deployment", *at, "--deployment-id", served["id"],
                      "--patch-operations", "op=replace,path=/description,value=second")
        self.assertEqual(updated["description"], "second")
        self.assertEqual(cli("get-deployment", *at, "--deployment-id", served["id"])["description"], "second")
        err = cli.fail("update-deployment", *at, "--deployment-id", served["id"],
                       "--patch-operations", "op=replace,path=/stageName,value=x")
        self.assertCliError(err, "BadRequestException", operation="UpdateDeployment")

        err = cli.fail("delete-deployment", *at, "--deployment-id", served["id"])
        self.assertCliError(err, "BadRequestException", operation="DeleteDeployment",
                            message="Active stages pointing to this deployment must be moved or deleted")
        self.assertIsNone(cli("delete-deployment", *at, "--deployment-id", spare["id"]))
        err = cli.fail("get-deployment", *at, "--deployment-id", spare["id"])
        self.assertCliError(err, "NotFoundException", operation="GetDeployment",
                            message="Invalid Deployment identifier specified")
        self.assertEqual([d["id"] for d in cli("get-deployments", *at)["items"]], [served["id"]])
        err = cli.fail("delete-deployment", *at, "--deployment-id", spare["id"])
        self.assertCliError(err, "NotFoundException", operation="DeleteDeployment")

    def test_update_account(self):
        cli = self.cli
        role = "arn:aws:iam::123456789012:role/apigateway-logs"
        account = cli("update-account", "--patch-operations", f"op=replace,path=/cloudwatchRoleArn,value={role}")
        self.assertEqual(account, {"cloudwatchRoleArn": role, "apiKeyVersion": "4", "features": ["UsagePlans"],
                                   "throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}})
        self.assertEqual(cli("get-account")["cloudwatchRoleArn"], role)
        # No value takes the role away, as Terraform's delete does.
        self.assertNotIn("cloudwatchRoleArn",
                         cli("update-account", "--patch-operations", "op=replace,path=/cloudwatchRoleArn"))

        self.addCleanup(cli, "update-account", "--patch-operations",
                        "op=replace,path=/throttle/rateLimit,value=10000",
                        "op=replace,path=/throttle/burstLimit,value=5000")
        account = cli("update-account", "--patch-operations", "op=replace,path=/throttle/rateLimit,value=20000",
                      "op=replace,path=/throttle/burstLimit,value=8000", "op=add,path=/features,value=UsagePlans")
        self.assertEqual(account["throttleSettings"], {"burstLimit": 8000, "rateLimit": 20000.0})
        self.assertEqual(cli("get-account")["throttleSettings"], {"burstLimit": 8000, "rateLimit": 20000.0})
        for ops, operation in ((["op=remove,path=/features,value=UsagePlans"], "UpdateAccount"),
                               (["op=replace,path=/cloudwatchRoleArn,value=role"], "UpdateAccount"),
                               (["op=replace,path=/throttle/rateLimit,value=-1"], "UpdateAccount"),
                               (["op=replace,path=/nothing,value=1"], "UpdateAccount")):
            err = cli.fail("update-account", "--patch-operations", *ops)
            self.assertCliError(err, "BadRequestException", operation=operation)
        self.assertEqual(cli("get-account")["throttleSettings"], {"burstLimit": 8000, "rateLimit": 20000.0})

    def test_account_and_tags(self):
        cli = self.cli
        account = cli("get-account")
        self.assertEqual(account["throttleSettings"], {"burstLimit": 5000, "rateLimit": 10000.0})
        key = self.make_key("tag-key")
        arn = f"arn:aws:apigateway:{REGION}::/apikeys/{key['id']}"
        self.assertIsNone(cli("tag-resource", "--resource-arn", arn, "--tags", "team=gold,env=test,tier=1"))
        self.assertEqual(cli("get-tags", "--resource-arn", arn),
                         {"tags": {"team": "gold", "env": "test", "tier": "1"}})
        # Two keys: tagKeys repeats in the (signed) query string.
        self.assertIsNone(cli("untag-resource", "--resource-arn", arn, "--tag-keys", "team", "tier"))
        self.assertEqual(cli("get-tags", "--resource-arn", arn), {"tags": {"env": "test"}})
        self.assertEqual(self.admin("GET", f"/apikeys/{key['id']}")["tags"], {"env": "test"})

    def test_environment_credentials_write_no_file(self):
        self.assertFalse(os.path.exists(os.path.join(self.gw.data_dir, "admin-credentials")))


class LargeImportTest(ManagementTestCase):
    """A 10 MB key import, on a server of its own: the keys it leaves would
    slow every later test's catalog reload."""

    def test_import_of_a_10_mb_file_and_of_text_not_utf8(self):
        # 10 MB in 10,000 keys with long descriptions: the size of the file,
        # without a catalog so large that the sanitizer build crawls.
        description = "d" * 960
        rows = ["Name,Key,Description,Enabled"]
        size, n = len(rows[0]), 0
        while size < 10_000_000:
            rows.append(f"bulk-{n},bulk-import-key-{n:09d}-0123456789,{description},true")
            size += len(rows[-1]) + 2
            n += 1
        body = ("\r\n".join(rows) + "\r\n").encode()
        self.assertGreaterEqual(len(body), 10_000_000)
        res = self.admin.send("POST", "/apikeys", body, query="mode=import&format=csv", timeout=120)
        self.assertEqual(res.status, 201, res)
        self.assertEqual(len(res.json()["ids"]), n)
        found = self.admin("GET", "/apikeys", query=f"name=bulk-{n - 1}&includeValues=true&limit=500")["item"]
        self.assertIn((f"bulk-{n - 1}", f"bulk-import-key-{n - 1:09d}-0123456789"),
                      [(k["name"], k["value"]) for k in found])
        # A name whose bytes are not UTF-8 is refused whole, naming the line.
        res = self.admin.send("POST", "/apikeys", b"Name,Key\nok,utf8-key-0123456789abcdef\nbad\xbb,utf8-key-1123456789abcdef\n",
                              query="mode=import&format=csv")
        self.assertEqual(res.status, 400, res)
        self.assertIn("line 3 is not valid UTF-8", res.json()["message"])
        self.assertEqual(self.admin("GET", "/apikeys", query="name=ok")["item"], [])


class GeneratedCredentialsTest(ManagementTestCase):
    """Without TOLLGATE_ADMIN_* the server writes DATA_DIR/admin-credentials
    with a random pair and keeps using it across restarts."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-mgmt-creds-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.gw = Gateway(cls.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None,
                                           "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    def read_credentials(self):
        path = os.path.join(self.gw.data_dir, "admin-credentials")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, "readable by its owner only")
        values = {}
        with open(path) as f:
            for line in f:
                name, sep, value = line.partition("=")
                if sep:
                    values[name.strip()] = value.strip()
        return values["aws_access_key_id"], values["aws_secret_access_key"]

    def test_generated_credentials_file(self):
        access_key_id, secret = self.read_credentials()
        self.assertTrue(access_key_id and secret)
        cli = AwsCli(self.gw.admin_port, self.workdir, access_key_id, secret)
        self.assertIn("throttleSettings", cli("get-account"))
        err = AwsCli(self.gw.admin_port, self.workdir).fail("get-account")
        self.assertCliError(err, "UnrecognizedClientException")

        self.gw.stop()
        self.gw.start()
        self.assertEqual(self.read_credentials(), (access_key_id, secret), "the same pair after a restart")
        cli = AwsCli(self.gw.admin_port, self.workdir, access_key_id, secret)
        self.assertIn("throttleSettings", cli("get-account"))


def tearDownModule():
    print(f"\n{CLI_CALLS} aws CLI calls", file=sys.stderr)


if __name__ == "__main__":
    if not os.access(TOLLGATE_BIN, os.X_OK):
        sys.exit(f"tollgate binary not found or not executable: {TOLLGATE_BIN} (set TOLLGATE_BIN)")
    if not os.access(AWS, os.X_OK):
        sys.exit(f"the AWS CLI is not installed at {AWS}")
    unittest.main(verbosity=2)
