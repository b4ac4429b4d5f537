#!/usr/bin/env python3
"""The calls Terraform's AWS provider makes, replayed against a real
`tollgate serve`: for each resource type, create → read → update → read →
delete, in the provider's order and with its request bodies as the Go SDK
sends them (false booleans and zero numbers left out, empty strings sent,
patch operations without a value, ARNs percent-encoded in /tags/ paths,
usage plan throttle paths with `//`).

After every write the test reads the resource back as the provider's Read
does and checks that it holds exactly what was configured: what Terraform
would otherwise show as drift on every plan. The stages serve real requests
through the echo backend, so settings the data plane acts on (method
throttles, stage variables) are checked there. The same operations run once
more through the AWS CLI, whose inputs botocore serialises its own way, and
the data sources' paging goes on past an item deleted between two pages.

    TOLLGATE_BIN=build/tollgate python3 tests/integration/test_terraform_calls.py [-v]

Standard library only.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

from harness import TINY, TOO_MANY, AdminClient, Backend, Gateway

ACCESS_KEY_ID = "AKIDTOLLGATETERRAFORM"
SECRET_ACCESS_KEY = "tollgate-terraform-secret-0123456789abcdef"
REGION = "us-east-1"
POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
          '"Action":"execute-api:Invoke","Resource":"execute-api:/*"}]}')


def arn_path(arn):
    """/tags/{arn} as the Go SDK sends it: the ARN is one segment, ':' and '/' escaped."""
    return "/tags/" + urllib.parse.quote(arn, safe="")


def pointer(name):
    """A map key as the provider puts it in a patch path (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")


def unescape_policy(text):
    """The provider's read of a policy: AWS answers it escaped once more."""
    return json.loads('"' + text + '"')


class TerraformCallsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-terraform-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir)
        cls.backend.start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": ACCESS_KEY_ID,
                                           "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY})
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)
        cls.admin = AdminClient(cls.gw.admin_port, ACCESS_KEY_ID, SECRET_ACCESS_KEY)

    # ------------------------------------------------------------- helpers

    def call(self, method, path, body=None, query="", status=None):
        """One provider call; its JSON answer (None when empty). `status` is
        the answer the provider expects; without it, any 2xx."""
        res = self.admin.send(method, path, body, query)
        if status is not None:
            self.assertEqual(res.status, status, f"{method} {path}?{query}: {res}")
        else:
            self.assertLess(res.status, 300, f"{method} {path}?{query}: {res}")
        return json.loads(res.body) if res.body else None

    def refused(self, method, path, body=None, query=""):
        """A call the server refuses: (status, error type, message)."""
        res = self.admin.send(method, path, body, query)
        self.assertGreaterEqual(res.status, 400, f"{method} {path}: {res}")
        self.assertLess(res.status, 500, f"{method} {path}: {res}")
        return res.status, res.headers.get("x-amzn-ErrorType"), json.loads(res.body)["message"]

    def patch(self, path, *ops):
        """An Update*: each op is (op, path) or (op, path, value)."""
        operations = [dict(zip(("op", "path", "value"), op)) for op in ops]
        return self.call("PATCH", path, {"patchOperations": operations})

    def assertGone(self, path):
        status, error_type, _ = self.refused("GET", path)
        self.assertEqual((status, error_type), (404, "NotFoundException"))

    def rest_api(self, name):
        api = self.call("POST", "/restapis", {"name": name, "tags": {}}, status=201)
        root = next(r for r in self.call("GET", f"/restapis/{api['id']}/resources")["item"]
                    if r["path"] == "/")
        return api["id"], root["id"]

    def http_method(self, api_id, resource_id, verb="GET", uri=None):
        """aws_api_gateway_method and _integration as the provider creates them."""
        base = f"/restapis/{api_id}/resources/{resource_id}/methods/{verb}"
        self.call("PUT", base, {"authorizationType": "NONE"}, status=201)
        self.call("PUT", base + "/integration",
                  {"type": "HTTP_PROXY", "connectionType": "INTERNET", "timeoutInMillis": 29000,
                   "httpMethod": "ANY", "uri": uri or f"http://127.0.0.1:{self.backend.port}/"},
                  status=201)
        return base

    def served(self, api_id, n):
        """The statuses of `n` calls to the stage "live" of `api_id`, once the
        data plane serves every change made."""
        self.gw.wait_loaded()
        return [self.gw.request("GET", api_id, "live", "/echo").status for _ in range(n)]

    # ---------------------------------------------------- aws_api_gateway_rest_api

    def test_rest_api(self):
        created = self.call("POST", "/restapis", {
            "name": "tf-api", "description": "Managed by Terraform", "tags": {"env": "dev"},
            "binaryMediaTypes": ["image/png"], "minimumCompressionSize": 1024, "policy": POLICY,
            "endpointConfiguration": {"types": ["REGIONAL"]}}, status=201)
        api_path = f"/restapis/{created['id']}"
        arn = f"arn:aws:apigateway:{REGION}::{api_path}"

        read = self.call("GET", api_path)
        self.assertIsInstance(read["createdDate"], int)
        self.assertEqual(read["tags"], {"env": "dev"})
        self.assertEqual(read["binaryMediaTypes"], ["image/png"])
        self.assertEqual(read["minimumCompressionSize"], 1024)
        self.assertEqual(read["endpointConfiguration"]["types"], ["REGIONAL"])
        self.assertEqual(read["apiKeySource"], "HEADER")
        self.assertIs(read["disableExecuteApiEndpoint"], False)
        self.assertEqual(unescape_policy(read["policy"]), POLICY)
        self.assertIn("\\/", read["policy"], "AWS escapes / in the policy, and so does tollgate")
        resources = self.call("GET", api_path + "/resources")["item"]
        self.assertEqual([r["path"] for r in resources], ["/"], "the root is listed")
        listed = next(a for a in self.call("GET", "/restapis", query="limit=500")["item"]
                      if a["id"] == created["id"])
        self.assertEqual((listed["tags"], unescape_policy(listed["policy"])), (read["tags"], POLICY),
                         "the data source reads tags and policy from the list")

        # Update: every changed attribute in one UpdateRestApi, tags apart.
        new_policy = POLICY.replace("Allow", "Deny")
        self.patch(api_path,
                   ("remove", "/binaryMediaTypes/" + pointer("image/png")),
                   ("add", "/binaryMediaTypes/" + pointer("*/*")),
                   ("replace", "/minimumCompressionSize"),
                   ("replace", "/endpointConfiguration/types/0", "EDGE"),
                   ("replace", "/policy", new_policy),
                   ("replace", "/disableExecuteApiEndpoint", "true"),
                   ("replace", "/description", ""),
                   ("replace", "/name", "tf-api-renamed"))
        self.call("DELETE", arn_path(arn), query="tagKeys=env", status=204)
        self.call("PUT", arn_path(arn), {"tags": {"team": "billing", "tier": "gold"}}, status=204)
        read = self.call("GET", api_path)
        self.assertEqual(read["binaryMediaTypes"], ["*/*"])
        self.assertNotIn("minimumCompressionSize", read, "a replace without a value unsets it")
        self.assertEqual(read["endpointConfiguration"]["types"], ["EDGE"])
        self.assertEqual(unescape_policy(read["policy"]), new_policy)
        self.assertIs(read["disableExecuteApiEndpoint"], True)
        self.assertNotIn("description", read)
        self.assertEqual(read["name"], "tf-api-renamed")
        self.assertEqual(read["tags"], {"team": "billing", "tier": "gold"})
        self.assertEqual(self.call("GET", arn_path(arn)), {"tags": read["tags"]})

        # A policy written with line breaks (as `jsonencode` does not, but the CLI
        # may send) is kept compact, so its escaped form still reads back.
        pretty = json.dumps(json.loads(new_policy), indent=2)
        self.patch(api_path, ("replace", "/policy", pretty))
        self.assertEqual(json.loads(unescape_policy(self.call("GET", api_path)["policy"])),
                         json.loads(new_policy))
        self.patch(api_path, ("replace", "/policy", new_policy))
        read = self.call("GET", api_path)

        # An empty patch list changes nothing; a bad one says what it may be.
        self.assertEqual(self.patch(api_path), read)
        _, error_type, message = self.refused("PATCH", api_path, {"patchOperations": [
            {"op": "replace", "path": "/policy", "value": "not json"}]})
        self.assertEqual((error_type, message),
                         ("BadRequestException", "Invalid policy document: it must be a JSON object"))
        _, _, message = self.refused("PUT", arn_path(arn), {"tags": {"aws:owner": "x"}})
        self.assertIn("reserved", message)
        _, _, message = self.refused("PUT", arn_path(arn),
                                     {"tags": {f"k{i}": "v" for i in range(51)}})
        self.assertIn("at most 50", message)

        self.call("DELETE", api_path, status=202)
        self.assertGone(api_path)
        status, error_type, _ = self.refused("DELETE", api_path)
        self.assertEqual((status, error_type), (404, "NotFoundException"),
                         "the provider takes this as already deleted")

    # ------------------------- aws_api_gateway_resource, _method, _method_response

    def test_resource_method_and_method_response(self):
        api_id, root_id = self.rest_api("tf-resources")
        api_path = f"/restapis/{api_id}"
        a = self.call("POST", f"{api_path}/resources/{root_id}", {"pathPart": "a"}, status=201)
        b = self.call("POST", f"{api_path}/resources/{root_id}", {"pathPart": "b"}, status=201)
        c = self.call("POST", f"{api_path}/resources/{a['id']}", {"pathPart": "c"}, status=201)
        leaf = self.call("POST", f"{api_path}/resources/{c['id']}", {"pathPart": "{id}"}, status=201)

        # UpdateResource: a new parent and name; the paths below follow.
        moved = self.patch(f"{api_path}/resources/{c['id']}",
                           ("replace", "/parentId", b["id"]), ("replace", "/pathPart", "d"))
        self.assertEqual((moved["path"], moved["parentId"], moved["pathPart"]), ("/b/d", b["id"], "d"))
        self.assertEqual(self.call("GET", f"{api_path}/resources/{leaf['id']}")["path"], "/b/d/{id}")
        _, _, message = self.refused("PATCH", f"{api_path}/resources/{b['id']}", {"patchOperations": [
            {"op": "replace", "path": "/parentId", "value": leaf["id"]}]})
        self.assertEqual(message, "A resource cannot move below itself")
        _, _, message = self.refused("PATCH", f"{api_path}/resources/{b['id']}", {"patchOperations": [
            {"op": "replace", "path": "/pathPart", "value": "{proxy+}"}]})
        self.assertEqual(message, "A greedy path parameter resource {proxy+} cannot have children")

        # aws_api_gateway_method: apiKeyRequired false is left out of the body.
        method_path = f"{api_path}/resources/{leaf['id']}/methods/GET"
        self.call("PUT", method_path, {"authorizationType": "NONE", "requestParameters": {
            "method.request.path.id": True, "method.request.header.X-Trace": False}}, status=201)
        read = self.call("GET", method_path)
        self.assertIs(read["apiKeyRequired"], False)
        self.assertEqual(read["requestParameters"],
                         {"method.request.path.id": True, "method.request.header.X-Trace": False})
        self.patch(method_path,
                   ("replace", "/apiKeyRequired", "true"),
                   ("remove", "/requestParameters/method.request.header.X-Trace"),
                   ("add", "/requestParameters/method.request.querystring.q", "false"),
                   ("add", "/requestModels/" + pointer("application/json"), "Empty"),
                   ("replace", "/operationName"),
                   ("replace", "/requestValidatorId"))
        read = self.call("GET", method_path)
        self.assertIs(read["apiKeyRequired"], True)
        self.assertEqual(read["requestParameters"],
                         {"method.request.path.id": True, "method.request.querystring.q": False})
        self.assertEqual(read["requestModels"], {"application/json": "Empty"})
        self.assertNotIn("operationName", read)
        # Then the provider looks for the method's integration: none yet.
        self.assertGone(method_path + "/integration")
        _, _, message = self.refused("PUT", f"{api_path}/resources/{a['id']}/methods/POST", {
            "authorizationType": "NONE", "requestParameters": {"method.request.body.x": True}})
        self.assertIn("Invalid parameter name 'method.request.body.x'", message)

        # aws_api_gateway_method_response.
        response_path = method_path + "/responses/200"
        put = self.call("PUT", response_path, {
            "responseModels": {"application/json": "Empty"},
            "responseParameters": {"method.response.header.X-Total": False}}, status=201)
        self.assertEqual(put, {"statusCode": "200", "responseModels": {"application/json": "Empty"},
                               "responseParameters": {"method.response.header.X-Total": False}})
        self.assertEqual(self.call("GET", response_path), put)
        self.patch(response_path,
                   ("remove", "/responseModels/" + pointer("application/json")),
                   ("replace", "/responseParameters/method.response.header.X-Total", "true"),
                   ("add", "/responseParameters/method.response.header.X-Next", "false"))
        self.assertEqual(self.call("GET", response_path), {
            "statusCode": "200", "responseParameters": {"method.response.header.X-Total": True,
                                                        "method.response.header.X-Next": False}})
        self.assertIn("200", self.call("GET", method_path)["methodResponses"])
        self.call("DELETE", response_path, status=204)
        self.assertGone(response_path)

        self.call("DELETE", method_path, status=204)
        self.assertGone(method_path)
        self.call("DELETE", f"{api_path}/resources/{b['id']}", status=202)
        self.assertGone(f"{api_path}/resources/{leaf['id']}")
        self.assertEqual([r["path"] for r in self.call("GET", f"{api_path}/resources")["item"]],
                         ["/", "/a"])

    # --------------------- aws_api_gateway_integration, _integration_response

    def test_integration_and_integration_response(self):
        api_id, root_id = self.rest_api("tf-integration")
        api_path = f"/restapis/{api_id}"
        items = self.call("POST", f"{api_path}/resources/{root_id}", {"pathPart": "items"}, status=201)
        method_path = f"{api_path}/resources/{items['id']}/methods/GET"
        self.call("PUT", method_path, {"authorizationType": "NONE",
                                       "requestParameters": {"method.request.header.X-Id": True}},
                  status=201)
        # Create: connectionType and timeoutInMillis always sent; cacheNamespace
        # is the resource id when cacheKeyParameters are set; tlsConfig {} when
        # insecure_skip_verification is false.
        integration_path = method_path + "/integration"
        self.call("PUT", integration_path, {
            "type": "HTTP", "connectionType": "INTERNET", "timeoutInMillis": 29000,
            "httpMethod": "GET", "uri": f"http://127.0.0.1:{self.backend.port}/items",
            "cacheKeyParameters": ["method.request.header.X-Id"], "cacheNamespace": items["id"],
            "requestParameters": {"integration.request.header.X-Id": "method.request.header.X-Id"},
            "requestTemplates": {"application/json": ""}, "passthroughBehavior": "WHEN_NO_TEMPLATES",
            "tlsConfig": {}}, status=201)
        read = self.call("GET", integration_path)
        self.assertEqual({k: read.get(k) for k in (
            "type", "httpMethod", "timeoutInMillis", "connectionType", "cacheNamespace",
            "cacheKeyParameters", "passthroughBehavior", "requestParameters", "requestTemplates")}, {
            "type": "HTTP", "httpMethod": "GET", "timeoutInMillis": 29000, "connectionType": "INTERNET",
            "cacheNamespace": items["id"], "cacheKeyParameters": ["method.request.header.X-Id"],
            "passthroughBehavior": "WHEN_NO_TEMPLATES",
            "requestParameters": {"integration.request.header.X-Id": "method.request.header.X-Id"},
            "requestTemplates": {"application/json": ""}})
        self.assertNotIn("tlsConfig", read, "tls_config is not Computed: an unset one must read back as none")

        # Update, first stage: the ordinary paths (a remove carries its value).
        self.patch(integration_path,
                   ("replace", "/timeoutInMillis", "5000"),
                   ("remove", "/requestParameters/integration.request.header.X-Id",
                    "method.request.header.X-Id"),
                   ("add", "/requestParameters/integration.request.querystring.id",
                    "method.request.header.X-Id"),
                   ("remove", "/requestTemplates/" + pointer("application/json")),
                   ("replace", "/contentHandling", "CONVERT_TO_TEXT"),
                   ("replace", "/tlsConfig/insecureSkipVerification", "true"))
        # Second stage: the cache key changes, values "".
        self.patch(integration_path,
                   ("remove", "/cacheKeyParameters/method.request.header.X-Id", ""),
                   ("add", "/cacheKeyParameters/method.request.querystring.q", ""))
        read = self.call("GET", integration_path)
        self.assertEqual(read["timeoutInMillis"], 5000)
        self.assertEqual(read["requestParameters"],
                         {"integration.request.querystring.id": "method.request.header.X-Id"})
        self.assertNotIn("requestTemplates", read)
        self.assertEqual(read["contentHandling"], "CONVERT_TO_TEXT")
        self.assertEqual(read["tlsConfig"], {"insecureSkipVerification": True})
        self.assertEqual(read["cacheKeyParameters"], ["method.request.querystring.q"])
        self.assertEqual(self.patch(integration_path), read, "an empty patch list changes nothing")
        _, _, message = self.refused("PATCH", integration_path, {"patchOperations": [
            {"op": "replace", "path": "/connectionType", "value": "VPC_LINK"}]})
        self.assertIn("only INTERNET is supported", message)
        _, _, message = self.refused("PATCH", integration_path, {"patchOperations": [
            {"op": "replace", "path": "/uri", "value": "ftp://example.com/"}]})
        self.assertEqual(message, "Invalid HTTP endpoint specified for URI")

        # aws_api_gateway_integration_response: create and update are the same PUT,
        # which replaces what was there.
        response_path = integration_path + "/responses/200"
        self.call("PUT", response_path, {"selectionPattern": "2\\d{2}",
                                         "responseTemplates": {"application/json": "$input.body"},
                                         "contentHandling": "CONVERT_TO_TEXT"}, status=201)
        self.assertEqual(self.call("GET", response_path), {
            "statusCode": "200", "selectionPattern": "2\\d{2}", "contentHandling": "CONVERT_TO_TEXT",
            "responseTemplates": {"application/json": "$input.body"}})
        self.call("PUT", response_path, {"responseParameters": {
            "method.response.header.X-From": "integration.response.header.X-From"}}, status=201)
        self.assertEqual(self.call("GET", response_path), {
            "statusCode": "200",
            "responseParameters": {"method.response.header.X-From": "integration.response.header.X-From"}})
        self.patch(response_path, ("replace", "/selectionPattern", "200"),
                   ("add", "/responseTemplates/" + pointer("text/plain"), "ok"))
        read = self.call("GET", response_path)
        self.assertEqual((read["selectionPattern"], read["responseTemplates"]), ("200", {"text/plain": "ok"}))
        self.call("DELETE", response_path, status=204)
        self.assertGone(response_path)
        self.call("DELETE", integration_path, status=204)
        self.assertGone(integration_path)

    # ------------- aws_api_gateway_deployment, _stage, _method_settings

    def test_deployment_stage_and_method_settings(self):
        api_id, root_id = self.rest_api("tf-stage")
        api_path = f"/restapis/{api_id}"
        echo = self.call("POST", f"{api_path}/resources/{root_id}", {"pathPart": "echo"}, status=201)
        self.http_method(api_id, echo["id"], uri="http://${stageVariables.backend}/")

        # Deployment, as provider v6 creates it, then as v5 does (empty stage name: no stage).
        first = self.call("POST", f"{api_path}/deployments", {"description": "", "variables": {}}, status=201)
        read = self.call("GET", f"{api_path}/deployments/{first['id']}")
        self.assertIsInstance(read["createdDate"], int)
        self.assertNotIn("description", read)
        self.patch(f"{api_path}/deployments/{first['id']}", ("replace", "/description", "first"))
        self.assertEqual(self.call("GET", f"{api_path}/deployments/{first['id']}")["description"], "first")
        second = self.call("POST", f"{api_path}/deployments", {
            "description": "", "stageName": "", "stageDescription": "", "variables": {}}, status=201)
        self.assertEqual(self.call("GET", f"{api_path}/stages")["item"], [])
        summary = self.call("GET", f"{api_path}/deployments/{second['id']}", query="embed=apisummary")
        self.assertEqual(summary["apiSummary"],
                         {"/echo": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}}})

        # Stage: caching asked for, so the provider waits for AVAILABLE.
        backend = f"127.0.0.1:{self.backend.port}"
        stage_path = f"{api_path}/stages/live"
        created = self.call("POST", f"{api_path}/stages", {
            "stageName": "live", "deploymentId": first["id"], "tags": {"env": "prod"},
            "variables": {"backend": backend}, "cacheClusterEnabled": True, "cacheClusterSize": "0.5",
            "tracingEnabled": True}, status=201)
        self.assertEqual(created["cacheClusterStatus"], "AVAILABLE")
        read = self.call("GET", stage_path)
        self.assertEqual({k: read.get(k) for k in (
            "deploymentId", "variables", "cacheClusterEnabled", "cacheClusterSize", "tracingEnabled",
            "tags")}, {"deploymentId": first["id"], "variables": {"backend": backend},
                       "cacheClusterEnabled": True, "cacheClusterSize": "0.5", "tracingEnabled": True,
                       "tags": {"env": "prod"}})
        self.gw.wait_loaded()
        self.assertEqual(self.gw.request("GET", api_id, "live", "/echo").status, 200,
                         "the stage variable names the backend")

        # access_log_settings set: the provider updates the stage right after
        # creating it, repeating what is already set.
        log_arn = "arn:aws:logs:us-east-1:123456789012:log-group:api-access"
        self.patch(stage_path, ("replace", "/deploymentId", first["id"]),
                   ("replace", "/variables/backend", backend),
                   ("replace", "/accessLogSettings/destinationArn", log_arn),
                   ("replace", "/accessLogSettings/format", "$context.requestId"),
                   ("replace", "/clientCertificateId", ""))
        self.assertEqual(self.call("GET", stage_path)["accessLogSettings"],
                         {"destinationArn": log_arn, "format": "$context.requestId"})
        self.patch(stage_path, ("remove", "/accessLogSettings"))
        self.assertNotIn("accessLogSettings", self.call("GET", stage_path))
        _, _, message = self.refused("PATCH", stage_path, {"patchOperations": [
            {"op": "replace", "path": "/clientCertificateId", "value": "abc123"}]})
        self.assertIn("Client certificates are not supported", message)

        # Update: variables replace (creating) and remove; tags through /tags/.
        arn = f"arn:aws:apigateway:{REGION}::{stage_path}"
        self.patch(stage_path, ("replace", "/deploymentId", second["id"]),
                   ("replace", "/variables/region", "eu"), ("replace", "/cacheClusterEnabled", "false"),
                   ("replace", "/tracingEnabled", "false"), ("replace", "/description", "live stage"))
        self.call("PUT", arn_path(arn), {"tags": {"team": "api"}}, status=204)
        self.call("DELETE", arn_path(arn), query="tagKeys=env&tagKeys=absent", status=204)
        read = self.call("GET", stage_path)
        self.assertEqual((read["deploymentId"], read["variables"], read["cacheClusterStatus"],
                          read["tracingEnabled"], read["tags"]),
                         (second["id"], {"backend": backend, "region": "eu"}, "NOT_AVAILABLE", False,
                          {"team": "api"}))
        _, _, message = self.refused("POST", f"{api_path}/stages", {
            "stageName": "canary", "deploymentId": first["id"],
            "canarySettings": {"percentTraffic": 10, "deploymentId": first["id"]}})
        self.assertIn("canary settings are not supported", message)

        # aws_api_gateway_method_settings for "*/*" with only logging set: the
        # throttles go as -1, "disabled", and read back as -1.
        self.patch(stage_path, ("replace", "/*/*/metrics/enabled", "true"),
                   ("replace", "/*/*/logging/loglevel", "INFO"),
                   ("replace", "/*/*/throttling/burstLimit", "-1"),
                   ("replace", "/*/*/throttling/rateLimit", "-1.000000"))
        settings = self.call("GET", stage_path)["methodSettings"]["*/*"]
        self.assertEqual((settings["metricsEnabled"], settings["loggingLevel"],
                          settings["throttlingBurstLimit"], settings["throttlingRateLimit"]),
                         (True, "INFO", -1, -1.0))
        self.assertEqual(self.served(api_id, 3), [200] * 3, "-1 puts no limit on the methods")
        self.patch(stage_path, ("replace", "/*/*/throttling/burstLimit", "1"),
                   ("replace", "/*/*/throttling/rateLimit", str(TINY)))
        self.assertEqual(self.served(api_id, 2), [200, 429], "a */* throttle holds each method")

        # One method's settings, keyed by the method_path as written (not
        # ~1-escaped): -1 overrides the */* throttle for it; a rate with a
        # burst of -1 takes the account's burst.
        self.patch(stage_path, ("replace", "/echo/GET/throttling/burstLimit", "-1"),
                   ("replace", "/echo/GET/throttling/rateLimit", "-1.000000"))
        self.assertIn("echo/GET", self.call("GET", stage_path)["methodSettings"])
        self.assertEqual(self.served(api_id, 3), [200] * 3, "the method's -1 over */*")
        self.patch(stage_path, ("replace", "/echo/GET/throttling/rateLimit", str(TINY)))
        self.assertEqual(self.served(api_id, 3), [200] * 3, "the account's burst of 5000")
        self.patch(stage_path, ("replace", "/echo/GET/throttling/burstLimit", "1"))
        self.gw.wait_loaded()
        answers = [self.gw.request("GET", api_id, "live", "/echo") for _ in range(2)]
        self.assertEqual([r.status for r in answers], [200, 429])
        self.assertEqual(json.loads(answers[1].body), TOO_MANY)

        # Delete the method settings, then again: the provider ignores that refusal.
        self.patch(stage_path, ("remove", "/echo/GET"))
        _, _, message = self.refused("PATCH", stage_path, {"patchOperations": [
            {"op": "remove", "path": "/echo/GET"}]})
        self.assertIn("no method setting for this method", message)

        # A deployment a stage serves stays; the stage goes, then the deployment.
        status, _, message = self.refused("DELETE", f"{api_path}/deployments/{second['id']}")
        self.assertEqual((status, message),
                         (400, "Active stages pointing to this deployment must be moved or deleted"))
        self.call("DELETE", stage_path, status=202)
        self.assertGone(stage_path)
        self.call("DELETE", f"{api_path}/deployments/{second['id']}", status=202)
        self.assertGone(f"{api_path}/deployments/{second['id']}")

    # ------------------------------------------------- aws_api_gateway_authorizer

    def test_authorizer(self):
        api_id, root_id = self.rest_api("tf-authorizer")
        api_path = f"/restapis/{api_id}"
        uri = "http://127.0.0.1:9/authorize"
        # Create as the provider does: identitySource and the TTL always sent.
        created = self.call("POST", f"{api_path}/authorizers", {
            "name": "tf-auth", "type": "TOKEN", "authorizerUri": uri,
            "identitySource": "method.request.header.Authorization",
            "authorizerResultTtlInSeconds": 300}, status=201)
        auth_path = f"{api_path}/authorizers/{created['id']}"
        self.assertEqual(self.call("GET", auth_path), {
            "id": created["id"], "name": "tf-auth", "type": "TOKEN", "authType": "custom",
            "authorizerUri": uri, "identitySource": "method.request.header.Authorization",
            "authorizerResultTtlInSeconds": 300})
        # Without a TTL none is reported, as on AWS (300 applies).
        request = self.call("POST", f"{api_path}/authorizers", {
            "name": "by-request", "type": "REQUEST", "authorizerUri": uri,
            "identitySource": "method.request.header.X-User, method.request.querystring.team"},
            status=201)
        self.assertNotIn("authorizerResultTtlInSeconds", request)
        self.assertEqual([a["id"] for a in self.call("GET", f"{api_path}/authorizers")["item"]],
                         sorted([created["id"], request["id"]]))

        self.patch(auth_path, ("replace", "/name", "renamed"),
                   ("replace", "/identityValidationExpression", "^Bearer [-0-9a-zA-Z._]+$"),
                   ("replace", "/authorizerResultTtlInSeconds", "0"))
        read = self.call("GET", auth_path)
        self.assertEqual((read["name"], read["identityValidationExpression"],
                          read["authorizerResultTtlInSeconds"]),
                         ("renamed", "^Bearer [-0-9a-zA-Z._]+$", 0))
        for body, why in (
                ({"name": "x", "type": "TOKEN", "authorizerUri": uri,
                  "identitySource": "method.request.querystring.token"}, "Invalid token source expression"),
                ({"name": "x", "type": "TOKEN", "identitySource": "method.request.header.A",
                  "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations"},
                 "Lambda functions are not supported"),
                ({"name": "x", "type": "REQUEST", "authorizerUri": uri}, "Identity source must be set"),
                ({"name": "x", "type": "TOKEN", "authorizerUri": uri, "identitySource": "method.request.header.A",
                  "authorizerResultTtlInSeconds": 3601}, "between 0 and 3600"),
                ({"name": "x", "type": "TOKEN", "authorizerUri": uri, "identitySource": "method.request.header.A",
                  "authorizerCredentials": "arn:aws:iam::123456789012:role/x"}, "authorizerCredentials are not supported")):
            _, _, message = self.refused("POST", f"{api_path}/authorizers", body)
            self.assertIn(why, message)
        status, error_type, _ = self.refused("POST", f"{api_path}/authorizers", {
            "name": "x", "type": "COGNITO_USER_POOLS", "authorizerUri": uri})
        self.assertEqual((status, error_type), (400, "ValidationException"))

        # A method names it; until tollgate calls authorizers such a method is
        # refused with AWS's configuration error, never served unchecked.
        orders = self.call("POST", f"{api_path}/resources/{root_id}", {"pathPart": "orders"}, status=201)
        method_path = f"{api_path}/resources/{orders['id']}/methods/GET"
        _, _, message = self.refused("PUT", method_path, {"authorizationType": "CUSTOM"})
        self.assertEqual(message, "Invalid authorizer ID specified. Setting the authorization type to "
                                  "CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.")
        self.call("PUT", method_path, {"authorizationType": "CUSTOM", "authorizerId": created["id"]},
                  status=201)
        self.assertEqual(self.call("GET", method_path)["authorizerId"], created["id"])
        self.call("PUT", method_path + "/integration", {
            "type": "HTTP_PROXY", "httpMethod": "ANY", "uri": f"http://127.0.0.1:{self.backend.port}/"},
            status=201)
        deployment = self.call("POST", f"{api_path}/deployments", {"stageName": "live"}, status=201)
        self.assertEqual(self.call("GET", f"{api_path}/deployments/{deployment['id']}",
                                   query="embed=apisummary")["apiSummary"]["/orders"]["GET"]
                         ["authorizationType"], "CUSTOM")
        self.gw.wait_loaded()
        answer = self.gw.request("GET", api_id, "live", "/orders")
        self.assertEqual((answer.status, answer.headers.get("x-amzn-ErrorType"), json.loads(answer.body)),
                         (500, "AuthorizerConfigurationException", {"message": None}))

        status, error_type, message = self.refused("DELETE", auth_path)
        self.assertEqual((status, error_type, message),
                         (409, "ConflictException",
                          "Cannot delete authorizer 'renamed', is referenced in method: GET//orders"))
        self.patch(method_path, ("replace", "/authorizationType", "NONE"))
        self.assertNotIn("authorizerId", self.call("GET", method_path))
        self.call("DELETE", auth_path, status=202)
        self.assertGone(auth_path)

    # ------------------------------- the same operations through the AWS CLI

    def cli(self, *args):
        """/usr/bin/aws (botocore's own serialisation of each input); its JSON output."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        nowhere = os.path.join(self.workdir, "no-such-aws-config")
        env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                    "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere,
                    "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true"})
        result = subprocess.run(["aws", "--endpoint-url", f"http://127.0.0.1:{self.gw.admin_port}",
                                 "--region", REGION, "--output", "json", "apigateway", *args],
                                capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(result.returncode, 0, f"aws apigateway {' '.join(args)}: {result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else None

    def test_aws_cli(self):
        api = self.cli("create-rest-api", "--name", "cli-api", "--tags", "env=dev",
                       "--binary-media-types", "image/png", "--policy", POLICY)
        self.assertEqual(unescape_policy(api["policy"]), POLICY)
        api_id = api["id"]
        root = self.cli("get-resources", "--rest-api-id", api_id)["items"][0]["id"]
        res = self.cli("create-resource", "--rest-api-id", api_id, "--parent-id", root,
                       "--path-part", "orders")["id"]
        at = ["--rest-api-id", api_id, "--resource-id", res, "--http-method", "GET"]
        self.cli("put-method", *at, "--authorization-type", "NONE",
                 "--request-parameters", "method.request.querystring.page=false")
        self.cli("put-method-response", *at, "--status-code", "200",
                 "--response-parameters", "method.response.header.X-Total=true",
                 "--response-models", "application/json=Empty")
        self.cli("update-method-response", *at, "--status-code", "200", "--patch-operations",
                 "op=remove,path=/responseModels/application~1json")
        self.assertEqual(self.cli("get-method-response", *at, "--status-code", "200"),
                         {"statusCode": "200",
                          "responseParameters": {"method.response.header.X-Total": True}})
        self.cli("put-integration", *at, "--type", "HTTP", "--integration-http-method", "GET",
                 "--uri", f"http://127.0.0.1:{self.backend.port}/orders")
        updated = self.cli("update-integration", *at, "--patch-operations",
                           "op=replace,path=/timeoutInMillis,value=1000",
                           "op=add,path=/requestParameters/integration.request.querystring.p,"
                           "value=method.request.querystring.page")
        self.assertEqual((updated["timeoutInMillis"], updated["requestParameters"]),
                         (1000, {"integration.request.querystring.p": "method.request.querystring.page"}))
        self.cli("put-integration-response", *at, "--status-code", "200", "--selection-pattern", "")
        self.cli("update-integration-response", *at, "--status-code", "200", "--patch-operations",
                 "op=replace,path=/selectionPattern,value=2..")
        self.assertEqual(self.cli("get-integration-response", *at, "--status-code", "200")
                         ["selectionPattern"], "2..")
        self.cli("delete-integration-response", *at, "--status-code", "200")
        moved = self.cli("update-resource", "--rest-api-id", api_id, "--resource-id", res,
                         "--patch-operations", "op=replace,path=/pathPart,value=purchases")
        self.assertEqual(moved["path"], "/purchases")
        deployment = self.cli("create-deployment", "--rest-api-id", api_id, "--stage-name", "v1",
                              "--tracing-enabled")
        summary = self.cli("get-deployment", "--rest-api-id", api_id, "--deployment-id",
                           deployment["id"], "--embed", "apisummary")["apiSummary"]
        self.assertEqual(list(summary), ["/purchases"])
        self.assertIs(self.cli("get-stage", "--rest-api-id", api_id, "--stage-name", "v1")
                      ["tracingEnabled"], True)
        stage_arn = f"arn:aws:apigateway:{REGION}::/restapis/{api_id}/stages/v1"
        self.cli("tag-resource", "--resource-arn", stage_arn, "--tags", "team=orders")
        self.assertEqual(self.cli("get-tags", "--resource-arn", stage_arn), {"tags": {"team": "orders"}})
        self.cli("untag-resource", "--resource-arn", stage_arn, "--tag-keys", "team")
        self.assertEqual(self.cli("get-tags", "--resource-arn", stage_arn), {"tags": {}})

    # ---------------------- the data sources' paging across a deleted item

    def pages_deleting_boundary(self, path, delete, query=""):
        """Every item's id, paging two at a time, after deleting (with `delete`)
        the item that would begin the second page; and the full listing from
        before, less that item."""
        whole = [x["id"] for x in self.call("GET", path, query="limit=500" + query)["item"]]
        self.assertGreater(len(whole), 3, path)
        page = self.call("GET", path, query="limit=2" + query)
        listed = [x["id"] for x in page["item"]]
        delete(whole[2])
        while "position" in page:
            page = self.call("GET", path, query="limit=2&position=" +
                             urllib.parse.quote(page["position"], safe="") + query)
            listed += [x["id"] for x in page["item"]]
        return listed, [i for i in whole if i != whole[2]]

    def test_paging_goes_on_past_a_deleted_item(self):
        for n in range(4):
            self.rest_api(f"tf-paging-{n}")
        listed, expected = self.pages_deleting_boundary(
            "/restapis", lambda api_id: self.call("DELETE", f"/restapis/{api_id}", status=202))
        self.assertEqual(listed, expected, "GetRestApis")

        api_id, root_id = self.rest_api("tf-paging-resources")
        for part in ("a", "b", "c", "d"):
            self.call("POST", f"/restapis/{api_id}/resources/{root_id}", {"pathPart": part}, status=201)
        listed, expected = self.pages_deleting_boundary(
            f"/restapis/{api_id}/resources",
            lambda rid: self.call("DELETE", f"/restapis/{api_id}/resources/{rid}", status=202),
            query="&embed=methods")
        self.assertEqual(listed, expected, "GetResources")

        for n in range(4):
            self.call("POST", "/apikeys", {"name": f"tf-paging-{n}", "value": ""}, status=201)
        listed, expected = self.pages_deleting_boundary(
            "/apikeys", lambda key_id: self.call("DELETE", f"/apikeys/{key_id}", status=202),
            query="&includeValues=true")
        self.assertEqual(listed, expected, "GetApiKeys")

        for n in range(4):
            self.call("POST", "/usageplans", {"name": f"tf-paging-{n}"}, status=201)
        listed, expected = self.pages_deleting_boundary(
            "/usageplans", lambda plan_id: self.call("DELETE", f"/usageplans/{plan_id}", status=202))
        self.assertEqual(listed, expected, "GetUsagePlans")

    # ---------- aws_api_gateway_api_key, _usage_plan, _usage_plan_key, _account

    def test_api_key_usage_plan_and_account(self):
        api_id, root_id = self.rest_api("tf-plans")
        api_path = f"/restapis/{api_id}"
        pets = self.call("POST", f"{api_path}/resources/{root_id}", {"pathPart": "pets"}, status=201)
        self.http_method(api_id, pets["id"])
        deployment = self.call("POST", f"{api_path}/deployments", {"description": ""}, status=201)
        self.call("POST", f"{api_path}/stages", {"stageName": "prod", "deploymentId": deployment["id"]},
                  status=201)

        # aws_api_gateway_api_key: value "" means "generate one".
        key = self.call("POST", "/apikeys", {"name": "tf-key", "description": "Managed by Terraform",
                                             "enabled": True, "value": "", "tags": {"plan": "gold"}},
                        status=201)
        read = self.call("GET", f"/apikeys/{key['id']}", query="includeValue=true")
        self.assertGreaterEqual(len(read["value"]), 20)
        self.assertIsInstance(read["createdDate"], int)
        self.assertIsInstance(read["lastUpdatedDate"], int)
        self.assertEqual((read["enabled"], read["tags"]), (True, {"plan": "gold"}))
        _, _, message = self.refused("POST", "/apikeys", {
            "name": "staged", "stageKeys": [{"restApiId": api_id, "stageName": "prod"}]})
        self.assertIn("stageKeys are not supported", message)

        # aws_api_gateway_usage_plan: created, then updated the provider's way.
        plan = self.call("POST", "/usageplans", {
            "name": "tf-plan", "tags": {}, "apiStages": [{"apiId": api_id, "stage": "prod"}],
            "quota": {"limit": 1000, "offset": 0, "period": "MONTH"}}, status=201)
        plan_path = f"/usageplans/{plan['id']}"
        stage = f"{api_id}:prod"
        self.patch(plan_path, ("remove", "/apiStages", stage), ("add", "/apiStages", stage),
                   ("replace", f"/apiStages/{stage}/throttle//pets/GET/rateLimit", "5"),
                   ("replace", f"/apiStages/{stage}/throttle//pets/GET/burstLimit", "2"),
                   ("replace", "/throttle/rateLimit", "10"), ("replace", "/throttle/burstLimit", "20"),
                   ("replace", "/quota/limit", "5000"), ("replace", "/quota/offset", "0"),
                   ("replace", "/quota/period", "WEEK"))
        read = self.call("GET", plan_path)
        self.assertEqual(read["apiStages"], [{"apiId": api_id, "stage": "prod", "throttle": {
            "/pets/GET": {"burstLimit": 2, "rateLimit": 5.0}}}])
        self.assertEqual(read["throttle"], {"burstLimit": 20, "rateLimit": 10.0})
        self.assertEqual(read["quota"], {"limit": 5000, "offset": 0, "period": "WEEK"})
        _, _, message = self.refused("PATCH", plan_path, {"patchOperations": [
            {"op": "replace", "path": "/quota/limit", "value": "2147483648"}]})
        self.assertEqual(message, "Invalid quota limit 2147483648: must be at most 2147483647")

        # Tags on the key and the plan, through /tags/ as on the REST API and the stage.
        for arn, read_path in ((f"arn:aws:apigateway:{REGION}::/apikeys/{key['id']}",
                                f"/apikeys/{key['id']}"),
                               (f"arn:aws:apigateway:{REGION}::{plan_path}", plan_path)):
            self.call("PUT", arn_path(arn), {"tags": {"team": "billing"}}, status=204)
            self.call("DELETE", arn_path(arn), query="tagKeys=plan", status=204)
            self.assertEqual(self.call("GET", arn_path(arn)), {"tags": {"team": "billing"}})
            self.assertEqual(self.call("GET", read_path)["tags"], {"team": "billing"}, read_path)
            for bad, why in (({"k" * 129: "v"}, "1 to 128 characters"),
                             ({"team": "v" * 257}, "at most 256 characters"),
                             ({"aws:cost": "x"}, "reserved"),
                             ({f"t{i}": "v" for i in range(50)}, "at most 50")):
                _, error_type, message = self.refused("PUT", arn_path(arn), {"tags": bad})
                self.assertEqual(error_type, "BadRequestException")
                self.assertIn(why, message)
            self.call("PUT", arn_path(arn), {"tags": {"k" * 128: "v" * 256}}, status=204)
            self.call("DELETE", arn_path(arn), query="tagKeys=" + "k" * 128, status=204)

        # aws_api_gateway_usage_plan_key.
        member = self.call("POST", plan_path + "/keys", {"keyId": key["id"], "keyType": "API_KEY"},
                           status=201)
        read = self.call("GET", f"{plan_path}/keys/{member['id']}")
        self.assertEqual((read["id"], read["type"], read["name"], read["value"]),
                         (key["id"], "API_KEY", "tf-key", self.call(
                             "GET", f"/apikeys/{key['id']}", query="includeValue=true")["value"]))
        self.call("DELETE", f"{plan_path}/keys/{key['id']}", status=202)

        # Destroy: the stages come off the plan first, then the plan goes.
        self.patch(plan_path, ("remove", "/apiStages", stage))
        self.call("DELETE", plan_path, status=202)
        self.assertGone(plan_path)
        self.call("DELETE", f"/apikeys/{key['id']}", status=202)

        # aws_api_gateway_account: state comes from UpdateAccount's answer;
        # destroy resets the role with a replace that has no value.
        account = self.patch("/account", ("replace", "/cloudwatchRoleArn",
                                          "arn:aws:iam::123456789012:role/apigw-logs"))
        self.assertEqual(account["cloudwatchRoleArn"], "arn:aws:iam::123456789012:role/apigw-logs")
        self.assertEqual((account["features"], account["apiKeyVersion"]), (["UsagePlans"], "4"))
        self.assertIn("throttleSettings", account)
        account = self.patch("/account", ("replace", "/cloudwatchRoleArn"))
        self.assertNotIn("cloudwatchRoleArn", account)
        self.assertEqual(self.call("GET", "/account"), account)


if __name__ == "__main__":
    unittest.main(argv=sys.argv)
