#!/usr/bin/env python3
"""OpenAPI import and export against a real `tollgate serve`: the AWS CLI's
import-rest-api, put-rest-api and get-export, the `openapi:` reference in a
`tollgate apply` declaration, and `tollgate apis import|export`. Every API
imported is deployed and called through the data plane.

The fixtures are AWS's PetStore example (fixtures/petstore-oas30.yaml and
fixtures/petstore-swagger20.json); its backend address is replaced by the echo
backend's before each import.

    TOLLGATE_BIN=build/tollgate python3 tests/integration/test_openapi.py [-v]

Standard library only.
"""
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

from harness import (FORBIDDEN, CliError, HERE, HOST, MISSING_TOKEN, TOLLGATE_BIN, Backend, Gateway,
                     aws, aws_cli_env)

FIXTURES = os.path.join(HERE, "fixtures")
PETSTORE_BACKEND = "http://petstore-demo-endpoint.execute-api.com"
STAGE = "test"
INTERNAL_ERROR = {"message": "Internal server error"}
SERIAL = itertools.count(1)  # unique names for keys, plans and files
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              "arn:aws:lambda:us-east-1:123456789012:function:hello/invocations")

# The PetStore's routes, as get-resources lists them.
PETSTORE_ROUTES = {"/": ["GET"], "/pets": ["GET", "OPTIONS", "POST"], "/pets/{petId}": ["GET", "OPTIONS"]}
NEW_PET = '{"type": "cat", "price": 123.11}'
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers")
CORS_REQUEST_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key"

# Requests whose answers must be the same from an API and from its exported
# and re-imported copy: (method, path, headers, body).
PETSTORE_PROBES = [
    ("GET", "/", {}, None),
    ("GET", "/pets?type=dog&page=2", {}, None),
    ("GET", "/pets/42", {}, None),
    ("POST", "/pets", {"Content-Type": "application/json"}, NEW_PET),
    ("OPTIONS", "/pets", {}, None),
    ("OPTIONS", "/pets/7", {}, None),
    ("DELETE", "/pets", {}, None),
]

# A second API, written here: a greedy path to an HTTP_PROXY integration
# under ANY, parameter mappings, an API key, a Lambda and a MOCK with 201.
# BACKEND is replaced by the echo backend's address.
EXTRAS_YAML = """\
openapi: 3.0.1
info:
  title: extras
  description: greedy paths, ANY, parameter mappings, an API key, a Lambda and a mock
  version: "1"
x-amazon-apigateway-api-key-source: HEADER
paths:
  /files/{proxy+}:
    x-amazon-apigateway-any-method:
      parameters:
        - name: proxy
          in: path
          required: true
          schema:
            type: string
      responses:
        "200":
          description: whatever the backend answers
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: BACKEND/files/{proxy}
        requestParameters:
          integration.request.path.proxy: method.request.path.proxy
        passthroughBehavior: when_no_match
        timeoutInMillis: 5000
  /headers:
    get:
      parameters:
        - name: x-client
          in: header
          schema:
            type: string
        - name: search
          in: query
          schema:
            type: string
      responses:
        "200":
          description: the echo
      x-amazon-apigateway-integration:
        type: http
        httpMethod: GET
        uri: BACKEND/mapped
        requestParameters:
          integration.request.header.x-static: "'fixed-value'"
          integration.request.header.x-from-client: method.request.header.x-client
          integration.request.querystring.q: method.request.querystring.search
        responses:
          default:
            statusCode: "200"
        passthroughBehavior: when_no_match
  /secret:
    get:
      security:
        - api_key: []
      responses:
        "200":
          description: the echo
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: BACKEND/secret
  /lambda:
    post:
      responses:
        "200":
          description: what the function answers
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: LAMBDA_URI
        passthroughBehavior: when_no_match
  /created:
    post:
      responses:
        "201":
          description: created
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 201}'
        responses:
          default:
            statusCode: "201"
            responseTemplates:
              application/json: '{"created": true}'
        passthroughBehavior: when_no_match
components:
  securitySchemes:
    api_key:
      type: apiKey
      name: x-api-key
      in: header
""".replace("LAMBDA_URI", LAMBDA_URI)

EXTRAS_ROUTES = {"/": [], "/created": ["POST"], "/files": [], "/files/{proxy+}": ["ANY"], "/headers": ["GET"],
                 "/lambda": ["POST"], "/secret": ["GET"]}

# (method, path, headers, body); KEY in a header is replaced by the API key.
EXTRAS_PROBES = [
    ("GET", "/files/a/b/c.txt?x=1", {}, None),
    ("DELETE", "/files/docs/readme", {}, None),
    ("PUT", "/files/up.bin", {"Content-Type": "application/octet-stream"}, "payload"),
    ("GET", "/files", {}, None),
    ("GET", "/headers?search=cats", {"x-client": "abc"}, None),
    ("GET", "/secret", {}, None),
    ("GET", "/secret", {"x-api-key": "KEY"}, None),
    ("POST", "/lambda", {"Content-Type": "application/json"}, "{}"),
    ("POST", "/created", {}, None),
]
# The echo's request headers compared between an API and its copy.
ECHOED_HEADERS = ("x-static", "x-from-client")


