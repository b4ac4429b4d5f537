#!/usr/bin/env python3
"""Integration tests for several nodes on one Redis (`serve --store
redis://...`): what is applied once is served by every node, an admin
change made on one node reaches the others, and usage counted on every node
adds up; and `tollgate migrate` moves a SQLite installation into Redis.

Starts a real redis-server, the echo backend and two `tollgate serve`
processes, each with its own data directory, on 127.0.0.1.

    python3 tests/integration/test_cluster.py [-v]
"""
import collections
import http.client
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (HOST, TOLLGATE_BIN, Backend, Gateway, RedisServer, aws, console_cookie, console_json, free_port,
                     http_request, keyed_echo_declaration, stop_process, wait_until)

API = "clus01"
KEY = "cluster-key-0123456789abcdef"
WAIT_S = 10.0


def declaration(backend_port):
    return keyed_echo_declaration(API, backend_port, "shared", KEY, "cluster-plan", plan_id="clusterplan")


def start_cluster(case, prefix, cleanup, persist=False, nodes=2, quota=None, args=()):
    """Gives `case` (a test or its class) a workdir, a redis-server, the echo
    backend and `nodes` nodes on that Redis serving the declaration (its plan
    with `quota`, a dict, if given), each stopped through `cleanup`."""
    case.workdir = tempfile.mkdtemp(prefix=prefix)
    cleanup(shutil.rmtree, case.workdir, True)
    case.redis = RedisServer(case.workdir, persist=persist).start()
    cleanup(case.redis.stop)
    case.backend = Backend(case.workdir).start()
    cleanup(case.backend.stop)
    case.nodes = []
    for name in ("node-a", "node-b", "node-c")[:nodes]:
        workdir = os.path.join(case.workdir, name)
        os.mkdir(workdir)
        case.nodes.append(Gateway(workdir, args=["--store", case.redis.url, *args]))
    doc = declaration(case.backend.port)
    if quota:
        doc["usagePlans"][0]["quota"] = quota
    case.nodes[0].apply(doc)
    for node in case.nodes:
        node.start()
        cleanup(node.stop)


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_cluster(cls, "tollgate-it-cluster-", cls.addClassCleanup)

    def status(self, node, key):
        return node.request("GET", API, "prod", "/echo", key=key).status

    def aws(self, node, *args):
        return aws(node, self.workdir, *args)

    def test_what_was_applied_once_is_served_by_every_node(self):
        for node in self.nodes:
            self.assertEqual(self.status(node, KEY), 200, node.output())
            self.assertEqual(self.status(node, "no-such-key-0123456789"), 403)
        names = []
        for node in self.nodes:
            with open(os.path.join(node.data_dir, "node-id")) as f:
                names.append(f.read())
        self.assertNotEqual(*names)

    def test_change_is_pushed_to_a_node_that_rarely_polls(self):
        # Node C checks the store once a minute: only the commit's PUBLISH
        # can bring it a key created on node A within the wait.
        workdir = os.path.join(self.workdir, "node-c")
        os.mkdir(workdir)
        c = Gateway(workdir, args=["--store", self.redis.url, "--reload-interval", "60"])
        c.start()
        self.addCleanup(c.stop)
        created = self.aws(self.nodes[0], "create-api-key", "--name", "pushed", "--enabled")
        self.aws(self.nodes[0], "create-usage-plan-key", "--usage-plan-id", "clusterplan", "--key-id", created["id"],
                 "--key-type", "API_KEY")
        self.assertTrue(wait_until(lambda: self.status(c, created["value"]) == 200, WAIT_S), c.output())

    def test_admin_change_on_one_node_reaches_the_other(self):
        a, b = self.nodes
        created = self.aws(a, "create-api-key", "--name", "from-a", "--enabled")
        self.aws(a, "create-usage-plan-key", "--usage-plan-id", "clusterplan", "--key-id", created["id"],
                 "--key-type", "API_KEY")
        self.assertTrue(wait_until(lambda: self.status(b, created["value"]) == 200, WAIT_S))
        self.aws(b, "update-api-key", "--api-key", created["id"],
                 "--patch-operations", "op=replace,path=/enabled,value=false")
        self.assertTrue(wait_until(lambda: self.status(a, created["value"]) == 403, WAIT_S))

    def test_usage_counted_on_every_node_adds_up(self):
        a, b = self.nodes
        created = self.aws(a, "create-api-key", "--name", "counted", "--enabled")
        self.aws(a, "create-usage-plan-key", "--usage-plan-id", "clusterplan", "--key-id", created["id"],
                 "--key-type", "API_KEY")
        for node in self.nodes:
            self.assertTrue(wait_until(lambda: self.status(node, created["value"]) == 200, WAIT_S))
        for node, n in ((a, 4), (b, 6)):
            for _ in range(n):
                self.assertEqual(self.status(node, created["value"]), 200)
        day = time.strftime("%Y-%m-%d", time.gmtime())

        def used():
            usage = self.aws(b, "get-usage", "--usage-plan-id", "clusterplan", "--key-id", created["id"],
                             "--start-date", day, "--end-date", day)
            return sum(d[0] for d in usage.get("items", {}).get(created["id"], []))

        # Two requests were the waits for each node to know the key.
        self.assertTrue(wait_until(lambda: used() == 12, WAIT_S), used())

        # The console of either node charts the requests of both.
        cookie = console_cookie(a)

        def charted():
            recent = console_json(a, cookie, f"/console/api/recent?planId=clusterplan&keyId={created['id']}")
            return sum(m["allowed"] for m in recent["minutes"])
        self.assertTrue(wait_until(lambda: charted() == 12, WAIT_S), charted())


