#!/usr/bin/env python3
"""Integration tests for changes reaching the data plane as deltas: a key,
a membership, a disabled key and a deleted membership made with the real
AWS CLI are served within a second, on the embedded store and, over a real
redis-server, by another node; a node paused behind a few changes catches
up from the change log; a node too far behind for the log rebuilds. Also
runs bench/control_plane.py --smoke, so that the benchmark keeps working.

    python3 tests/integration/test_control_plane.py [-v]
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (HOST, Backend, Gateway, RedisServer, aws, keyed_echo_declaration, metric, wait_until)

API = "ctl01"
KEY = "control-key-0123456789abcdef"
SERVED_WITHIN_S = 1.0
DELTAS = 'tollgate_catalog_loads_total{kind="delta"}'
REBUILDS = 'tollgate_catalog_loads_total{kind="rebuild"}'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def status(node, key):
    return node.request("GET", API, "prod", "/echo", key=key).status


def served_within(node, key, expected, seconds=SERVED_WITHIN_S):
    """Whether `node` answers `expected` for `key` within `seconds`."""
    return wait_until(lambda: status(node, key) == expected, seconds, interval=0.01)


class ChangesReachTheDataPlane:
    """Each kind of change, made on `writer`, is served by `reader` within a
    second, applied as a delta."""

    def check_each_kind_of_change(self, writer, reader):
        cli = lambda *args: aws(writer, self.workdir, *args)  # noqa: E731
        deltas, rebuilds = metric(reader, DELTAS), metric(reader, REBUILDS)
        value = "fresh-key-0123456789abcdef"
        key = cli("create-api-key", "--name", "fresh", "--value", value, "--enabled")
        cli("create-usage-plan-key", "--usage-plan-id", "ctlplan", "--key-id", key["id"], "--key-type", "API_KEY")
        self.assertTrue(served_within(reader, value, 200), "a new membership was not served within 1 s")
        cli("update-api-key", "--api-key", key["id"], "--patch-operations", "op=replace,path=/enabled,value=false")
        self.assertTrue(served_within(reader, value, 403), "a disabled key was still served after 1 s")
        cli("update-api-key", "--api-key", key["id"], "--patch-operations", "op=replace,path=/enabled,value=true")
        self.assertTrue(served_within(reader, value, 200))
        cli("delete-usage-plan-key", "--usage-plan-id", "ctlplan", "--key-id", key["id"])
        self.assertTrue(served_within(reader, value, 403), "a deleted membership was still served after 1 s")
        cli("delete-api-key", "--api-key", key["id"])
        self.assertEqual(status(reader, KEY), 200)
        self.assertGreater(metric(reader, DELTAS), deltas)
        self.assertEqual(metric(reader, REBUILDS), rebuilds, "a change to keys rebuilt the catalog")


class EmbeddedStoreTest(ChangesReachTheDataPlane, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-control-plane-")
        cls.backend = Backend(cls.workdir).start()
        cls.gateway = Gateway(cls.workdir)
        doc = keyed_echo_declaration(API, cls.backend.port, "base", KEY, "ctl-plan", plan_id="ctlplan")
        cls.gateway.apply(doc)
        cls.gateway.start()

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop()
        cls.backend.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_each_kind_of_change_is_served_within_a_second(self):
        self.check_each_kind_of_change(self.gateway, self.gateway)

    def test_a_change_to_a_plan_rebuilds_and_serves_it(self):
        rebuilds = metric(self.gateway, REBUILDS)
        aws(self.gateway, self.workdir, "update-usage-plan", "--usage-plan-id", "ctlplan",
            "--patch-operations", "op=replace,path=/quota/limit,value=5", "op=replace,path=/quota/period,value=DAY")
        self.assertTrue(wait_until(lambda: metric(self.gateway, REBUILDS) > rebuilds, 5.0))
        self.assertEqual(status(self.gateway, KEY), 200)
        aws(self.gateway, self.workdir, "update-usage-plan", "--usage-plan-id", "ctlplan",
            "--patch-operations", "op=remove,path=/quota")

    def test_an_apply_from_another_process_is_served(self):
        doc = keyed_echo_declaration(API, self.backend.port, "base", KEY, "ctl-plan", plan_id="ctlplan")
        doc["apiKeys"].append({"name": "applied", "value": "applied-key-0123456789abcd"})
        doc["usagePlans"][0]["apiKeys"].append("applied")
        deltas = metric(self.gateway, DELTAS)
        self.gateway.apply(doc)
        self.assertTrue(served_within(self.gateway, "applied-key-0123456789abcd", 200))
        self.assertGreater(metric(self.gateway, DELTAS), deltas)

    def test_the_benchmark_runs(self):
        result = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "control_plane.py"), "--smoke"],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("create-api-key", result.stdout)
        self.assertIn("served: new key", result.stdout)


class RedisNodesTest(ChangesReachTheDataPlane, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-control-plane-redis-")
        cls.redis = RedisServer(cls.workdir).start()
        cls.backend = Backend(cls.workdir).start()
        cls.nodes = []
        for name in ("node-a", "node-b"):
            workdir = os.path.join(cls.workdir, name)
            os.mkdir(workdir)
            cls.nodes.append(Gateway(workdir, args=["--store", cls.redis.url]))
        cls.nodes[0].apply(keyed_echo_declaration(API, cls.backend.port, "base", KEY, "ctl-plan", plan_id="ctlplan"))
        for node in cls.nodes:
            node.start()
        wait_until(lambda: status(cls.nodes[1], KEY) == 200, 5.0)

    @classmethod
    def tearDownClass(cls):
        for node in cls.nodes:
            node.stop()
        cls.backend.stop()
        cls.redis.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def paused(self, node):
        """A context in which `node` is stopped (SIGSTOP), continued after."""
        test = self

        class Paused:
            def __enter__(self):
                os.kill(node.proc.pid, signal.SIGSTOP)

            def __exit__(self, *exc):
                os.kill(node.proc.pid, signal.SIGCONT)
                test.assertTrue(wait_until(lambda: node.health() is not None, 5.0))

        return Paused()

    def made_while_paused(self, count):
        """`count` keys made and added to the plan on node a; their values."""
        a = self.nodes[0]
        values = []
        for i in range(count):
            value = f"behind-{time.monotonic_ns()}-{i}-abcdef"
            key = aws(a, self.workdir, "create-api-key", "--name", f"behind-{i}", "--value", value, "--enabled")
            aws(a, self.workdir, "create-usage-plan-key", "--usage-plan-id", "ctlplan", "--key-id", key["id"],
                "--key-type", "API_KEY")
            values.append(value)
        return values

    def test_a_change_on_one_node_is_served_by_the_other_within_a_second(self):
        self.check_each_kind_of_change(self.nodes[0], self.nodes[1])

    def test_a_node_behind_a_few_changes_catches_up_from_the_log(self):
        b = self.nodes[1]
        rebuilds = metric(b, REBUILDS)
        with self.paused(b):
            values = self.made_while_paused(3)
        for value in values:
            self.assertTrue(served_within(b, value, 200))
        self.assertEqual(metric(b, REBUILDS), rebuilds, "a node a few changes behind rebuilt its catalog")

    def test_a_node_too_far_behind_for_the_log_rebuilds(self):
        b = self.nodes[1]
        rebuilds = metric(b, REBUILDS)
        with self.paused(b):
            values = self.made_while_paused(2)
            # The log no longer reaches back to the node's version, as when
            # it was trimmed while the node was away for long.
            subprocess.run(["redis-cli", "-h", HOST, "-p", str(self.redis.port), "XTRIM", "tollgate:control_log",
                            "MAXLEN", "0"], check=True, capture_output=True)
            values += self.made_while_paused(1)
        for value in values:
            self.assertTrue(served_within(b, value, 200, seconds=5.0))
        self.assertGreater(metric(b, REBUILDS), rebuilds)


if __name__ == "__main__":
    unittest.main()
