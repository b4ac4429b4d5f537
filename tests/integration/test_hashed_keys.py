#!/usr/bin/env python3
"""Integration tests for API keys stored hashed: keys that existed before go
on working, the store and the logs hold no key value, the AWS CLI creates
and imports keys whose values are shown once and never again, `apply` still
matches declared values, and a running server follows `tollgate hash-keys`
run beside it.

Keys stored as given are checked too: their values leave only through the
signed management API, never through the data port or a usage export.

Runs the real binary (env TOLLGATE_BIN), the echo backend and /usr/bin/aws
on 127.0.0.1.

    python3 tests/integration/test_hashed_keys.py [-v]
"""
import glob
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from harness import TOLLGATE_BIN, Backend, Gateway, aws, http_request, keyed_echo_declaration, wait_until

API = "hash01"
ALICE = "alice-key-0123456789abcdefgh"
WAIT_S = 10.0


def declaration(backend_port):
    return keyed_echo_declaration(API, backend_port, "alice", ALICE, "hashed-plan", plan_id="hashplan")


class HashedKeysTestCase(unittest.TestCase):
    hash_at_start = True

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-it-hashed-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, args=["--hash-keys"] if cls.hash_at_start else [])
        cls.gw.apply(declaration(cls.backend.port))
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    def status(self, key):
        return self.gw.request("GET", API, "prod", "/echo", key=key).status

    def aws(self, *args):
        return aws(self.gw, self.workdir, *args)

    def stored_bytes(self):
        """Everything the store's files hold, the write-ahead log included."""
        data = b""
        for path in glob.glob(os.path.join(self.gw.data_dir, "tollgate.db*")):
            with open(path, "rb") as f:
                data += f.read()
        return data

    def assertNoValueShown(self, key_id):
        self.assertNotIn("value", self.aws("get-api-key", "--api-key", key_id, "--include-value"))
        for item in self.aws("get-api-keys", "--include-values")["items"]:
            self.assertNotIn("value", item)
        for item in self.aws("get-usage-plan-keys", "--usage-plan-id", "hashplan")["items"]:
            self.assertNotIn("value", item)


class HashedAtStartTest(HashedKeysTestCase):
    def test_keys_from_before_go_on_working(self):
        self.assertEqual(self.status(ALICE), 200)
        self.assertEqual(self.status(ALICE[:-1] + "X"), 403)
        self.assertIn("replaced by their digests", self.gw.output())

    def test_store_holds_digests_and_no_value(self):
        self.assertEqual(self.status(ALICE), 200)
        data = self.stored_bytes()
        self.assertFalse(ALICE.encode() in data, "the value is in the store's files")
        self.assertTrue(b"hmac-sha256:" in data, "no digest in the store's files")
        secret = os.path.join(self.gw.data_dir, "key-secret")
        self.assertEqual(stat.S_IMODE(os.stat(secret).st_mode), 0o600)

    def test_value_shown_once_at_creation_and_never_again(self):
        created = self.aws("create-api-key", "--name", "bob", "--enabled")
        value = created["value"]
        self.aws("create-usage-plan-key", "--usage-plan-id", "hashplan", "--key-id", created["id"],
                 "--key-type", "API_KEY")
        self.assertTrue(wait_until(lambda: self.status(value) == 200, WAIT_S))
        self.assertNoValueShown(created["id"])
        self.assertFalse(value.encode() in self.stored_bytes(), "the value is in the store's files")

    def test_imported_keys_work_and_are_stored_hashed(self):
        value = "imported-key-0123456789abcdef"
        csv = os.path.join(self.workdir, "keys.csv")
        with open(csv, "w") as f:
            f.write(f"Name,Key,Enabled,UsagePlanIds\ncarol,{value},true,hashplan\n")
        ids = self.aws("import-api-keys", "--body", f"fileb://{csv}", "--format", "csv")["ids"]
        self.assertEqual(len(ids), 1)
        self.assertTrue(wait_until(lambda: self.status(value) == 200, WAIT_S))
        self.assertFalse(value.encode() in self.stored_bytes(), "the value is in the store's files")
        # The same file again updates the same key: the value is matched by its digest.
        self.assertEqual(self.aws("import-api-keys", "--body", f"fileb://{csv}", "--format", "csv")["ids"], ids)

    def test_apply_matches_declared_values(self):
        self.assertIn("no changes", self.gw.apply(declaration(self.backend.port)).stdout)

    def test_values_never_in_the_access_log(self):
        self.assertEqual(self.status(ALICE), 200)
        log = os.path.join(self.gw.data_dir, "access.log")
        self.assertTrue(wait_until(lambda: os.path.exists(log) and os.path.getsize(log) > 0, WAIT_S))
        with open(log) as f:
            self.assertNotIn(ALICE, f.read())