def minimal_api(backend_port, title="minimal"):
    """An OpenAPI 3 document (a dict) with one route, GET /pets, proxied to
    the echo backend; nothing in it earns a warning."""
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1"},
        "paths": {"/pets": {"get": {
            "responses": {"200": {"description": "the echo"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": f"http://{HOST}:{backend_port}/pets"}}}},
    }


def mock_operation(body, status=200):
    return {"responses": {str(status): {"description": "mock"}},
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": json.dumps({"statusCode": status})},
                "responses": {"default": {"statusCode": str(status),
                                          "responseTemplates": {"application/json": body}}}}}


def proxy_operation(method, uri, **mappings):
    """An HTTP_PROXY operation; mappings: integration.request.path.NAME from method.request.path.NAME."""
    integration = {"type": "http_proxy", "httpMethod": method, "uri": uri}
    if mappings:
        integration["requestParameters"] = {f"integration.request.path.{k}": f"method.request.path.{v}"
                                            for k, v in mappings.items()}
    return {"responses": {"200": {"description": "the echo"}}, "x-amazon-apigateway-integration": integration}


def without(doc, key):
    """doc without `key` anywhere in it (e.g. cacheNamespace, a resource id)."""
    if isinstance(doc, dict):
        return {k: without(v, key) for k, v in doc.items() if k != key}
    if isinstance(doc, list):
        return [without(v, key) for v in doc]
    return doc


class OpenApiTest(unittest.TestCase):
    """One echo backend and one `tollgate serve` (generated admin credentials)
    for the class; each test imports its own APIs."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-openapi-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.backend_url = f"http://{HOST}:{cls.backend.port}"
        cls.gw = Gateway(cls.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None,
                                           "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    # --- files

    def write(self, content, suffix=".yaml", name=None):
        """Writes `content` (text, bytes, or a dict written as JSON) to a new file in the workdir."""
        if isinstance(content, dict):
            content, suffix = json.dumps(content, indent=2), ".json"
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        if name:
            path = os.path.join(self.workdir, name)
        else:
            fd, path = tempfile.mkstemp(suffix=suffix, dir=self.workdir)
            os.close(fd)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def fixture_text(self, name):
        """A fixture's text with the PetStore backend replaced by the echo backend."""
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
            text = f.read()
        self.assertIn(PETSTORE_BACKEND, text)
        return text.replace(PETSTORE_BACKEND, self.backend_url)

    def fixture(self, name):
        return self.write(self.fixture_text(name), suffix=os.path.splitext(name)[1])

    def extras(self):
        return self.write(EXTRAS_YAML.replace("BACKEND", self.backend_url))

    # --- the AWS CLI

    def aws(self, *args):
        return aws(self.gw, self.workdir, *args)

    def aws_fail(self, *args):
        """Runs an aws apigateway command that must fail; the parsed error."""
        result = subprocess.run(["aws", "--endpoint-url", f"http://{HOST}:{self.gw.admin_port}",
                                 "--region", "us-east-1", "--output", "json", "apigateway", *args],
                                capture_output=True, text=True, timeout=120,
                                env=aws_cli_env(self.gw.data_dir, self.workdir))
        if result.returncode == 0:
            raise AssertionError(f"aws apigateway {' '.join(args)} succeeded: {result.stdout[:2000]}")
        return CliError(result)

    def assertCliError(self, err, code, operation=None):
        self.assertEqual(err.code, code, err)
        if operation:
            self.assertEqual(err.operation, operation, err)

    def import_api(self, path, *extra):
        return self.aws("import-rest-api", "--body", f"fileb://{path}", *extra)

    def put_api(self, api, path, *extra):
        return self.aws("put-rest-api", "--rest-api-id", api, "--body", f"fileb://{path}", *extra)

    def deploy(self, api, stage=STAGE):
        self.aws("create-deployment", "--rest-api-id", api, "--stage-name", stage)
        self.gw.wait_loaded()

    def export(self, api, export_type="oas30", accepts="application/json", extensions="apigateway", stage=STAGE):
        """get-export into a new file; the file's text."""
        out = os.path.join(self.workdir, f"export-{next(SERIAL)}-{api}-{export_type}"
                                         f".{'yaml' if 'yaml' in accepts else 'json'}")
        args = ["get-export", "--rest-api-id", api, "--stage-name", stage, "--export-type", export_type,
                "--accepts", accepts]
        if extensions:
            args += ["--parameters", f"extensions={extensions}"]
        self.aws(*args, out)
        with open(out, encoding="utf-8") as f:
            return f.read()

    def api_ids(self):
        return sorted(a["id"] for a in self.aws("get-rest-apis")["items"])

    def routes(self, api):
        """{resource path: sorted method names} of an API."""
        items = self.aws("get-resources", "--rest-api-id", api)["items"]
        return {r["path"]: sorted(r.get("resourceMethods", {})) for r in items}

    def snapshot(self, api):
        """Everything get-resources shows of an API, methods and integrations embedded."""
        items = self.aws("get-resources", "--rest-api-id", api, "--embed", "methods")["items"]
        return sorted(items, key=lambda r: r["path"])

    def resource_id(self, api, path):
        items = self.aws("get-resources", "--rest-api-id", api)["items"]
        return next(r["id"] for r in items if r["path"] == path)

    def integration(self, api, path, method):
        return self.aws("get-integration", "--rest-api-id", api, "--resource-id", self.resource_id(api, path),
                        "--http-method", method)

    def key_for(self, *api_stages):
        """An enabled key in a new plan covering (api, stage) pairs; its value."""
        n = next(SERIAL)
        value = f"openapi-key-{n:04d}-0123456789abcdef"
        key = self.aws("create-api-key", "--name", f"openapi-key-{n}", "--enabled", "--value", value)["id"]
        stages = ",".join(json.dumps({"apiId": a, "stage": s}) for a, s in api_stages)
        plan = self.aws("create-usage-plan", "--name", f"openapi-plan-{n}", "--api-stages", f"[{stages}]")["id"]
        self.aws("create-usage-plan-key", "--usage-plan-id", plan, "--key-id", key, "--key-type", "API_KEY")
        self.gw.wait_loaded()
        return value, plan

    # --- the data plane

    def call(self, api, method, path, headers=None, body=None, stage=STAGE):
        return self.gw.request(method, api, stage, path, headers=headers, body=body)

    def echo(self, res, method, path):
        """The echo backend's account of the request that reached it, checked for method and path."""
        self.assertEqual(res.status, 200, res)
        seen = res.json()
        self.assertEqual((seen["method"], seen["path"]), (method, path), res)
        return seen

    def assertMissingToken(self, res):
        self.assertEqual((res.status, res.json()), (403, MISSING_TOKEN), res)

    def assertWarning(self, warnings, *fragments):
        """Some warning contains every fragment (compared without case)."""
        for w in warnings:
            if all(f.lower() in w.lower() for f in fragments):
                return w
        self.fail(f"no warning with {fragments} in {warnings}")

    def observe(self, api, probes, key=None):
        """What the API answers to each probe: status, and the echo (method,
        path, query, body, the mapped headers) or the body and CORS headers."""
        seen = []
        for method, path, headers, body in probes:
            headers = {k: (key if v == "KEY" else v) for k, v in headers.items()}
            res = self.call(api, method, path, headers, body)
            entry = {"status": res.status}
            try:
                echo = res.json()
            except ValueError:
                echo = None
            if isinstance(echo, dict) and {"method", "path", "query", "headers"} <= set(echo):
                entry["echo"] = {"method": echo["method"], "path": echo["path"],
                                 "query": sorted(urllib.parse.parse_qsl(echo["query"])), "body": echo["body"],
                                 "headers": {h: echo["headers"].get(h) for h in ECHOED_HEADERS}}
            else:
                entry["body"] = res.body
                entry["content-type"] = res.headers.get("Content-Type")
                entry["cors"] = {h: res.headers.get(h) for h in CORS_HEADERS}
            seen.append((method, path, entry))
        return seen

    # --- the PetStore, shared by the OAS 3 and Swagger 2 tests

    def assertPetStoreImported(self, api):
        self.assertEqual(api["name"], "PetStore")
        self.assertTrue(api["description"].startswith("Your first API with Amazon API Gateway."), api)
        self.assertEqual(api["apiKeySource"], "HEADER")
        self.assertIsInstance(api.get("warnings", []), list)
        self.assertEqual(self.routes(api["id"]), PETSTORE_ROUTES)
        pets = self.integration(api["id"], "/pets", "GET")
        self.assertEqual((pets["type"], pets["httpMethod"], pets["uri"]),
                         ("HTTP", "GET", f"{self.backend_url}/petstore/pets"))
        self.assertEqual(pets["requestParameters"],
                         {"integration.request.querystring.page": "method.request.querystring.page",
                          "integration.request.querystring.type": "method.request.querystring.type"})
        pet = self.integration(api["id"], "/pets/{petId}", "GET")
        self.assertEqual((pet["type"], pet["uri"], pet["requestParameters"]),
                         ("HTTP", f"{self.backend_url}/petstore/pets/{{id}}",
                          {"integration.request.path.id": "method.request.path.petId"}))
        self.assertEqual(self.integration(api["id"], "/", "GET")["type"], "MOCK")

    def assertServesPetStore(self, api, stage=STAGE):
        home = self.call(api, "GET", "/", stage=stage)
        self.assertEqual(home.status, 200, home)
        self.assertTrue(home.headers.get("Content-Type", "").startswith("text/html"), home)
        self.assertIn(b"<h1>Welcome to your Pet Store API</h1>", home.body)

        listed = self.echo(self.call(api, "GET", "/pets?type=dog&page=2", stage=stage), "GET", "/petstore/pets")
        query = urllib.parse.parse_qs(listed["query"])
        self.assertEqual((query.get("type"), query.get("page")), (["dog"], ["2"]), listed)

        self.echo(self.call(api, "GET", "/pets/42", stage=stage), "GET", "/petstore/pets/42")
        created = self.echo(self.call(api, "POST", "/pets", {"Content-Type": "application/json"}, NEW_PET,
                                      stage=stage), "POST", "/petstore/pets")
        self.assertEqual(json.loads(created["body"]), json.loads(NEW_PET))

        for path, methods in [("/pets", "POST,GET,OPTIONS"), ("/pets/7", "GET,OPTIONS")]:
            preflight = self.call(api, "OPTIONS", path, stage=stage)
            self.assertEqual(preflight.status, 200, preflight)
            self.assertEqual([preflight.headers.get(h) for h in CORS_HEADERS],
                             ["*", methods, CORS_REQUEST_HEADERS], preflight)
        self.assertMissingToken(self.call(api, "DELETE", "/pets", stage=stage))

    # ---------------------------------------------------------- 1, 2. the PetStore

    def test_petstore_oas30_yaml(self):
        api = self.import_api(self.fixture("petstore-oas30.yaml"))
        self.assertRegex(api["id"], r"^[a-z0-9]{10}$")
        self.assertPetStoreImported(api)
        self.deploy(api["id"])
        self.assertServesPetStore(api["id"])

    def test_petstore_swagger20_json(self):
        api = self.import_api(self.fixture("petstore-swagger20.json"))
        self.assertPetStoreImported(api)
        self.deploy(api["id"])
        self.assertServesPetStore(api["id"])

    # ---------------------------------------------------------- 3. greedy paths, ANY, mappings, keys, Lambda, mock

    def test_extras(self):
        api = self.import_api(self.extras())
        api_id = api["id"]
        self.assertEqual((api["name"], api["apiKeySource"]), ("extras", "HEADER"))
        self.assertWarning(api["warnings"], "/lambda")
        self.assertEqual(self.routes(api_id), EXTRAS_ROUTES)
        at = ["--rest-api-id", api_id, "--http-method", "GET", "--resource-id"]
        self.assertIs(self.aws("get-method", *at, self.resource_id(api_id, "/secret"))["apiKeyRequired"], True)
        self.assertIs(self.aws("get-method", *at, self.resource_id(api_id, "/headers"))["apiKeyRequired"], False)
        greedy = self.integration(api_id, "/files/{proxy+}", "ANY")
        self.assertEqual((greedy["type"], greedy["httpMethod"], greedy["uri"], greedy["timeoutInMillis"]),
                         ("HTTP_PROXY", "ANY", f"{self.backend_url}/files/{{proxy}}", 5000))
        self.assertEqual(self.integration(api_id, "/lambda", "POST")["type"], "AWS_PROXY")
        self.deploy(api_id)
        key, _ = self.key_for((api_id, STAGE))

        got = self.echo(self.call(api_id, "GET", "/files/a/b/c.txt?x=1"), "GET", "/files/a/b/c.txt")
        self.assertEqual(got["query"], "x=1")
        self.echo(self.call(api_id, "DELETE", "/files/docs/readme"), "DELETE", "/files/docs/readme")
        put = self.echo(self.call(api_id, "PUT", "/files/up.bin", {"Content-Type": "application/octet-stream"},
                                  "payload"), "PUT", "/files/up.bin")
        self.assertEqual(put["body"], "payload")
        self.assertMissingToken(self.call(api_id, "GET", "/files"))

        mapped = self.echo(self.call(api_id, "GET", "/headers?search=cats", {"x-client": "abc"}), "GET", "/mapped")
        self.assertEqual((mapped["headers"].get("x-static"), mapped["headers"].get("x-from-client")),
                         ("fixed-value", "abc"), mapped)
        self.assertEqual(urllib.parse.parse_qs(mapped["query"]).get("q"), ["cats"], mapped)

        refused = self.call(api_id, "GET", "/secret")
        self.assertEqual((refused.status, refused.json()), (403, FORBIDDEN), refused)
        refused = self.call(api_id, "GET", "/secret", {"x-api-key": "not-a-key-0123456789abcdef"})
        self.assertEqual((refused.status, refused.json()), (403, FORBIDDEN), refused)
        self.echo(self.call(api_id, "GET", "/secret", {"x-api-key": key}), "GET", "/secret")

        function = self.call(api_id, "POST", "/lambda", {"Content-Type": "application/json"}, "{}")
        self.assertEqual((function.status, function.json()), (500, INTERNAL_ERROR), function)

        created = self.call(api_id, "POST", "/created")
        self.assertEqual((created.status, created.json()), (201, {"created": True}), created)

    def test_api_key_source_and_endpoint_parameters(self):
        doc = minimal_api(self.backend.port, "authorizer-keys")
        doc["x-amazon-apigateway-api-key-source"] = "AUTHORIZER"
        path = self.write(doc)
        api = self.import_api(path, "--parameters", "endpointConfigurationTypes=REGIONAL,ignore=documentation")
        self.assertEqual(api["apiKeySource"], "AUTHORIZER")
        self.assertEqual(api["endpointConfiguration"]["types"], ["REGIONAL"])
        stored = self.aws("get-rest-api", "--rest-api-id", api["id"])
        self.assertEqual((stored["apiKeySource"], stored["endpointConfiguration"]["types"]),
                         ("AUTHORIZER", ["REGIONAL"]))
        before = self.api_ids()
        for parameters in ("endpointConfigurationTypes=NOWHERE", "basepath=sideways", "ignore=everything"):
            with self.subTest(parameters):
                err = self.aws_fail("import-rest-api", "--body", f"fileb://{path}", "--parameters", parameters)
                self.assertCliError(err, "BadRequestException", "ImportRestApi")
        self.assertEqual(self.api_ids(), before)

    def test_ignore_documentation(self):
        path = self.fixture("petstore-swagger20.json")  # it has x-amazon-apigateway-documentation
        self.assertWarning(self.import_api(path)["warnings"], "x-amazon-apigateway-documentation")
        quiet = self.import_api(path, "--parameters", "ignore=documentation")
        self.assertFalse([w for w in quiet.get("warnings", []) if "documentation" in w], quiet)
        self.assertEqual(self.routes(quiet["id"]), PETSTORE_ROUTES)

    def test_base_path_ignore_prepend_split(self):
        doc = {"openapi": "3.0.1", "info": {"title": "based", "version": "1"},
               "servers": [{"url": "https://example.com/{basePath}",
                            "variables": {"basePath": {"default": "/v1/shop"}}}],
               "paths": {"/items": {"get": mock_operation('{"items": []}')}}}
        swagger = {"swagger": "2.0", "info": {"title": "based2", "version": "1"}, "basePath": "/v1/shop",
                   "paths": doc["paths"]}
        expected = {"ignore": {"/": [], "/items": ["GET"]},
                    "prepend": {"/": [], "/v1": [], "/v1/shop": [], "/v1/shop/items": ["GET"]},
                    "split": {"/": [], "/shop": [], "/shop/items": ["GET"]}}
        for source in (doc, swagger):
            path = self.write(source)
            for mode, routes in expected.items():
                with self.subTest(version=source.get("openapi", source.get("swagger")), basepath=mode):
                    api = self.import_api(path, "--parameters", f"basepath={mode}")["id"]
                    self.assertEqual(self.routes(api), routes)
                    if mode == "prepend":
                        self.deploy(api)
                        res = self.call(api, "GET", "/v1/shop/items")
                        self.assertEqual((res.status, res.json()), (200, {"items": []}), res)
        # Without the parameter the base path is ignored.
        self.assertEqual(self.routes(self.import_api(self.write(doc))["id"]), expected["ignore"])

    # ---------------------------------------------------------- 4. export and re-import

    def test_export_and_reimport_serve_the_same(self):
        original = self.import_api(self.fixture("petstore-oas30.yaml"))["id"]
        self.deploy(original)
        expected = self.observe(original, PETSTORE_PROBES)
        first_export = self.export(original)
        first_paths = without(json.loads(first_export)["paths"], "cacheNamespace")

        for export_type, accepts, extensions in [("oas30", "application/yaml", "apigateway"),
                                                 ("oas30", "application/json", "apigateway"),
                                                 ("swagger", "application/json", "integrations"),
                                                 ("swagger", "application/yaml", "apigateway")]:
            with self.subTest(export_type=export_type, accepts=accepts, extensions=extensions):
                text = self.export(original, export_type, accepts, extensions)
                version_field = "openapi" if export_type == "oas30" else "swagger"
                if accepts == "application/json":
                    doc = json.loads(text)
                    if export_type == "oas30":
                        self.assertRegex(doc["openapi"], r"^3\.0\.\d+$")
                    else:
                        self.assertEqual(doc["swagger"], "2.0")
                    self.assertEqual(doc["info"]["title"], "PetStore")
                    self.assertEqual(set(doc["paths"]), set(PETSTORE_ROUTES))
                    integration = doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]
                    self.assertEqual((integration["type"].lower(), integration["uri"]),
                                     ("http", f"{self.backend_url}/petstore/pets"))
                else:
                    self.assertNotEqual(text.lstrip()[:1], "{", "YAML, not JSON")
                    self.assertRegex(text, rf"(?m)^{version_field}:")
                    self.assertIn("/pets/{petId}", text)
                    self.assertIn("x-amazon-apigateway-integration", text)
                copy_api = self.import_api(self.write(text, suffix=".yaml" if "yaml" in accepts else ".json"))
                self.assertEqual(copy_api["name"], "PetStore")
                self.assertEqual(self.routes(copy_api["id"]), PETSTORE_ROUTES)
                self.deploy(copy_api["id"])
                self.assertEqual(self.observe(copy_api["id"], PETSTORE_PROBES), expected)
                if (export_type, accepts) == ("oas30", "application/json"):
                    again = self.export(copy_api["id"])
                    self.assertEqual(without(json.loads(again)["paths"], "cacheNamespace"), first_paths,
                                     "the copy exports the same paths")

    def test_export_and_reimport_extras(self):
        original = self.import_api(self.extras())["id"]
        self.deploy(original)
        key, plan = self.key_for((original, STAGE))
        expected = self.observe(original, EXTRAS_PROBES, key)
        self.assertEqual([e["status"] for _, _, e in expected], [200, 200, 200, 403, 200, 403, 200, 500, 201])
        for export_type, accepts in [("oas30", "application/json"), ("swagger", "application/yaml")]:
            with self.subTest(export_type=export_type, accepts=accepts):
                text = self.export(original, export_type, accepts)
                copy_api = self.import_api(self.write(text, suffix=".yaml" if "yaml" in accepts else ".json"))
                self.assertEqual(copy_api["apiKeySource"], "HEADER")
                self.assertWarning(copy_api["warnings"], "/lambda")
                self.assertEqual(self.routes(copy_api["id"]), EXTRAS_ROUTES)
                self.deploy(copy_api["id"])
                self.aws("update-usage-plan", "--usage-plan-id", plan, "--patch-operations",
                         f"op=add,path=/apiStages,value={copy_api['id']}:{STAGE}")
                self.gw.wait_loaded()
                self.assertEqual(self.observe(copy_api["id"], EXTRAS_PROBES, key), expected)

    def test_export_without_extensions_and_of_a_missing_stage(self):
        api = self.import_api(self.fixture("petstore-oas30.yaml"))["id"]
        self.deploy(api)
        text = self.export(api, extensions=None)
        doc = json.loads(text)
        self.assertEqual(set(doc["paths"]), set(PETSTORE_ROUTES))
        self.assertNotIn("x-amazon-apigateway-integration", text)
        err = self.aws_fail("get-export", "--rest-api-id", api, "--stage-name", "nostage", "--export-type", "oas30",
                            os.path.join(self.workdir, "never.json"))
        self.assertCliError(err, "NotFoundException", "GetExport")

    # ---------------------------------------------------------- 5. put-rest-api

    def test_put_rest_api_merge_then_overwrite(self):
        api = self.import_api(self.fixture("petstore-oas30.yaml"))["id"]
        self.deploy(api)

        merge = minimal_api(self.backend.port, "PetStore")
        merge["paths"] = {"/pets": {"get": proxy_operation("GET", f"{self.backend_url}/v2/pets")},
                          "/health": {"get": mock_operation('{"status": "ok"}')}}
        merged = self.put_api(api, self.write(merge))
        self.assertEqual(merged["id"], api)
        self.assertEqual(self.routes(api), {**PETSTORE_ROUTES, "/health": ["GET"]})
        replaced = self.integration(api, "/pets", "GET")
        self.assertEqual((replaced["type"], replaced["uri"]), ("HTTP_PROXY", f"{self.backend_url}/v2/pets"))
        self.assertEqual(self.integration(api, "/pets", "POST")["uri"], f"{self.backend_url}/petstore/pets")

        # Not live before a deployment, and not in the stage's export either.
        self.gw.wait_loaded()
        self.assertMissingToken(self.call(api, "GET", "/health"))
        self.echo(self.call(api, "GET", "/pets"), "GET", "/petstore/pets")
        exported = self.export(api)
        self.assertNotIn("/health", json.loads(exported)["paths"])

        self.deploy(api)
        health = self.call(api, "GET", "/health")
        self.assertEqual((health.status, health.json()), (200, {"status": "ok"}), health)
        self.echo(self.call(api, "GET", "/pets"), "GET", "/v2/pets")
        self.echo(self.call(api, "GET", "/pets/42"), "GET", "/petstore/pets/42")
        self.echo(self.call(api, "POST", "/pets", {"Content-Type": "application/json"}, NEW_PET),
                  "POST", "/petstore/pets")
        self.assertEqual(self.call(api, "GET", "/").status, 200)

        overwrite = minimal_api(self.backend.port, "PetStore")
        overwrite["paths"] = {
            "/health": {"get": mock_operation('{"status": "v3"}')},
            "/pets/{petId}": {"delete": proxy_operation("DELETE", f"{self.backend_url}/v3/pets/{{petId}}",
                                                        petId="petId")}}
        self.put_api(api, self.write(overwrite), "--mode", "overwrite")
        self.assertEqual(self.routes(api), {"/": [], "/health": ["GET"], "/pets": [], "/pets/{petId}": ["DELETE"]})

        self.gw.wait_loaded()
        self.echo(self.call(api, "GET", "/pets"), "GET", "/v2/pets")
        self.assertMissingToken(self.call(api, "DELETE", "/pets/1"))

        self.deploy(api)
        for method, path in [("GET", "/"), ("GET", "/pets"), ("POST", "/pets"), ("GET", "/pets/42"),
                             ("OPTIONS", "/pets")]:
            self.assertMissingToken(self.call(api, method, path))
        self.echo(self.call(api, "DELETE", "/pets/42"), "DELETE", "/v3/pets/42")
        health = self.call(api, "GET", "/health")
        self.assertEqual((health.status, health.json()), (200, {"status": "v3"}), health)

    # ---------------------------------------------------------- 6. warnings

    def warning_cases(self):
        """(what, the document, fragments one warning must hold)."""
        port = self.backend.port

        def case(change):
            doc = minimal_api(port, "warned")
            change(doc, doc["paths"]["/pets"]["get"])
            return doc

        def validator(doc, op):
            doc["x-amazon-apigateway-request-validators"] = {
                "all": {"validateRequestBody": True, "validateRequestParameters": True}}
            op["x-amazon-apigateway-request-validator"] = "all"

        def authorizer(doc, op):
            doc["components"] = {"securitySchemes": {"my_authorizer": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "token", "authorizerResultTtlInSeconds": 300,
                    "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                     "arn:aws:lambda:us-east-1:123456789012:function:auth/invocations"}}}}
            op["security"] = [{"my_authorizer": []}]

        def gateway_responses(doc, op):
            doc["x-amazon-apigateway-gateway-responses"] = {"DEFAULT_4XX": {
                "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}}}

        def context_source(doc, op):
            op["x-amazon-apigateway-integration"]["requestParameters"] = {
                "integration.request.header.x-request-id": "context.requestId"}

        def lambda_proxy(doc, op):
            op["x-amazon-apigateway-integration"] = {"type": "aws_proxy", "httpMethod": "POST", "uri": LAMBDA_URI}

        return [("request validator", case(validator), ("paths./pets.get.x-amazon-apigateway-request-validator",)),
                ("authorizer", case(authorizer), ("my_authorizer", "x-amazon-apigateway-authorizer")),
                ("gateway responses", case(gateway_responses), ("x-amazon-apigateway-gateway-responses",)),
                ("context source", case(context_source), ("paths./pets.get", "requestParameters")),
                ("aws_proxy", case(lambda_proxy), ("/pets", "aws"))]

    def test_a_clean_document_passes_fail_on_warnings(self):
        api = self.import_api(self.write(minimal_api(self.backend.port, "clean")), "--fail-on-warnings")
        self.assertEqual(api.get("warnings", []), [])
        self.assertEqual(self.routes(api["id"]), {"/": [], "/pets": ["GET"]})

    def test_warnings_and_fail_on_warnings(self):
        target = self.import_api(self.write(minimal_api(self.backend.port, "put-target")))["id"]
        for what, doc, fragments in self.warning_cases():
            with self.subTest(what):
                path = self.write(doc)
                before = self.api_ids()
                err = self.aws_fail("import-rest-api", "--body", f"fileb://{path}", "--fail-on-warnings")
                self.assertCliError(err, "BadRequestException", "ImportRestApi")
                self.assertIn(fragments[0].lower(), err.message.lower(), "the message names the warning")
                self.assertEqual(self.api_ids(), before, "--fail-on-warnings created an API")

                target_before = self.snapshot(target)
                err = self.aws_fail("put-rest-api", "--rest-api-id", target, "--body", f"fileb://{path}",
                                    "--mode", "overwrite", "--fail-on-warnings")
                self.assertCliError(err, "BadRequestException", "PutRestApi")
                self.assertEqual(self.snapshot(target), target_before, "--fail-on-warnings changed the API")

                api = self.import_api(path)
                self.assertWarning(api["warnings"], *fragments)
                self.assertEqual(self.routes(api["id"]), {"/": [], "/pets": ["GET"]})
                self.assertEqual(self.api_ids(), sorted(before + [api["id"]]))

    # ---------------------------------------------------------- 7. bad files

    def bad_files(self):
        """(what, the file's bytes)."""
        doc = minimal_api(self.backend.port, "bad")
        pets = doc["paths"]["/pets"]

        def with_paths(paths):
            return json.dumps(dict(doc, paths=paths)).encode()

        greedy_inside = with_paths({"/a/{proxy+}/b": pets})
        siblings = with_paths({"/x/{a}": pets, "/x/{b}": pets})
        external = with_paths({"/pets": {"$ref": "other.yaml#/x"}})
        cycle = with_paths({"/a": {"$ref": "#/paths/~1b"}, "/b": {"$ref": "#/paths/~1a"}, "/pets": pets})
        # About 9 MB: over the 6 MB definition limit, under the 10 MB a request may carry.
        entry = {"get": dict(pets["get"], description="d" * 1000)}
        count = 9_000_000 // len(json.dumps({"/p00000": entry}))
        big = with_paths({f"/p{i:05d}": entry for i in range(count)})
        self.assertTrue(8_500_000 < len(big) < 9_900_000, len(big))
        return [("not JSON or YAML", b'{"openapi": "3.0.1", "paths": {'),
                ("not OpenAPI", b"info:\n  title: nothing\npaths: {}\n"),
                ("external $ref", external),
                ("$ref cycle", cycle),
                ("9 MB", big),
                ("greedy segment inside a path", greedy_inside),
                ("two parameters as siblings", siblings)]

    def test_bad_files_are_refused_and_change_nothing(self):
        target = self.import_api(self.write(minimal_api(self.backend.port, "bad-target")))["id"]
        target_before = self.snapshot(target)
        for what, data in self.bad_files():
            with self.subTest(what):
                path = self.write(data, suffix=".json")
                before = self.api_ids()
                err = self.aws_fail("import-rest-api", "--body", f"fileb://{path}")
                self.assertCliError(err, "BadRequestException", "ImportRestApi")
                self.assertTrue(err.message, err)
                self.assertEqual(self.api_ids(), before)
                for mode in ("merge", "overwrite"):
                    err = self.aws_fail("put-rest-api", "--rest-api-id", target, "--body", f"fileb://{path}",
                                        "--mode", mode)
                    self.assertCliError(err, "BadRequestException", "PutRestApi")
                self.assertEqual(self.snapshot(target), target_before)

    # ---------------------------------------------------------- 8. tollgate apply with openapi:

    def test_apply_with_an_openapi_reference(self):
        spec = self.write(self.fixture_text("petstore-oas30.yaml"), name="declared-petstore.yaml")
        declaration = ("apis:\n"
                       "  - id: oasapply01\n"
                       "    name: declared-petstore\n"
                       "    openapi: ./declared-petstore.yaml\n"
                       "    stages:\n"
                       "      - stageName: prod\n")
        first = self.gw.apply_and_wait(declaration)
        self.assertNotIn("no changes", first.stdout)
        self.assertEqual(self.routes("oasapply01"), PETSTORE_ROUTES)
        self.assertServesPetStore("oasapply01", stage="prod")

        second = self.gw.apply(declaration)
        self.assertEqual(second.stdout.strip(), "no changes", second)

        # A change to the referenced file is a change.
        with open(spec, "w", encoding="utf-8") as f:
            f.write(self.fixture_text("petstore-oas30.yaml").replace("/petstore/pets/{id}", "/petstore/v2/pets/{id}"))
        third = self.gw.apply_and_wait(declaration)
        self.assertNotIn("no changes", third.stdout)
        self.echo(self.call("oasapply01", "GET", "/pets/42", stage="prod"), "GET", "/petstore/v2/pets/42")
        self.assertEqual(self.gw.apply(declaration).stdout.strip(), "no changes")

        missing = self.gw.apply(declaration.replace("./declared-petstore.yaml", "./no-such-file.yaml"),
                                check=False)
        self.assertEqual(missing.returncode, 1, missing)
        self.assertIn("no-such-file.yaml", missing.stderr)

    # ---------------------------------------------------------- 9. tollgate apis import|export

    def tollgate(self, *args, check=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "AWS_"))}
        result = subprocess.run([TOLLGATE_BIN, *args, "--endpoint", f"http://{HOST}:{self.gw.admin_port}",
                                 "--data-dir", self.gw.data_dir],
                                capture_output=True, text=True, timeout=60, env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"tollgate {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def imported_id(self, result):
        """The id of the API that `apis import` says it made (one line naming it)."""
        named = set(re.findall(r"\b[a-z0-9]{10}\b", result.stdout)) & set(self.api_ids())
        self.assertEqual(len(named), 1, result.stdout)
        return named.pop()

    def test_tollgate_apis_import_and_export(self):
        path = self.fixture("petstore-oas30.yaml")
        api = self.imported_id(self.tollgate("apis", "import", path))
        self.assertEqual(self.routes(api), PETSTORE_ROUTES)

        printed = json.loads(self.tollgate("apis", "import", path, "--output", "json").stdout)
        if isinstance(printed, list):  # the client commands print lists of one
            printed = printed[0]
        self.assertEqual(printed["name"], "PetStore")
        self.assertRegex(printed["id"], r"^[a-z0-9]{10}$")
        self.assertNotEqual(printed["id"], api)
        self.assertIsInstance(printed["warnings"], list)

        self.deploy(api)
        doc = json.loads(self.tollgate("apis", "export", api, "--stage", STAGE, "--format", "json").stdout)
        self.assertRegex(doc["openapi"], r"^3\.0\.\d+$")
        self.assertEqual(set(doc["paths"]), set(PETSTORE_ROUTES))
        self.assertEqual(doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["type"].lower(), "http")

        yaml_text = self.tollgate("apis", "export", api, "--stage", STAGE, "--format", "yaml").stdout
        self.assertRegex(yaml_text, r"(?m)^openapi:")
        self.assertNotEqual(yaml_text.lstrip()[:1], "{")
        copy_api = self.imported_id(self.tollgate("apis", "import", self.write(yaml_text)))
        self.deploy(copy_api)
        self.assertEqual(self.observe(copy_api, PETSTORE_PROBES), self.observe(api, PETSTORE_PROBES))

        added = minimal_api(self.backend.port, "PetStore")
        added["paths"] = {"/health": {"get": mock_operation('{"status": "ok"}')}}
        added_path = self.write(added)
        self.tollgate("apis", "import", added_path, "--api", api)
        self.assertEqual(self.routes(api), {**PETSTORE_ROUTES, "/health": ["GET"]})
        self.tollgate("apis", "import", added_path, "--api", api, "--mode", "overwrite")
        self.assertEqual(self.routes(api), {"/": [], "/health": ["GET"]})

        before = self.api_ids()
        bad = self.tollgate("apis", "import", self.write(b"info:\n  title: nothing\n"), check=False)
        self.assertEqual(bad.returncode, 1, bad)
        self.assertTrue(bad.stderr.startswith("tollgate: "), bad.stderr)
        self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
        self.assertEqual(self.api_ids(), before)


if __name__ == "__main__":
    if not os.access(TOLLGATE_BIN, os.X_OK):
        sys.exit(f"tollgate binary not found or not executable: {TOLLGATE_BIN} (set TOLLGATE_BIN)")
    if not shutil.which("aws"):
        sys.exit("the AWS CLI (aws) is not on PATH")
    unittest.main(verbosity=2)
