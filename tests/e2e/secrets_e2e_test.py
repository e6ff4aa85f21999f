"""No secret leaves followgate, end to end: a sandbox upstream turned hostile
(its error bodies quote the credentials it received) behind the real server,
called through the CLI and the Python client; every process's log is checked
by the harness for every secret when it stops."""

import json
import os
import subprocess
import unittest
import urllib.request

import grpc

import junit
from harness import (SANDBOX_API_KEY, SANDBOX_TOKEN, SERVER, Sandbox, Server, run_cli,
                     temp_dir)
from followgate_client import FollowgateClient

PAGE = "urn:li:organizationalPage:42"
COMPANY = "105672170"
ECHO_401 = {"kind": "echo_credentials", "status": 401}


def details_bytes(rpc_error):
    """The raw grpc-status-details-bin trailer (every google.rpc detail)."""
    for key, value in rpc_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return value
    return b""


def metrics_port(server_log):
    for line in server_log.splitlines():
        if '"event":"metrics"' in line:
            return json.loads(line)["port"]
    return None


class HostileUpstreamTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:10:0")
        self.server = Server(self.sandbox, state_dir=temp_dir(), extra=["--metrics_port=0"])

    def tearDown(self):
        self.server.stop()  # Fails if any secret is in its log.
        self.sandbox.stop()

    def assert_no_secret(self, text):
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        for secret in (SANDBOX_TOKEN, SANDBOX_API_KEY):
            self.assertNotIn(secret, text)

    def test_linkedin_401_echoing_the_token_reaches_no_error_detail_log_or_metric(self):
        self.sandbox.add_faults([ECHO_401])
        with FollowgateClient(self.server.target) as client:
            with self.assertRaises(grpc.RpcError) as caught:
                list(client.followers(PAGE, "members"))
        error = caught.exception
        self.assertEqual(error.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("bad token Bearer [REDACTED] (credential: [REDACTED])", error.details())
        self.assert_no_secret(error.details())
        self.assertTrue(details_bytes(error))
        self.assert_no_secret(details_bytes(error))
        port = metrics_port(self.server.log())
        self.assertIsNotNone(port)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            self.assert_no_secret(r.read())
        self.assertIn("[REDACTED]", self.server.log())

    def test_connectsafely_401_and_400_echoing_the_key_reach_no_error_or_log(self):
        for status in (401, 400):
            self.sandbox.cs_add_faults([{"kind": "echo_credentials", "status": status}])
            result = run_cli(self.server, "invite", "--company=" + COMPANY,
                             "--request_id=echo-%d" % status, "urn:li:fsd_profile:ACoAAB1")
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("UNAUTHENTICATED" if status == 401 else "INVALID_ARGUMENT",
                          result.stderr)
            self.assertIn("(credential: [REDACTED])", result.stderr)
            self.assert_no_secret(result.stdout + result.stderr)
        self.assertEqual(self.sandbox.cs_stats()["requests"], 2)


class SecretFileTest(unittest.TestCase):
    def test_a_directory_as_the_token_file_is_named_as_a_directory(self):
        directory = temp_dir()
        result = subprocess.run([SERVER, "--port=0", "--linkedin_token_file=" + directory],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("secret file %s is a directory" % directory, result.stderr)
        self.assertNotIn("no LinkedIn access token", result.stderr)


if __name__ == "__main__":
    junit.main()
