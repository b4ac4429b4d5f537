#!/usr/bin/env python3
"""Integration tests for TLS on the data and admin listeners: versions and
ciphers refused, the AWS CLI and the tollgate CLI over HTTPS, a slow
handshake cut off, and certificates swapped on SIGHUP without dropping a
connection.

Certificates come from the openssl command line, made for the run: a CA and
two server certificates for 127.0.0.1 signed by it. Runs the real binary
(env TOLLGATE_BIN) against the echo backend on 127.0.0.1.

    python3 tests/integration/test_tls.py [-v]
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest
import warnings

from harness import HOST, TOLLGATE_BIN, Backend, Gateway, aws, aws_cli_env, keyed_echo_declaration, wait_until

API = "tls01"
KEY = "tls-key-0123456789abcdefghij"
WAIT_S = 10.0


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


class Certificates:
    """A CA and server certificates it signs, all EC P-256, in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=tollgate test CA", cwd=directory)
        with open(os.path.join(directory, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self.ca = os.path.join(directory, "ca.pem")

    def server(self, name):
        """(certificate, key) paths of a new server certificate for 127.0.0.1."""
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext", cwd=self.dir)
        return os.path.join(self.dir, f"{name}.pem"), os.path.join(self.dir, f"{name}.key")

    def client_context(self):
        return ssl.create_default_context(cafile=self.ca)


def der(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def declaration(backend_port):
    return keyed_echo_declaration(API, backend_port, "tls-client", KEY, "tls-plan", method="ANY")


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-it-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.certs = Certificates(cls.workdir)
        cls.first = cls.certs.server("first")
        cls.second = cls.certs.server("second")
        # The files the server is given; tests overwrite them and send SIGHUP.
        cls.cert_file = os.path.join(cls.workdir, "served.pem")
        cls.key_file = os.path.join(cls.workdir, "served.key")
        cls.serve_files(cls.first)
        cls.backend = Backend(cls.workdir).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.gw = Gateway(cls.workdir, tls=cls.certs.client_context(),
                         args=["--tls-cert", cls.cert_file, "--tls-key", cls.key_file,
                               "--admin-tls-cert", cls.cert_file, "--admin-tls-key", cls.key_file,
                               "--header-timeout", "0.5"])
        cls.gw.apply(declaration(cls.backend.port))
        cls.gw.start()
        cls.addClassCleanup(cls.gw.stop)

    @classmethod
    def serve_files(cls, pair):
        shutil.copyfile(pair[0], cls.cert_file)
        shutil.copyfile(pair[1], cls.key_file)

    def handshake(self, port, context):
        """A TLS connection to `port` made with `context`; closed at the test's end."""
        raw = socket.create_connection((HOST, port), timeout=WAIT_S)
        self.addCleanup(raw.close)
        conn = context.wrap_socket(raw, server_hostname=HOST)
        self.addCleanup(conn.close)
        return conn

    def echo(self, conn):
        """One keyed request on an open TLS connection, kept alive; its status line."""
        conn.sendall(f"GET /restapis/{API}/prod/_user_request_/echo HTTP/1.1\r\nHost: t\r\n"
                     f"x-api-key: {KEY}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n")
                       if line.lower().startswith("content-length:")), 0)
        body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        while len(body) < length:
            body += conn.recv(65536)
        return head.split("\r\n")[0]

    def test_data_plane_serves_https_with_keys(self):
        res = self.gw.request("GET", API, "prod", "/echo", key=KEY)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(json.loads(res.body)["path"], "/echo")
        self.assertEqual(self.gw.request("GET", API, "prod", "/echo", key="wrong").status, 403)

    def test_tls_1_2_and_1_3_accepted(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            context = self.certs.client_context()
            context.minimum_version = context.maximum_version = version
            for port in (self.gw.port, self.gw.admin_port):
                with self.subTest(version=version, port=port):
                    self.assertEqual(self.handshake(port, context).version(), version.name.replace("_", "."))

    def test_tls_1_1_refused(self):
        context = self.certs.client_context()
        # The client's own floor would stop it before the server could refuse.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        for port in (self.gw.port, self.gw.admin_port):
            with self.subTest(port=port):
                # The server's alert, not the client's refusal to offer 1.1.
                with self.assertRaisesRegex(ssl.SSLError, "ALERT_PROTOCOL_VERSION"):
                    self.handshake(port, context)

    def test_cipher_without_forward_secrecy_or_aead_refused(self):
        context = self.certs.client_context()
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-SHA")
        with self.assertRaisesRegex(ssl.SSLError, "(?i)handshake failure|no shared cipher"):
            self.handshake(self.gw.port, context)

    def test_plain_http_on_the_tls_port_gets_no_answer(self):
        with socket.create_connection((HOST, self.gw.port), timeout=WAIT_S) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            received = b""
            try:
                while chunk := s.recv(4096):
                    received += chunk
            except ConnectionResetError:
                pass
        self.assertNotIn(b"HTTP/1.1", received)

    def test_silent_handshake_cut_off_at_the_header_timeout(self):
        with socket.create_connection((HOST, self.gw.port), timeout=WAIT_S) as s:
            try:
                self.assertEqual(s.recv(4096), b"")
            except ConnectionResetError:
                pass

    def aws_env(self):
        return aws_cli_env(self.gw.data_dir, self.workdir)

    def test_aws_cli_over_https(self):
        keys = aws(self.gw, self.workdir, "get-api-keys", scheme="https", env={"AWS_CA_BUNDLE": self.certs.ca})
        self.assertEqual([k["name"] for k in keys["items"]], ["tls-client"])

    def tollgate_cli(self, *args):
        return subprocess.run([TOLLGATE_BIN, "keys", "list", "--output", "json", "--data-dir", self.gw.data_dir,
                               "--endpoint", f"https://{HOST}:{self.gw.admin_port}", *args],
                              capture_output=True, text=True, env=self.aws_env(), timeout=30)

    def test_tollgate_cli_over_https_checks_the_certificate(self):
        trusted = self.tollgate_cli("--ca-file", self.certs.ca)
        self.assertEqual(trusted.returncode, 0, trusted.stderr)
        self.assertIn("tls-client", trusted.stdout)
        untrusted = self.tollgate_cli()
        self.assertNotEqual(untrusted.returncode, 0)
        self.assertIn("certificate verify failed", untrusted.stderr)

    def test_sighup_swaps_the_certificate_without_dropping_a_connection(self):
        context = self.certs.client_context()
        kept = self.handshake(self.gw.port, context)
        self.assertEqual(self.echo(kept), "HTTP/1.1 200 OK")
        served_before = kept.getpeercert(binary_form=True)
        other = self.second if served_before == der(self.first[0]) else self.first
        try:
            self.serve_files(other)
            self.gw.proc.send_signal(signal.SIGHUP)
            for port in (self.gw.port, self.gw.admin_port):
                swapped = wait_until(
                    lambda: self.handshake(port, context).getpeercert(binary_form=True) == der(other[0]), WAIT_S)
                self.assertTrue(swapped, f"port {port} still serves the old certificate")
            # The connection made before the reload goes on with its own.
            self.assertEqual(self.echo(kept), "HTTP/1.1 200 OK")

            # Files that do not make a context leave the current one serving.
            with open(self.key_file, "w") as f:
                f.write("not a key\n")
            self.gw.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: "keeps its previous certificate" in self.gw.output(), WAIT_S),
                            self.gw.output())
            self.assertEqual(self.handshake(self.gw.port, context).getpeercert(binary_form=True), der(other[0]))
            self.assertEqual(self.gw.request("GET", API, "prod", "/echo", key=KEY).status, 200)
        finally:
            self.serve_files(other)
        self.assertIsNone(self.gw.proc.poll())


class TlsStartTest(unittest.TestCase):
    """Certificate trouble at start stops the start, naming the file."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tollgate-it-tls-start-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        certs = Certificates(cls.workdir)
        cls.first = certs.server("first")
        cls.second = certs.server("second")

    def serve(self, *args):
        return subprocess.run([TOLLGATE_BIN, "serve", "--data-dir", os.path.join(self.workdir, "data"),
                               "--listen", f"{HOST}:0", "--admin-listen", f"{HOST}:0", *args],
                              capture_output=True, text=True, timeout=30)

    def test_key_not_matching_the_certificate(self):
        result = self.serve("--tls-cert", self.first[0], "--tls-key", self.second[1])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("key values mismatch", result.stderr)
        self.assertIn(self.second[1], result.stderr)

    def test_certificate_file_that_is_not_a_certificate(self):
        result = self.serve("--admin-tls-cert", self.first[1], "--admin-tls-key", self.first[1])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"certificate file '{self.first[1]}'", result.stderr)

    def test_certificate_without_key(self):
        result = self.serve("--tls-cert", self.first[0])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--tls-key", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