class KeyValuesStayInsideTest(HashedKeysTestCase):
    """Even stored as given, a key's value leaves only through the signed
    management API: not through the data port, not in usage exports."""
    hash_at_start = False

    def test_management_api_is_not_on_the_data_port(self):
        res = http_request(self.gw.port, "GET", "/apikeys?includeValues=true")
        self.assertEqual(res.status, 403, res)
        self.assertNotIn(ALICE.encode(), res.body)
        self.assertEqual(http_request(self.gw.port, "GET", "/health").status, 403)
        help_text = subprocess.run([TOLLGATE_BIN, "serve", "--help"], capture_output=True, text=True).stdout
        self.assertRegex(help_text, r"--admin-listen\s+TEXT=127\.0\.0\.1:")

    def test_usage_exports_name_keys_by_id_only(self):
        self.assertEqual(self.status(ALICE), 200)
        key_id = next(k["id"] for k in self.aws("get-api-keys")["items"] if k["name"] == "alice")
        day = time.strftime("%Y-%m-%d", time.gmtime())
        log = os.path.join(self.gw.data_dir, "access.log")

        def logged():
            if not os.path.exists(log):
                return False
            with open(log) as f:
                return key_id in f.read()

        self.assertTrue(wait_until(logged, WAIT_S))
        # Today is open: its usage is written as provisional records.
        for extra in (["--open"], ["--open", "--format", "jsonl"], ["--events", "--format", "jsonl"]):
            with self.subTest(extra=extra):
                def export():
                    return subprocess.run([TOLLGATE_BIN, "usage", "export", "--data-dir", self.gw.data_dir,
                                           "--from", day, "--to", day, *extra],
                                          capture_output=True, text=True, timeout=30)
                # Usage reaches the store within a flush interval.
                result = wait_until(lambda: (r := export()).returncode == 0 and key_id in r.stdout and r, WAIT_S)
                self.assertTrue(result, export())
                self.assertNotIn(ALICE, result.stdout)


class HashedWhileServingTest(HashedKeysTestCase):
    hash_at_start = False

    def hash_keys(self):
        return subprocess.run([TOLLGATE_BIN, "hash-keys", "--data-dir", self.gw.data_dir],
                              capture_output=True, text=True, timeout=30)

    def test_running_server_follows_hash_keys(self):
        self.assertEqual(self.status(ALICE), 200)
        key_id = next(k["id"] for k in self.aws("get-api-keys")["items"] if k["name"] == "alice")
        self.assertEqual(self.aws("get-api-key", "--api-key", key_id, "--include-value")["value"], ALICE)
        before = self.gw.health()["catalogVersion"]

        result = self.hash_keys()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("1 key value(s) hashed", result.stdout)
        self.assertTrue(wait_until(lambda: self.gw.health()["catalogVersion"] > before, WAIT_S))
        self.assertEqual(self.status(ALICE), 200)
        self.assertFalse(ALICE.encode() in self.stored_bytes(), "the value is in the store's files")
        self.assertNoValueShown(key_id)
        self.assertIn("already", self.hash_keys().stdout)

        # A server cannot check hashed keys without the secret: it will not start.
        self.gw.stop()
        secret = os.path.join(self.gw.data_dir, "key-secret")
        os.rename(secret, secret + ".away")
        try:
            with self.assertRaisesRegex(RuntimeError, "key-secret"):
                self.gw.start()
        finally:
            os.rename(secret + ".away", secret)
        self.gw.start()
        self.assertEqual(self.status(ALICE), 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