class RedisTroubleTest(unittest.TestCase):
    """Redis killed under load and started again: both nodes go on serving
    from what they hold, admin writes get 503, and once Redis is back every
    request served is in the usage."""

    def setUp(self):
        start_cluster(self, "tollgate-it-redis-trouble-", self.addCleanup, persist=True)

    def serve(self, n):
        for i in range(n):
            node = self.nodes[i % 2]
            self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200, node.output())

    def test_redis_killed_and_restarted_under_load(self):
        a, b = self.nodes
        key_id = next(k["id"] for k in aws(a, self.workdir, "get-api-keys")["items"] if k["name"] == "shared")
        self.serve(10)
        self.redis.stop()
        self.serve(20)
        refused = subprocess.run([TOLLGATE_BIN, "keys", "create", "--name", "during", "--data-dir", a.data_dir,
                                  "--endpoint", f"http://{HOST}:{a.admin_port}"],
                                 capture_output=True, text=True, timeout=60,
                                 env={k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "AWS_"))})
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("store is unavailable", refused.stderr)
        self.redis.start()
        self.serve(10)
        day = time.strftime("%Y-%m-%d", time.gmtime())

        def used():
            usage = aws(b, self.workdir, "get-usage", "--usage-plan-id", "clusterplan", "--key-id", key_id,
                        "--start-date", day, "--end-date", day)
            return sum(d[0] for d in usage.get("items", {}).get(key_id, []))

        self.assertTrue(wait_until(lambda: used() == 40, WAIT_S), used())
        for node in self.nodes:
            self.assertIsNone(node.proc.poll())
            metrics = self.metrics(node)
            self.assertGreater(metrics["tollgate_redis_failures_total"], 0)
            self.assertGreater(metrics["tollgate_redis_batches_total"], metrics["tollgate_redis_failures_total"])
            self.assertEqual(metrics["tollgate_redis_up"], 1)
            self.assertGreater(metrics['tollgate_redis_latency_seconds_count{store="redis"}'], 0)

    def metrics(self, node):
        """The node's /metrics samples without labels, and the latency count."""
        body = http_request(node.admin_port, "GET", "/metrics").body.decode()
        samples = {}
        for line in body.splitlines():
            if line.startswith("tollgate_redis_"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples


class Load:
    """`connections` keep-alive connections spread over `nodes`, each sending
    keyed requests until stopped; counts the answers by node and status.
    A connection whose node is gone stops."""

    def __init__(self, nodes, key, connections=64):
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        target = f"/restapis/{API}/prod/_user_request_/echo"
        self.threads = [threading.Thread(target=self.run, args=(nodes, i % len(nodes), key, target))
                        for i in range(connections)]
        for t in self.threads:
            t.start()

    def run(self, nodes, index, key, target):
        counted = collections.Counter()
        conn = http.client.HTTPConnection(HOST, nodes[index].port, timeout=10)
        try:
            while not self.stopping.is_set():
                try:
                    conn.request("GET", target, headers={"x-api-key": key})
                    res = conn.getresponse()
                    res.read()
                except (OSError, http.client.HTTPException):
                    counted[(index, "gone")] += 1
                    break
                counted[(index, res.status)] += 1
                if res.status != 200:
                    time.sleep(0.005)  # a refused client backs off a little
        finally:
            conn.close()
            with self.lock:
                self.counts.update(counted)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()
        return self.counts

    def answered(self, status, node=None):
        return sum(n for (i, st), n in self.counts.items() if st == status and node in (None, i))


def used_today(node, workdir, key_id):
    day = time.strftime("%Y-%m-%d", time.gmtime())
    usage = aws(node, workdir, "get-usage", "--usage-plan-id", "clusterplan", "--key-id", key_id,
                "--start-date", day, "--end-date", day)
    return sum(d[0] for d in usage.get("items", {}).get(key_id, []))


def lease_metrics(node):
    body = http_request(node.admin_port, "GET", "/metrics").body.decode()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in body.splitlines() if line.startswith("tollgate_quota_lease"))}


