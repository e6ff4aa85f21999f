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
from harness import (CLI, SANDBOX_API_KEY, SANDBOX_TOKEN, SERVER, Sandbox, Server,
                     health_status, metrics_port, run_cli, temp_dir, wait_until)
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


def replace_file(path, contents):
    """As a platform rotates a mounted secret: a new file renamed over it."""
    with open(path + ".next", "w") as f:
        f.write(contents + "\n")
    os.rename(path + ".next", path)


class RotationTest(unittest.TestCase):
    """The upstreams start accepting only new credentials (the sandbox is
    replaced on its port) and the files are replaced: no restart."""

    def test_token_and_key_files_replaced_during_a_stream_take_effect_without_restart(self):
        sandbox = Sandbox(pages="42:20000:0", min_interval="0.1s")
        server = Server(sandbox, state_dir=temp_dir())
        new_token, new_key = "rotated-linkedin-token-5e1f", "rotated-cs-key-9b2a"
        try:
            output = os.path.join(temp_dir(), "followers.jsonl")
            with open(output, "w") as out:
                cli = subprocess.Popen([CLI, "--server=" + server.target, "followers", PAGE,
                                        "--edge_type=members", "--reconnect=false"],
                                       stdout=out, stderr=subprocess.PIPE, text=True)
                self.assertTrue(wait_until(lambda: os.path.getsize(output) > 0, 60))
                port = sandbox.port
                self.assertEqual(sandbox.stop(), 0)
                sandbox = Sandbox(pages="42:20000:0", min_interval="0.1s", port=port,
                                  token=new_token, api_key=new_key)
                replace_file(server.token_file, new_token)
                replace_file(server.key_file, new_key)
                _, stderr = cli.communicate(timeout=240)
            # One stream, never broken (--reconnect=false): every follower once.
            self.assertEqual(cli.returncode, 0, stderr)
            with open(output) as f:
                got = [json.loads(line)["follower"] for line in f if line.strip()]
            self.assertEqual(len(got), 20000)
            self.assertEqual(len(set(got)), 20000)

            invited = run_cli(server, "invite", "--company=" + COMPANY, "--request_id=rotated",
                              "urn:li:fsd_profile:ACoArotated1")
            self.assertEqual(invited.returncode, 0, invited.stderr)
            self.assertEqual(sandbox.cs_stats()["requests"], 1)
            self.assertIn("changed: using the new one", server.log())
        finally:
            self.assertEqual(server.stop(), 0)  # Fails if a secret is in its log.
            sandbox.stop()


class RevokedTokenTest(unittest.TestCase):
    """LinkedIn stops accepting the token (the sandbox is replaced on its
    port by one that knows another): only the credential goes out."""

    def test_a_revoked_token_takes_out_only_its_credential_and_the_server_stays_serving(self):
        sandbox = Sandbox(pages="42:1500:0,43:800:0", min_interval="0.05s")
        server = Server(sandbox, state_dir=temp_dir(), extra=["--metrics_port=0"])
        credential = "followgate.linkedin.credential.default"
        try:
            warm = run_cli(server, "followers", PAGE, "--edge_type=members")
            self.assertEqual(warm.returncode, 0, warm.stderr)
            self.assertEqual(health_status(server, credential), "SERVING")
            port = sandbox.port
            self.assertEqual(sandbox.stop(), 0)
            sandbox = Sandbox(pages="42:1500:0,43:800:0", min_interval="0.05s", port=port,
                              token="a-token-followgate-does-not-have-7d1c")

            cold = run_cli(server, "followers", "urn:li:organizationalPage:43",
                           "--edge_type=members")
            self.assertEqual(cold.returncode, 1)
            self.assertIn("UNAUTHENTICATED", cold.stderr)
            self.assertIn('LinkedIn credential "default"', cold.stderr)
            self.assertEqual(health_status(server, credential), "NOT_SERVING")
            self.assertEqual(health_status(server, ""), "SERVING")
            self.assertEqual(health_status(server, "followgate.v1.FollowsService"), "SERVING")
            self.assertEqual(health_status(server, "followgate.v1.InvitationsService"), "SERVING")
            # What is warm is still served, and invitations still go out.
            again = run_cli(server, "followers", PAGE, "--edge_type=members")
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertEqual(len(again.stdout.splitlines()), 1500)
            invited = run_cli(server, "invite", "--company=" + COMPANY, "--request_id=revoked",
                              "urn:li:fsd_profile:ACoArevoked1")
            self.assertEqual(invited.returncode, 0, invited.stderr)
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port(server.log()),
                                        timeout=10) as r:
                self.assertIn('followgate_linkedin_credential_rejected{credential="default"} 1',
                              r.read().decode())
        finally:
            self.assertEqual(server.stop(), 0)  # Fails if a secret is in its log.
            sandbox.stop()


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
