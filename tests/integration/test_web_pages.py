#!/usr/bin/env python3
"""End-to-end test of the built pages in headless Chromium: starts the echo
backend and `tollgate serve`, makes usage with real requests, and runs
tests/web/pages_e2e.mjs (Debian's chromium driven by the pinned
playwright-core), which signs in to the console, creates a key, sees its
usage chart, disables it and sees the data plane refuse it, and checks the
customer usage page. Its screenshots are kept in BUILD/test-artifacts/.

    python3 tests/integration/test_web_pages.py [-v]
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HOST, TOLLGATE_BIN, Backend, Gateway, admin_credentials, keyed_echo_declaration

API = "web01"
KEY = "web-pages-key-0123456789abc"
QUOTA = 100
USED = 9
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.dirname(os.path.abspath(TOLLGATE_BIN))
NODE_MODULES = os.path.join(BUILD, "web", "node_modules")
ARTIFACTS = os.path.join(BUILD, "test-artifacts")


class WebPagesTest(unittest.TestCase):
    def test_console_and_usage_page_in_chromium(self):
        workdir = tempfile.mkdtemp(prefix="tollgate-it-web-")
        self.addCleanup(shutil.rmtree, workdir, True)
        backend = Backend(workdir).start()
        self.addCleanup(backend.stop)
        gw = Gateway(workdir, env={"TOLLGATE_ADMIN_ACCESS_KEY_ID": None, "TOLLGATE_ADMIN_SECRET_ACCESS_KEY": None})
        doc = keyed_echo_declaration(API, backend.port, "customer", KEY, "Web plan", plan_id="webplan")
        doc["usagePlans"][0]["quota"] = {"limit": QUOTA, "period": "DAY"}
        gw.apply(doc)
        gw.start()
        self.addCleanup(gw.stop)
        for _ in range(USED):
            self.assertEqual(gw.request("GET", API, "prod", "/echo", key=KEY).status, 200)

        os.makedirs(ARTIFACTS, exist_ok=True)
        key_id, secret = admin_credentials(gw.data_dir)
        env = dict(os.environ, NODE_MODULES=NODE_MODULES, ADMIN_URL=f"http://{HOST}:{gw.admin_port}",
                   DATA_URL=f"http://{HOST}:{gw.port}", ACCESS_KEY_ID=key_id, SECRET_ACCESS_KEY=secret, API=API,
                   PLAN_ID="webplan", CUSTOMER_KEY=KEY, CUSTOMER_USED=str(USED), QUOTA=str(QUOTA),
                   SCREENSHOTS=ARTIFACTS)
        run = subprocess.run(["node", os.path.join(ROOT, "tests", "web", "pages_e2e.mjs")], env=env,
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 0, f"{run.stdout}\n{run.stderr}\nserver:\n{gw.output()[-3000:]}")
        for shot in ("console.png", "usage.png", "usage-wrong-key.png"):
            self.assertGreater(os.path.getsize(os.path.join(ARTIFACTS, shot)), 10000, shot)
        # The key was typed into the page, never put in a URL: no log has it.
        with open(os.path.join(gw.data_dir, "access.log")) as f:
            self.assertNotIn(KEY, f.read())


if __name__ == "__main__":
    unittest.main()
