"""The Python client (client/python) against the running server."""

import unittest

import grpc

import junit
from harness import Sandbox, Server, temp_dir
from followgate.v1 import follows_pb2
from followgate.v1 import invitations_pb2
from followgate_client import FollowgateClient


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(pages="42:2345:12")
        cls.server = Server(cls.sandbox, interval="0.15s", state_dir=temp_dir())

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.sandbox.stop()

    def test_streams_every_follower_in_pages(self):
        with FollowgateClient(self.server.target) as client:
            pages = list(client.follower_pages("urn:li:organizationalPage:42", "members"))
        self.assertEqual([len(p.edges) for p in pages], [1000, 1000, 345])
        self.assertEqual([p.sequence_number for p in pages], [0, 1, 2])
        self.assertEqual([p.last_page for p in pages], [False, False, True])
        urns = {e.follower.urn for p in pages for e in p.edges}
        self.assertEqual(len(urns), 2345)
        kinds = {e.follower.kind for p in pages for e in p.edges}
        self.assertEqual(kinds, {follows_pb2.FOLLOWER_KIND_MEMBER,
                                 follows_pb2.FOLLOWER_KIND_OBFUSCATED_MEMBER})
        self.assertTrue(pages[0].HasField("fetch_time"))
        self.assertTrue(pages[0].HasField("upstream_total"))

    def test_all_followers_and_following(self):
        with FollowgateClient(self.server.target) as client:
            edges = list(client.followers("urn:li:organizationalPage:42"))
            self.assertEqual(len(edges), 2345 + 12)
            page_follower = edges[-1].follower.urn
            following = list(client.following(page_follower))
        self.assertIn("urn:li:organizationalPage:42", {e.followee for e in following})

    def test_errors_carry_code_and_message(self):
        with FollowgateClient(self.server.target) as client:
            with self.assertRaises(grpc.RpcError) as caught:
                list(client.followers("urn:li:organizationalPage:not-a-number"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("followee must be urn:li:organizationalPage:{digits}",
                      caught.exception.details())

    def test_sends_an_invitation_batch_and_resumes_it(self):
        urns = ["urn:li:fsd_profile:Py%03d" % i for i in range(120)] + ["urn:li:fsd_profile:Py000"]
        with FollowgateClient(self.server.target) as client:
            request_id, results, progress = client.invite("105672170", urns, "py-batch")
            self.assertEqual(request_id, "py-batch")
            self.assertEqual(len(results), 121)
            self.assertEqual(progress.sent, 120)
            self.assertEqual(progress.upstream_requests, 3)
            self.assertEqual(results[120].outcome,
                             invitations_pb2.INVITATION_OUTCOME_SKIPPED_DUPLICATE)
            # Repeating the request sends nothing and replays every outcome.
            _, replay, replay_progress = client.invite("105672170", urns, "py-batch")
            self.assertEqual(replay, results)
            self.assertEqual(replay_progress.upstream_requests, 3)
            record = client.get_invitation("105672170", urns[5])
            self.assertEqual(record.outcome, invitations_pb2.INVITATION_OUTCOME_SENT)
            self.assertEqual(record.request_id, "py-batch")
            with self.assertRaises(grpc.RpcError) as caught:
                client.invite("105672170", urns, "py-batch-2", account_id="bad account")
            self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    junit.main()
