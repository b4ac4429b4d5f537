#!/usr/bin/env python3
"""docs/aws-compatibility.md held to botocore's model of Amazon API Gateway
(`apigateway` 2015-07-09, REST APIs) and to a real `tollgate serve`.

The model lists every operation with its HTTP method and request URI. For each
one the test sends one signed request to the management API: the model's
method and URI, `nonexistent` for every label in it (a percent-encoded ARN for
/tags/{resource_arn}), its query as given (`?mode=import`), and `{}` as the
body when the operation takes one. An answer of 404 whose message starts "No
management operation" means tollgate has no route for it; any other answer
means it has. Then the doc's tables must agree:

- every operation of the model is listed exactly once, and no other (but for
  the few botocore added after Debian 12's awscli, see NEWER_THAN_DEBIAN_12);
- each row's request is the model's method and URI;
- each `yes` or `partial` operation is routed, each `no` operation is not;
- operations told apart only by the query (CreateApiKey and ImportApiKeys)
  reach different operations.

No request may get a 5xx, go unanswered or stop the server.

The model is read from the Debian awscli package (DEBIAN_MODEL) and from the
botocore that `import botocore` finds, when that is another copy (operations
in either count). Without either the test fails; it never skips.

    TOLLGATE_BIN=build/tollgate python3 tests/integration/test_aws_operations.py [-v]

Standard library only.
"""
import collections
import gzip
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import unittest
import urllib.parse

from harness import HERE, TOLLGATE_BIN, AdminClient, Gateway

DOC = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "aws-compatibility.md"))
MODEL_IN_BOTOCORE = os.path.join("data", "apigateway", "2015-07-09", "service-2.json")
DEBIAN_MODEL = os.path.join("/usr/lib/python3/dist-packages/botocore", MODEL_IN_BOTOCORE)

ACCESS_KEY_ID = "AKIDTOLLGATEOPS00001"
SECRET_ACCESS_KEY = "tollgate-ops-secret-0123456789abcdefABCD"
PLACEHOLDER = "nonexistent"
TAGGED_ARN = "arn:aws:apigateway:us-east-1::/restapis/nonexistent"
NO_ROUTE = "No management operation"
SUPPORTED = ("yes", "partial")
REQUEST_TIMEOUT_S = 10.0

# Operations botocore added after the model Debian 12's awscli ships
# (botocore 1.29.27). The doc lists them for newer SDKs; an older model may
# lack them, and then they are sent as the doc's request column has them.
NEWER_THAN_DEBIAN_12 = frozenset({
    "CreateDomainNameAccessAssociation", "DeleteDomainNameAccessAssociation",
    "GetDomainNameAccessAssociations", "RejectDomainNameAccessAssociation",
})

Operation = collections.namedtuple("Operation", "name method uri has_body")
Row = collections.namedtuple("Row", "line name request support")
Probe = collections.namedtuple("Probe", "status error_type message keys problem")


# ------------------------------------------------------------------ the model

def model_files():
    """The model files on this machine: Debian's, then the imported botocore's."""
    found = [DEBIAN_MODEL] if os.path.exists(DEBIAN_MODEL) else []
    try:
        import botocore
    except ImportError:
        return found
    path = os.path.join(os.path.dirname(botocore.__file__), MODEL_IN_BOTOCORE)
    for candidate in (path, path + ".gz"):  # newer botocore ships it gzipped
        if os.path.exists(candidate):
            if not any(os.path.realpath(candidate) == os.path.realpath(f) for f in found):
                found.append(candidate)
            break
    return found


