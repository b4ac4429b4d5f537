#!/usr/bin/env python3
"""The `tollgate keys|plans|usage` commands against a real `tollgate serve`.

Run as a script (ctest does): python3 tests/integration/test_cli.py
TOLLGATE_BIN names the binary under test.
"""
import csv
import datetime
import io
import json
import os
import subprocess
import tempfile
import unittest

from harness import TINY, Backend, Gateway, TOLLGATE_BIN, wait_until

ACCESS_KEY = "TGCLITESTACCESSKEY01"
SECRET = "cli-test-secret-0123456789abcdefghijklmn"
TODAY = datetime.datetime.now(datetime.timezone.utc).date()


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tollgate-cli-")
        cls.backend = Backend(cls.tmp.name).start()
        cls.gw = Gateway(cls.tmp.name, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": ACCESS_KEY,
                                            "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": SECRET})
        cls.gw.apply({
            "apis": [{"id": "cli01", "name": "cli", "resources": {"/items": {"GET": {
                "apiKeyRequired": True,
                "integration": {"type": "HTTP_PROXY",
                                "uri": f"http://127.0.0.1:{cls.backend.port}/items"}}}},
                "stages": [{"stageName": "prod"}, {"stageName": "beta"}]}],
        })
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.tmp.cleanup()

    def tollgate(self, *args, check=True, creds=True, output=None):
        cmd = [TOLLGATE_BIN, *args, "--endpoint", f"http://127.0.0.1:{self.gw.admin_port}"]
        if output:
            cmd += ["--output", output]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TOLLGATE_", "AWS_"))}
        if creds:
            env.update(TOLLGATE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY, TOLLGATE_ADMIN_SECRET_ACCESS_KEY=SECRET)
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def json_of(self, *args):
        return json.loads(self.tollgate(*args, output="json").stdout)

    def create_key(self, name, *extra):
        return self.json_of("keys", "create", "--name", name, *extra)[0]

    def wait_for_status(self, key_value, status):
        def check():
            return self.gw.request("GET", "cli01", "prod", "/items", key=key_value).status == status
        self.assertTrue(wait_until(check, 5.0), f"data plane never answered {status}")

    def test_keys_create_list_get_enable_disable_delete(self):
        key = self.create_key("kc-alice", "--customer-id", "acme", "--value", "kc-alice-0123456789abcdef")
        self.assertEqual(key["name"], "kc-alice")
        self.assertTrue(key["enabled"])
        listed = self.json_of("keys", "list", "--name-prefix", "kc-")
        self.assertEqual([k["id"] for k in listed], [key["id"]])
        self.assertNotIn("value", listed[0])
        table = self.tollgate("keys", "list", "--customer-id", "acme", "--show-values").stdout
        self.assertIn("kc-alice-0123456789abcdef", table)
        self.assertTrue(table.startswith("ID"))
        self.assertFalse(self.json_of("keys", "disable", key["id"])[0]["enabled"])
        self.assertTrue(self.json_of("keys", "enable", key["id"])[0]["enabled"])
        got = self.json_of("keys", "get", key["id"], "--show-value")[0]
        self.assertEqual(got["value"], "kc-alice-0123456789abcdef")
        self.assertIn("deleted", self.tollgate("keys", "delete", key["id"]).stdout)
        gone = self.tollgate("keys", "get", key["id"], check=False)
        self.assertEqual(gone.returncode, 1)
        self.assertEqual(gone.stderr.strip(), "tollgate: NotFoundException: Invalid API Key identifier specified")

    def test_import_csv(self):
        plan = self.json_of("plans", "create", "--name", "imp-plan")[0]
        path = os.path.join(self.tmp.name, "keys.csv")
        with open(path, "w") as f:
            f.write("Name,Key,UsagePlanIds\n"
                    f"imp-a,imp-a-0123456789abcdef,{plan['id']}\n"
                    "imp-b,short,\n")
        out = self.tollgate("keys", "import", path).stdout
        self.assertIn("imported 1 key(s)", out)
        self.assertIn("warning: Line 3", out)
        strict = self.tollgate("keys", "import", path, "--fail-on-warnings", check=False)
        self.assertEqual(strict.returncode, 1)
        self.assertIn("BadRequestException", strict.stderr)
        members = self.json_of("plans", "get", plan["id"])
        self.assertEqual([k["name"] for k in members["keys"]], ["imp-a"])

    def test_plans_and_usage_end_to_end(self):
        plan = self.json_of("plans", "create", "--name", "pe-plan", "--rate", str(TINY), "--burst", "2",
                            "--quota", "10", "--period", "DAY")[0]
        self.assertEqual(plan["quota"], {"limit": 10, "offset": 0, "period": "DAY"})
        self.assertEqual(plan["throttle"]["burstLimit"], 2)
        attached = self.json_of("plans", "attach-stage", plan["id"], "cli01:prod")[0]
        self.assertEqual(attached["apiStages"], [{"apiId": "cli01", "stage": "prod"}])
        key = self.create_key("pe-key", "--value", "pe-key-0123456789abcdefgh")
        self.assertIn("added key", self.tollgate("plans", "add-key", plan["id"], key["id"]).stdout)
        self.wait_for_status("pe-key-0123456789abcdefgh", 200)  # the first of the burst of 2
        self.assertEqual(self.gw.request("GET", "cli01", "prod", "/items", key="pe-key-0123456789abcdefgh").status, 200)
        self.assertEqual(self.gw.request("GET", "cli01", "prod", "/items", key="pe-key-0123456789abcdefgh").status, 429)

        day = TODAY.isoformat()
        usage = self.json_of("usage", "--plan", plan["id"], "--from", day, "--to", day)
        self.assertEqual(usage["values"], {key["id"]: [[2, 8]]})
        # Without dates: the current period of the plan's DAY quota, today.
        current = self.json_of("usage", "--plan", plan["id"])
        self.assertEqual((current["startDate"], current["endDate"]), (day, day))
        self.assertEqual(current["values"], {key["id"]: [[2, 8]]})
        one_date = self.tollgate("usage", "--plan", plan["id"], "--from", day, check=False)
        self.assertNotEqual(one_date.returncode, 0)
        self.assertIn("both --from and --to", one_date.stderr)
        rows = list(csv.reader(io.StringIO(self.tollgate(
            "usage", "--plan", plan["id"], "--key", key["id"], "--from",
            (TODAY - datetime.timedelta(days=1)).isoformat(), "--to", day, "--format", "csv").stdout)))
        self.assertEqual(rows[0], ["key_id", "date", "used", "remaining"])
        self.assertEqual(rows[2], [key["id"], day, "2", "8"])
        table = self.tollgate("usage", "--plan", plan["id"], "--from", day, "--to", day).stdout
        self.assertIn("REMAINING", table)

        listed = self.json_of("plans", "list", "--key", key["id"])
        self.assertEqual([p["id"] for p in listed], [plan["id"]])
        self.assertIn("removed key", self.tollgate("plans", "remove-key", plan["id"], key["id"]).stdout)
        self.wait_for_status("pe-key-0123456789abcdefgh", 403)
        refused = self.tollgate("plans", "delete", plan["id"], check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("BadRequestException: Cannot delete Usage Plan", refused.stderr)
        self.assertIn("deleted usage plan", self.tollgate("plans", "delete", plan["id"], "--force").stdout)

    def test_failures_are_one_line_and_nonzero(self):
        no_creds = self.tollgate("keys", "list", creds=False, check=False)
        self.assertEqual(no_creds.returncode, 1)
        self.assertIn("no admin credentials", no_creds.stderr)
        wrong = subprocess.run([TOLLGATE_BIN, "keys", "list", "--endpoint", f"http://127.0.0.1:{self.gw.admin_port}",
                                "--access-key-id", ACCESS_KEY, "--secret-access-key", "wrong"],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(wrong.returncode, 1)
        self.assertTrue(wrong.stderr.startswith("tollgate: InvalidSignatureException"), wrong.stderr)
        bad_date = self.tollgate("usage", "--plan", "x", "--from", "yesterday", "--to", "2026-01-01", check=False)
        self.assertEqual(bad_date.returncode, 1)
        self.assertEqual(len(bad_date.stderr.strip().splitlines()), 1)
        down = subprocess.run([TOLLGATE_BIN, "keys", "list", "--endpoint", "http://127.0.0.1:1",
                               "--access-key-id", "a", "--secret-access-key", "b"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(down.returncode, 1)
        self.assertIn("cannot reach the admin API", down.stderr)

    def test_credentials_from_the_data_dir(self):
        tmp = tempfile.TemporaryDirectory(prefix="tollgate-cli-creds-")
        self.addCleanup(tmp.cleanup)
        gw = Gateway(tmp.name, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None,
                                    "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        gw.start()
        self.addCleanup(gw.stop)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "AWS_"))}
        result = subprocess.run([TOLLGATE_BIN, "keys", "create", "--name", "dd", "--endpoint",
                                 f"http://127.0.0.1:{gw.admin_port}", "--data-dir", gw.data_dir],
                                capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("dd", result.stdout)
        mode = os.stat(os.path.join(gw.data_dir, "admin-credentials")).st_mode & 0o777
        self.assertEqual(mode, 0o600)


if __name__ == "__main__":
    unittest.main(verbosity=2)