class QuotaAcrossNodesTest(unittest.TestCase):
    """Three nodes serve one key's daily quota under 64 connections: the
    requests served over all of them never exceed it, and when callers are
    refused at most 1% of it is left stranded. A node killed mid-load has
    its leases come back to the others; Redis killed and started again
    mid-load loses no usage and overshoots nothing."""

    QUOTA = 3000

    def start(self, persist=False, quota=QUOTA, lease="1"):
        # Leases of 1 s, so that a killed node's come back within the test.
        start_cluster(self, "tollgate-it-quota-", self.addCleanup, persist=persist, nodes=3,
                      quota={"limit": quota, "period": "DAY"}, args=["--quota-lease", lease])
        self.key_id = next(k["id"] for k in aws(self.nodes[0], self.workdir, "get-api-keys")["items"]
                           if k["name"] == "shared")

    def served(self):
        """Requests the backend received with the key: the requests served."""
        return self.backend.received(KEY)

    def spend(self, nodes):
        """Waits until each of `nodes` refuses the key: its quota is spent."""
        def refused_everywhere():
            time.sleep(0.5)
            return all(self.nodes[i].request("GET", API, "prod", "/echo", key=KEY).status == 429 for i in nodes)
        self.assertTrue(wait_until(refused_everywhere, 120), [n.output()[-2000:] for n in self.nodes])

    def check_usage(self, served):
        self.assertTrue(wait_until(lambda: used_today(self.nodes[0], self.workdir, self.key_id) == served, WAIT_S),
                        used_today(self.nodes[0], self.workdir, self.key_id))

    def test_three_nodes_serve_exactly_the_quota(self):
        self.start()
        load = Load(self.nodes, KEY)
        self.spend(range(3))
        load.stop()
        served = self.served()
        print(f"\n  3 nodes, 64 connections: {served} served of a quota of {self.QUOTA}, by node "
              f"{[load.answered(200, i) for i in range(3)]}; {load.answered(429)} refused")
        self.assertLessEqual(served, self.QUOTA)
        self.assertGreaterEqual(served, self.QUOTA * 0.99)
        self.assertEqual(load.answered(503), 0)
        self.check_usage(served)
        for node in self.nodes:
            self.assertGreater(lease_metrics(node)["tollgate_quota_lease_grants_total"], 0, node.output())

    def test_a_killed_nodes_leases_come_back(self):
        self.start()
        load = Load(self.nodes, KEY)
        self.assertTrue(wait_until(lambda: self.served() >= self.QUOTA // 3, 60))
        self.nodes[2].proc.send_signal(signal.SIGKILL)
        self.nodes[2].proc.wait()
        # Its leases come back once its mark in Redis expires (1 s), to the
        # nodes still asked for the key.
        self.assertTrue(wait_until(lambda: self.served() >= self.QUOTA * 0.99, 30), self.served())
        self.spend(range(2))
        load.stop()
        served = self.served()
        # What the killed node served after its last report (a tenth of a
        # second of its traffic at most) may be handed out again: the bound.
        print(f"\n  a node killed mid-load: {served} served of a quota of {self.QUOTA} "
              f"({load.answered(200, 2)} by the killed node)")
        self.assertGreaterEqual(served, self.QUOTA * 0.99)
        self.assertLessEqual(served, self.QUOTA * 1.05)

    def served_until_refused(self):
        """Requests to each node in turn until each refuses; how many were served."""
        served = 0
        for node in self.nodes:
            while True:
                status = node.request("GET", API, "prod", "/echo", key=KEY).status
                if status != 200:
                    self.assertEqual(status, 429)
                    break
                served += 1
        return served

    def test_a_raised_quota_and_update_usage_reach_every_node(self):
        self.start(quota=20)
        self.assertEqual(self.served_until_refused(), 20)
        aws(self.nodes[1], self.workdir, "update-usage-plan", "--usage-plan-id", "clusterplan",
            "--patch-operations", "op=replace,path=/quota/limit,value=30")
        self.assertTrue(wait_until(lambda: self.nodes[2].request("GET", API, "prod", "/echo", key=KEY).status == 200,
                                   WAIT_S))
        self.assertEqual(1 + self.served_until_refused(), 10)
        aws(self.nodes[0], self.workdir, "update-usage", "--usage-plan-id", "clusterplan", "--key-id", self.key_id,
            "--patch-operations", "op=replace,path=/remaining,value=5")
        # Each node asks again within 100 ms of a refusal.
        self.assertTrue(wait_until(lambda: self.nodes[1].request("GET", API, "prod", "/echo", key=KEY).status == 200,
                                   WAIT_S))
        self.assertEqual(1 + self.served_until_refused(), 5)
        self.assertEqual(self.served(), 35)

        # Every node's usage page says the same, from Redis. (It answers a
        # client address once a second after a burst of 10.)
        def quota_seen(node):
            return http_request(node.port, "GET", "/_usage/api", {"x-api-key": KEY}).json()["plans"][0]["quota"]
        for node in self.nodes:
            self.assertTrue(wait_until(lambda: quota_seen(node)["remaining"] == 0, WAIT_S, interval=1.0))
            self.assertEqual(quota_seen(node)["limit"], 30)

    def test_redis_killed_and_restarted_mid_load(self):
        # Leases of 5 s: Redis is back (however slow the machine) long before
        # any node's could expire, so nothing may be served twice.
        self.start(persist=True, lease="5")
        load = Load(self.nodes, KEY)
        self.assertTrue(wait_until(lambda: self.served() >= self.QUOTA // 4, 60))
        self.redis.stop()
        time.sleep(0.5)
        self.redis.start()
        self.spend(range(3))
        load.stop()
        served = self.served()
        print(f"\n  Redis killed for 0.5 s mid-load: {served} served of a quota of {self.QUOTA}; "
              f"{load.answered(503)} answered 503 meanwhile")
        self.assertLessEqual(served, self.QUOTA)
        self.assertGreaterEqual(served, self.QUOTA * 0.99)
        self.check_usage(served)


class RedisLostItsDataTest(unittest.TestCase):
    """A Redis restarted empty (no persistence) does not empty the nodes'
    catalogs: they go on serving what they hold and say why they do not
    follow the store."""

    def test_a_store_gone_back_is_not_loaded(self):
        workdir = tempfile.mkdtemp(prefix="tollgate-it-redis-lost-")
        self.addCleanup(shutil.rmtree, workdir, True)
        redis = RedisServer(workdir).start()
        self.addCleanup(redis.stop)
        backend = Backend(workdir).start()
        self.addCleanup(backend.stop)
        node = Gateway(workdir, args=["--store", redis.url])
        node.apply(declaration(backend.port))
        node.start()
        self.addCleanup(node.stop)
        self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        redis.stop()
        redis.start()
        self.assertTrue(wait_until(lambda: "went back from" in node.output(), WAIT_S), node.output())
        self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200)


class SharedThrottleTest(unittest.TestCase):
    """The nodes alive on one Redis split every throttle: with two, each
    enforces half a key's burst, so the key gets its burst once over both;
    when one stops, the other enforces it whole again."""

    BURST = 10

    def setUp(self):
        start_cluster(self, "tollgate-it-shared-throttle-", self.addCleanup)
        doc = declaration(self.backend.port)
        # A rate so slow that no token comes back during the test.
        doc["usagePlans"][0]["throttle"] = {"rateLimit": 0.01, "burstLimit": self.BURST}
        self.nodes[0].apply(doc)

    def admitted(self, node, attempts):
        return sum(node.request("GET", API, "prod", "/echo", key=KEY).status == 200 for _ in range(attempts))

    def test_two_nodes_share_a_keys_burst(self):
        a, b = self.nodes
        version = int(subprocess.run(["redis-cli", "-h", HOST, "-p", str(self.redis.port), "HGET", "tollgate:meta",
                                      "control_version"], capture_output=True, text=True, timeout=10).stdout)
        for node in self.nodes:
            self.assertTrue(wait_until(lambda: "2 node(s) serve from the store" in node.output(), WAIT_S),
                            node.output())
            # The throttle applied after the nodes started is loaded.
            self.assertTrue(wait_until(lambda: node.health()["catalogVersion"] >= version, WAIT_S))
        self.assertEqual(self.admitted(a, self.BURST) + self.admitted(b, self.BURST), self.BURST)

        b.stop()
        self.assertTrue(wait_until(lambda: "1 node(s) serve from the store" in a.output(), 3 * WAIT_S), a.output())
        # Its share changed, so the key's bucket under the plan starts full.
        self.assertEqual(self.admitted(a, self.BURST + 3), self.BURST)


class SentinelFailoverTest(unittest.TestCase):
    """With redis-sentinel://, a node asks the sentinels for the master and
    asks again when it fails: after the master is killed and its replica
    promoted, admin writes work again and the node serves what they made."""

    MASTER = "tgmaster"

    def start_sentinel(self, workdir, master_port):
        port = free_port()
        conf = os.path.join(workdir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind {HOST}\ndir {workdir}\n"
                    f"sentinel monitor {self.MASTER} {HOST} {master_port} 1\n"
                    f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                    f"sentinel failover-timeout {self.MASTER} 3000\n")
        log = open(os.path.join(workdir, "sentinel.log"), "ab")
        self.addCleanup(log.close)
        proc = subprocess.Popen(["redis-server", conf, "--sentinel"], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(stop_process, proc, signal.SIGKILL)
        self.assertTrue(wait_until(lambda: self.redis_cli(port, "PING") == "PONG", WAIT_S))
        return port

    @staticmethod
    def redis_cli(port, *args):
        result = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), *args],
                                capture_output=True, text=True, timeout=10)
        return result.stdout.strip()

    def test_node_follows_the_master_the_sentinels_name(self):
        workdir = tempfile.mkdtemp(prefix="tollgate-it-sentinel-")
        self.addCleanup(shutil.rmtree, workdir, True)
        master = RedisServer(workdir).start()
        self.addCleanup(master.stop)
        replica = RedisServer(workdir, args=["--replicaof", HOST, str(master.port)]).start()
        self.addCleanup(replica.stop)
        sentinel = self.start_sentinel(workdir, master.port)
        backend = Backend(workdir).start()
        self.addCleanup(backend.stop)
        node = Gateway(workdir, args=["--store", f"redis-sentinel://{HOST}:{sentinel}/{self.MASTER}"])
        node.apply(declaration(backend.port))
        node.start()
        self.addCleanup(node.stop)
        self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        # The replica holds everything before the master goes.
        version = self.redis_cli(master.port, "HGET", "tollgate:meta", "control_version")
        self.assertTrue(wait_until(
            lambda: self.redis_cli(replica.port, "HGET", "tollgate:meta", "control_version") == version, WAIT_S))

        master.stop()

        def created():
            try:
                return aws(node, workdir, "create-api-key", "--name", "after-failover", "--enabled")
            except AssertionError:
                return None

        key = wait_until(created, 30.0, interval=0.5)
        self.assertTrue(key, node.output())
        self.assertEqual(self.redis_cli(sentinel, "SENTINEL", "get-master-addr-by-name", self.MASTER).split(),
                         [HOST, str(replica.port)])
        aws(node, workdir, "create-usage-plan-key", "--usage-plan-id", "clusterplan", "--key-id", key["id"],
            "--key-type", "API_KEY")
        self.assertTrue(wait_until(
            lambda: node.request("GET", API, "prod", "/echo", key=key["value"]).status == 200, WAIT_S))
        self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200)