def operations_of(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        model = json.load(f)
    ops = {}
    for name, op in model["operations"].items():
        shape = model["shapes"].get(op.get("input", {}).get("shape"), {})
        # A body: a payload member, or any member not sent in the URI, query or headers.
        has_body = "payload" in shape or any("location" not in m for m in shape.get("members", {}).values())
        ops[name] = Operation(name, op["http"]["method"], op["http"]["requestUri"], has_body)
    return ops


def load_operations():
    """Every operation of the models found, by name; the first model's form wins."""
    files = model_files()
    if not files:
        raise AssertionError(f"botocore's apigateway model is missing: neither {DEBIAN_MODEL} (apt-get install "
                             "awscli) nor an importable botocore with data/apigateway was found")
    ops = {}
    for path in files:
        for name, op in operations_of(path).items():
            ops.setdefault(name, op)
    return files, ops


# ------------------------------------------------------------------ the doc

def split_row(line):
    """The cells of a Markdown table row; `\\|` stays inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def read_table(path):
    """The rows of every table in the doc whose first header cell is
    "operation": (line, operation, request, support), backticks removed."""
    rows = []
    table = None  # None outside a table, else whether it is an operations table
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.startswith("|"):
                table = None
                continue
            cells = split_row(line)
            if table is None:
                table = bool(cells) and cells[0].lower() == "operation"
                continue
            if not table or all(set(c) <= set("-: ") for c in cells):
                continue
            plain = [c.strip("`* ") for c in cells] + [""] * 3
            rows.append(Row(number, plain[0], plain[1], plain[2].lower()))
    return rows


# ------------------------------------------------------------------ requests

def target_of(uri):
    """(path, query) of a model URI with every label filled in."""
    path, _, query = uri.partition("?")

    def fill(m):
        return urllib.parse.quote(TAGGED_ARN, safe="") if m.group(1) == "resource_arn" else PLACEHOLDER

    return re.sub(r"\{([^}+]+)\+?\}", fill, path), query


def probe_of(res):
    try:
        body = json.loads(res.body) if res.body else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return Probe(res.status, res.headers.get("x-amzn-ErrorType"), str(body.get("message", "")),
                 tuple(sorted(body)), None)


def routed(probe):
    return not (probe.status == 404 and probe.message.startswith(NO_ROUTE))


def describe(probe):
    if probe.problem:
        return probe.problem
    return f"{probe.status} {probe.error_type or ''} {probe.message[:160]!r}".replace("  ", " ")


class AwsOperationsTest(unittest.TestCase):
    """One server; every operation sent once in setUpClass, the answers then
    held to the doc by each test."""

    @classmethod
    def setUpClass(cls):
        cls.model_files, cls.model = load_operations()
        if not os.path.exists(DOC):
            raise AssertionError(f"{DOC} is missing")
        cls.rows = read_table(DOC)
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-ops-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.gw = Gateway(cls.workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": ACCESS_KEY_ID,
                                           "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY})
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

        # What is sent: the model's operations, and listed ones only a newer model has.
        cls.sent = dict(cls.model)
        for row in cls.rows:
            if row.name in NEWER_THAN_DEBIAN_12 and row.name not in cls.sent and " " in row.request:
                method, uri = row.request.split(" ", 1)
                cls.sent[row.name] = Operation(row.name, method, uri, method in ("POST", "PUT", "PATCH"))
        cls.probes = {name: cls.send(op) for name, op in sorted(cls.sent.items())}

    @classmethod
    def send(cls, op):
        path, query = target_of(op.uri)
        admin = AdminClient(cls.gw.admin_port, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        try:
            probe = probe_of(admin.send(op.method, path, {} if op.has_body else None, query,
                                        timeout=REQUEST_TIMEOUT_S))
        except (OSError, http.client.HTTPException) as e:
            probe = Probe(None, None, "", (), f"no answer ({type(e).__name__}: {e})")
        exited = cls.gw.proc.poll() is not None
        if exited or probe.problem:
            output = cls.gw.output()[-2000:]
            # A fresh server, so that the operations after this one are still sorted.
            cls.gw.stop()
            cls.gw.start()
            if exited:
                probe = probe._replace(problem=f"the server exited ({describe(probe)}); its output ends:\n{output}")
        return probe

    @classmethod
    def tearDownClass(cls):
        answered = [p for p in cls.probes.values() if not p.problem]
        routes = sum(1 for p in answered if routed(p))
        print(f"\n{len(cls.probes)} operations sent ({', '.join(cls.model_files)}): {routes} routed, "
              f"{len(answered) - routes} not routed, {len(cls.probes) - len(answered)} unanswered",
              file=sys.stderr)

    def listed(self, *support):
        return [r for r in self.rows if r.support in support]

    def assertNoDisagreement(self, found, headline):
        """Fails naming every operation in `found` ({operation: detail})."""
        if found:
            self.fail(f"{headline}: {', '.join(sorted(found))}\n" +
                      "\n".join(f"  {name}: {detail}" for name, detail in sorted(found.items())))

    def test_every_row_names_an_operation_a_request_and_a_support_level(self):
        bad = {f"line {r.line}": f"{r.name!r}, support {r.support!r}" for r in self.rows
               if not re.fullmatch(r"[A-Z][A-Za-z]+", r.name) or r.support not in SUPPORTED + ("no",)}
        self.assertNoDisagreement(bad, "rows of docs/aws-compatibility.md that are not "
                                       "| `Operation` | `METHOD /uri` | yes, partial or no | note |")

    def test_every_operation_of_the_model_is_listed_once(self):
        counts = collections.Counter(r.name for r in self.rows)
        wrong = {name: "not listed" for name in set(self.model) - set(counts)}
        wrong.update({name: f"listed {n} times" for name, n in counts.items() if n > 1})
        self.assertNoDisagreement(wrong, "operations of the model not listed exactly once in "
                                         "docs/aws-compatibility.md")

    def test_no_operation_is_listed_that_the_model_lacks(self):
        unknown = {r.name: f"line {r.line}" for r in self.rows
                   if r.name not in self.model and r.name not in NEWER_THAN_DEBIAN_12}
        self.assertNoDisagreement(unknown, f"listed in docs/aws-compatibility.md but in no model "
                                           f"({', '.join(self.model_files)})")

    def test_each_row_has_the_models_request(self):
        wrong = {r.name: f"the doc says {r.request!r}, the model {m.method} {m.uri}" for r in self.rows
                 for m in [self.model.get(r.name)] if m and r.request != f"{m.method} {m.uri}"}
        self.assertNoDisagreement(wrong, "operations whose request in docs/aws-compatibility.md is not the model's")

    def test_supported_operations_are_routed(self):
        unrouted = {r.name: f"{r.support}; {r.request} answered {describe(self.probes[r.name])}"
                    for r in self.listed(*SUPPORTED)
                    if r.name in self.probes and not self.probes[r.name].problem
                    and not routed(self.probes[r.name])}
        self.assertNoDisagreement(unrouted, "marked yes or partial in docs/aws-compatibility.md, "
                                            "but tollgate has no route for them")

    def test_unsupported_operations_are_not_routed(self):
        answered = {r.name: f"{r.request} answered {describe(self.probes[r.name])}" for r in self.listed("no")
                    if r.name in self.probes and not self.probes[r.name].problem and routed(self.probes[r.name])}
        self.assertNoDisagreement(answered, "marked no in docs/aws-compatibility.md, but tollgate routes them")

    def test_no_request_gets_a_server_error_or_stops_the_server(self):
        failed = {name: f"{self.sent[name].method} {self.sent[name].uri}: {describe(p)}"
                  for name, p in self.probes.items() if p.problem or p.status >= 500}
        self.assertNoDisagreement(failed, "operations answered with a 5xx, not answered, or that stopped the server")
        self.assertIsNone(self.gw.proc.poll(), "the server is still running")
        self.assertEqual(self.gw.health()["status"], "ok")

    def test_operations_told_apart_by_the_query_reach_different_operations(self):
        # CreateApiKey is POST /apikeys, ImportApiKeys POST /apikeys?mode=import:
        # a route table that ignored the query would answer both the same way.
        twins = collections.defaultdict(list)
        for op in self.model.values():
            twins[(op.method, op.uri.partition("?")[0])].append(op.name)
        same = {}
        for names in twins.values():
            answers = {n: self.probes[n] for n in names if not self.probes[n].problem and routed(self.probes[n])}
            for a in answers:
                for b in answers:
                    pa, pb = answers[a], answers[b]
                    if a < b and (pa.status, pa.error_type, pa.message, pa.keys) == \
                            (pb.status, pb.error_type, pb.message, pb.keys):
                        same[f"{a} and {b}"] = f"both answered {describe(pa)}"
        self.assertGreater(sum(len(n) > 1 for n in twins.values()), 0, "the model has no such operations")
        self.assertNoDisagreement(same, "operations whose requests differ only in the query got the same answer")


if __name__ == "__main__":
    if not os.access(TOLLGATE_BIN, os.X_OK):
        sys.exit(f"tollgate binary not found or not executable: {TOLLGATE_BIN} (set TOLLGATE_BIN)")
    unittest.main(verbosity=2)
