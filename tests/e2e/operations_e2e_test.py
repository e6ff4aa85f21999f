"""Operating the server: reflection with buf curl, health, interop-style
cases, and SIGTERM during 20 open streams that all resume elsewhere."""

import json
import os
import signal
import subprocess
import threading
import unittest

import grpc

import junit
from harness import Sandbox, Server, rich_details, runfile, temp_dir
from followgate_client import FollowgateClient
from followgate.v1 import follows_pb2, follows_pb2_grpc

BUF = runfile("../buf/bin/buf")
PAGE = "urn:li:organizationalPage:42"


class ReflectionAndInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(pages="42:2345:0")
        cls.server = Server(cls.sandbox, state_dir=temp_dir(), extra=["--max_request_bytes=65536"])
        cls.url = "http://127.0.0.1:%d" % cls.server.port
        cls.env = dict(os.environ, BUF_CACHE_DIR=os.path.join(temp_dir(), "buf-cache"))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.sandbox.stop()

    def buf(self, *args):
        return subprocess.run([BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge"] +
                              list(args), capture_output=True, text=True, env=self.env,
                              timeout=60)

    def test_buf_curl_lists_every_method_through_reflection(self):
        listed = self.buf("--list-methods", self.url)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        methods = set(listed.stdout.split())
        for method in ("followgate.v1.FollowsService/StreamFollowers",
                       "followgate.v1.FollowsService/StreamFollowing",
                       "followgate.v1.FollowsService/ListFollowers",
                       "followgate.v1.FollowsService/StreamFollowerChanges",
                       "followgate.v1.InvitationsService/SendInvitations",
                       "followgate.v1.InvitationsService/GetInvitation",
                       "grpc.health.v1.Health/Check"):
            self.assertIn(method, methods)

    def test_buf_curl_gets_serving_and_calls_a_method(self):
        health = self.buf("-d", "{}", self.url + "/grpc.health.v1.Health/Check")
        self.assertEqual(health.returncode, 0, health.stderr)
        self.assertEqual(json.loads(health.stdout)["status"], "SERVING")
        listed = self.buf("-d", json.dumps({"followee": PAGE, "followerFilter":
                                            "FOLLOWER_FILTER_MEMBERS", "pageSize": 5}),
                          self.url + "/followgate.v1.FollowsService/ListFollowers")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual(len(json.loads(listed.stdout)["edges"]), 5)

    def test_cancel_after_the_first_page(self):
        channel = grpc.insecure_channel(self.server.target)
        stub = follows_pb2_grpc.FollowsServiceStub(channel)
        call = stub.StreamFollowers(follows_pb2.StreamFollowersRequest(
            followee=PAGE, follower_filter=follows_pb2.FOLLOWER_FILTER_MEMBERS))
        first = next(call)
        self.assertEqual(len(first.edges), 1000)
        call.cancel()
        with self.assertRaises(grpc.RpcError) as cancelled:
            list(call)
        self.assertEqual(cancelled.exception.code(), grpc.StatusCode.CANCELLED)
        channel.close()

    def test_short_deadline_while_waiting_for_the_budget(self):
        slow = Server(self.sandbox, interval="1h", state_dir=temp_dir())
        try:
            with FollowgateClient(slow.target) as client:
                with self.assertRaises(grpc.RpcError) as late:
                    list(client.follower_pages(PAGE, "members", timeout=1.0))
            self.assertEqual(late.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            slow.stop()

    def test_unknown_method_is_unimplemented(self):
        channel = grpc.insecure_channel(self.server.target)
        call = channel.unary_unary("/followgate.v1.FollowsService/NoSuchMethod")
        with self.assertRaises(grpc.RpcError) as unknown:
            call(b"", timeout=10)
        self.assertEqual(unknown.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        channel.close()

    def test_oversized_request_is_resource_exhausted(self):
        with FollowgateClient(self.server.target) as client:
            with self.assertRaises(grpc.RpcError) as too_big:
                list(client.follower_pages("urn:li:organizationalPage:" + "1" * 100000))
        self.assertEqual(too_big.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)


class ObservabilityTest(unittest.TestCase):
    def test_metrics_and_one_json_log_line_per_rpc_and_upstream_request(self):
        import urllib.request
        sandbox = Sandbox(pages="42:2345:0")
        server = Server(sandbox, state_dir=temp_dir(), extra=["--metrics_port=0"])
        try:
            with FollowgateClient(server.target) as client:
                self.assertEqual(sum(1 for _ in client.followers(PAGE, "members")), 2345)
                with self.assertRaises(grpc.RpcError):
                    list(client.follower_pages("urn:li:organizationalPage:999"))
            events = [json.loads(line) for line in server.log().splitlines() if line.strip()]
            port = next(e["port"] for e in events if e["event"] == "metrics")
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
                metrics = r.read().decode()
        finally:
            server.stop()
            sandbox.stop()
        rpcs = [e for e in events if e["event"] == "rpc"]
        self.assertEqual([(e["method"], e["code"]) for e in rpcs],
                         [("StreamFollowers", "OK"), ("StreamFollowers", "NOT_FOUND")])
        self.assertEqual(rpcs[0]["pages"], 3)
        self.assertGreater(rpcs[0]["bytes"], 2345 * 40)
        self.assertIn("caller", rpcs[0])
        upstream = [e for e in events if e["event"] == "upstream"]
        self.assertEqual([e["outcome"] for e in upstream], ["200", "200", "200", "404"])
        self.assertIn('followgate_rpcs_total{caller="unauthenticated",code="OK",'
                      'method="StreamFollowers"} 1', metrics)
        self.assertIn('followgate_upstream_requests_total{outcome="200",upstream="linkedin"} 3',
                      metrics)
        self.assertIn('followgate_snapshot_opens_total{result="new"}', metrics)
        self.assertIn("followgate_budget_wait_seconds_count", metrics)


class DrainTest(unittest.TestCase):
    def test_sigterm_during_twenty_streams_each_resumes_on_a_restarted_server(self):
        sandbox = Sandbox(pages="42:12345:0", min_interval="0.05s")
        state_dir = temp_dir()
        server = Server(sandbox, interval="0.25s", state_dir=state_dir,
                        extra=["--drain_grace=0.5s"])
        streams = 20
        received = [[] for _ in range(streams)]
        tokens = [None] * streams
        errors = [None] * streams
        started = threading.Barrier(streams + 1)

        def read(i):
            with FollowgateClient(server.target) as client:
                try:
                    first = True
                    for page in client.follower_pages(PAGE, "members", timeout=120):
                        received[i] += [e.follower.urn for e in page.edges]
                        tokens[i] = page.resume_token
                        if first:
                            first = False
                            started.wait()
                except grpc.RpcError as error:
                    errors[i] = error

        threads = [threading.Thread(target=read, args=(i,)) for i in range(streams)]
        for t in threads:
            t.start()
        started.wait(timeout=60)  # Every stream has its first page.
        self.assertEqual(server.stop(signal.SIGTERM), 0, server.log())
        for t in threads:
            t.join(timeout=60)
        for i in range(streams):
            self.assertIsNotNone(errors[i], "stream %d was not cut by the drain" % i)
            self.assertEqual(errors[i].code(), grpc.StatusCode.UNAVAILABLE)
            info = rich_details(errors[i])["ErrorInfo"]
            self.assertEqual(info.reason, "SERVER_DRAINING")
            self.assertEqual(info.metadata["resume_token"], tokens[i])

        server = Server(sandbox, interval="0.25s", state_dir=state_dir)
        try:
            with FollowgateClient(server.target) as client:
                for i in range(streams):
                    for page in client.follower_pages(PAGE, "members",
                                                      resume_token=tokens[i], timeout=120):
                        received[i] += [e.follower.urn for e in page.edges]
        finally:
            server.stop()
            sandbox.stop()
        for i in range(streams):
            self.assertEqual(len(received[i]), 12345, i)
            self.assertEqual(len(set(received[i])), 12345, i)


if __name__ == "__main__":
    junit.main()