class MigrateTest(unittest.TestCase):
    """`tollgate migrate` moves a stopped SQLite installation into Redis: its
    keys keep working and the usage counted before goes on adding up."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tollgate-it-migrate-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.redis = RedisServer(self.workdir).start()
        self.addCleanup(self.redis.stop)
        self.backend = Backend(self.workdir).start()
        self.addCleanup(self.backend.stop)

    def migrate(self, data_dir):
        return subprocess.run([TOLLGATE_BIN, "migrate", "--from", f"sqlite:{data_dir}", "--to", self.redis.url],
                              capture_output=True, text=True, timeout=60)

    def test_sqlite_installation_moves_to_redis(self):
        node = Gateway(self.workdir)
        node.apply(declaration(self.backend.port))
        node.start()
        for _ in range(3):
            self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        self.assertEqual(node.stop(), 0)  # SIGTERM: everything counted is flushed

        result = self.migrate(node.data_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("1 daily usage rows", result.stdout)
        again = self.migrate(node.data_dir)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("already holds control state", again.stderr)

        node.args = ["--store", self.redis.url]
        node.start()
        self.addCleanup(node.stop)
        self.assertEqual(node.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        key_id = next(k["id"] for k in aws(node, self.workdir, "get-api-keys")["items"] if k["name"] == "shared")

        def used():
            usage = aws(node, self.workdir, "get-usage", "--usage-plan-id", "clusterplan", "--key-id", key_id,
                                    "--start-date", day, "--end-date", day)
            return sum(d[0] for d in usage.get("items", {}).get(key_id, []))

        self.assertTrue(wait_until(lambda: used() == 4, WAIT_S), used())


if __name__ == "__main__":
    unittest.main(verbosity=2)
