"""Python and Node clients against the server over mutual TLS with caller
tokens: followers, resume, invitations, rich errors, health; and no secret in
any log or output of the run."""

import os
import re
import subprocess
import unittest
from xml.sax.saxutils import quoteattr

import grpc

import junit
from harness import (CLI, SANDBOX_API_KEY, SANDBOX_TOKEN, Sandbox, Server, callers_file, rich_details,
                     runfile, temp_dir, tls_material)
from followgate_client import FollowgateClient


def _health_pb2():
    # grpc.health cannot be imported as a package next to grpcio's `grpc`:
    # load the generated module from its file.
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "health_pb2", runfile("protos/py/grpc/health/v1/health_pb2.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


health_pb2 = _health_pb2()

PAGE = "urn:li:organizationalPage:42"
ETL_TOKEN = "etl-caller-token-0d9e"
READER_TOKEN = "reader-caller-token-77aa"


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tls = tls_material()
        cls.sandbox = Sandbox(pages="42:2345:5")
        cls.server = Server(
            cls.sandbox, state_dir=temp_dir(),
            extra=["--callers_file=" + callers_file({
                       "etl": (ETL_TOKEN, ["follows.read", "invitations.send"]),
                       "reader": (READER_TOKEN, ["follows.read"])}),
                   "--tls_cert_file=" + cls.tls["server_cert"],
                   "--tls_key_file=" + cls.tls["server_key"],
                   "--tls_client_ca_file=" + cls.tls["ca"]])
        cls.target = "localhost:%d" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.sandbox.stop()
        logs = cls.server.log() + cls.sandbox.log()
        for secret in (SANDBOX_TOKEN, SANDBOX_API_KEY, ETL_TOKEN, READER_TOKEN):
            assert secret not in logs, "a secret leaked into a log"

    def credentials(self, with_client_cert=True):
        read = lambda k: open(self.tls[k], "rb").read()
        if not with_client_cert:
            return grpc.ssl_channel_credentials(read("ca"))
        return grpc.ssl_channel_credentials(read("ca"), read("client_key"), read("client_cert"))

    def client(self, token=ETL_TOKEN, with_client_cert=True):
        return FollowgateClient(self.target, self.credentials(with_client_cert), token=token)

    def test_python_streams_followers_and_resumes_from_a_token(self):
        with self.client() as client:
            pages = list(client.follower_pages(PAGE, "members"))
            self.assertEqual(sum(len(p.edges) for p in pages), 2345)
            rest = list(client.follower_pages(PAGE, "members",
                                              resume_token=pages[0].resume_token))
        self.assertEqual([p.sequence_number for p in rest], [1, 2])
        self.assertEqual({e.follower.urn for p in pages[1:] for e in p.edges},
                         {e.follower.urn for p in rest for e in p.edges})

    def test_python_sends_an_invitation_batch(self):
        urns = ["urn:li:fsd_profile:Tls%03d" % i for i in range(60)]
        with self.client() as client:
            _, results, progress = client.invite("105672170", urns, "mtls-batch")
        self.assertEqual(progress.sent, 60)
        self.assertEqual(len(results), 60)

    def test_python_decodes_rich_error_details(self):
        with self.client() as client:
            with self.assertRaises(grpc.RpcError) as bad:
                list(client.follower_pages("urn:li:organization:42"))
        self.assertEqual(bad.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        details = rich_details(bad.exception)
        self.assertEqual(details["ErrorInfo"].reason, "INVALID_FIELD")
        self.assertEqual(details["ErrorInfo"].domain, "followgate.dev")
        self.assertEqual(details["BadRequest"].field_violations[0].field, "followee")

    def test_caller_without_the_scope_or_token_is_refused(self):
        with self.client(token=READER_TOKEN) as client:
            with self.assertRaises(grpc.RpcError) as denied:
                client.invite("105672170", ["urn:li:fsd_profile:X"], "denied")
        self.assertEqual(denied.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(rich_details(denied.exception)["ErrorInfo"].reason,
                         "CALLER_SCOPE_MISSING")
        with FollowgateClient(self.target, self.credentials()) as anonymous:
            with self.assertRaises(grpc.RpcError) as unauthenticated:
                list(anonymous.follower_pages(PAGE))
        self.assertEqual(unauthenticated.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_client_without_a_certificate_cannot_connect(self):
        with self.client(with_client_cert=False) as client:
            with self.assertRaises(grpc.RpcError) as refused:
                list(client.follower_pages(PAGE, timeout=10))
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_cli_without_a_certificate_stops_reconnecting_and_says_why(self):
        result = subprocess.run(
            [CLI, "--server=" + self.target, "--tls_ca_file=" + self.tls["ca"],
             "followers", PAGE, "--timeout=120s"],
            capture_output=True, text=True, timeout=100,
            env=dict(os.environ, FOLLOWGATE_TOKEN=ETL_TOKEN))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("not reconnecting: the server closed 3 connections in a row", result.stderr)
        self.assertIn("may want a client certificate", result.stderr)
        self.assertNotIn(ETL_TOKEN, result.stderr)

    def test_health_is_serving_without_a_caller_token(self):
        channel = grpc.secure_channel(self.target, self.credentials())
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        for service in ("", "followgate.v1.FollowsService", "followgate.v1.InvitationsService"):
            response = check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            self.assertEqual(response.status, health_pb2.HealthCheckResponse.SERVING, service)
        channel.close()

    def test_node_client_passes_its_tests(self):
        env = dict(os.environ,
                   NODE_PATH=runfile("../node_modules"),
                   FOLLOWGATE_TARGET=self.target,
                   FOLLOWGATE_TOKEN=ETL_TOKEN,
                   FOLLOWGATE_TLS_CA=self.tls["ca"],
                   FOLLOWGATE_TLS_CERT=self.tls["client_cert"],
                   FOLLOWGATE_TLS_KEY=self.tls["client_key"],
                   FOLLOWGATE_PROTOS=runfile("protos"),
                   FOLLOWGATE_CLIENT=runfile("client/node/followgate_client.js"))
        # TAP works on every Node with a test runner (18 and later).
        result = subprocess.run(
            ["node", "--test", "--test-reporter=tap", runfile("tests/e2e/node_client.test.js")],
            capture_output=True, text=True, env=env, timeout=300)
        print(result.stdout)
        cases = re.findall(r"^(ok|not ok) \d+ - (.+)$", result.stdout, re.MULTILINE)
        xml = os.path.join(temp_dir(), "node.xml")
        with open(xml, "w") as f:
            f.write("<testsuites>" + "".join(
                '<testcase classname="node_client" name=%s>%s</testcase>'
                % (quoteattr(name), "<failure/>" if verdict == "not ok" else "")
                for verdict, name in cases) + "</testsuites>")
        junit.extra_reports.append(xml)  # The Node cases count on their own.
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(len(cases), 4, result.stdout)
        self.assertTrue(all(verdict == "ok" for verdict, _ in cases))
        for secret in (ETL_TOKEN, SANDBOX_TOKEN, SANDBOX_API_KEY):
            self.assertNotIn(secret, result.stdout + result.stderr)


if __name__ == "__main__":
    junit.main()
