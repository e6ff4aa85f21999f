"""How streams end, through the real binaries: a stream on a connection cut
by its age ends with its resume token before gRPC's grace runs out, and
resuming delivers every edge exactly once; a drain's end carries the token
and a RetryInfo."""

import signal
import subprocess
import unittest

import grpc

import junit
from harness import SERVER, Sandbox, Server, rich_details, temp_dir
from followgate_client import FollowgateClient

PAGE = "urn:li:organizationalPage:42"


class StreamEndTest(unittest.TestCase):
    def test_stream_cut_by_connection_age_resumes_with_its_token_exactly_once(self):
        # Connections age after 1 s and get 3 s of grace; streams end at 2.5 s,
        # before the grace does. 13 pages at 0.4 s take about 5 s: at least
        # one cut.
        sandbox = Sandbox(pages="42:12345:0", min_interval="0.05s")
        server = Server(sandbox, interval="0.4s", state_dir=temp_dir(),
                        extra=["--max_connection_age=1s", "--max_connection_age_grace=3s",
                               "--max_stream_duration=2.5s"])
        received, token, cuts, done = [], "", 0, False
        try:
            with FollowgateClient(server.target) as client:
                for _ in range(30):
                    last = ""
                    try:
                        for page in client.follower_pages(PAGE, "members", resume_token=token,
                                                          timeout=120):
                            received += [e.follower.urn for e in page.edges]
                            if page.resume_token:
                                last = page.resume_token
                            done = done or page.last_page
                        if done:
                            break
                    except grpc.RpcError as error:
                        self.assertEqual(error.code(), grpc.StatusCode.UNAVAILABLE,
                                         error.details())
                        details = rich_details(error)
                        self.assertEqual(details["ErrorInfo"].reason, "STREAM_DURATION",
                                         error.details())
                        self.assertIn("RetryInfo", details)
                        if last:
                            self.assertEqual(details["ErrorInfo"].metadata["resume_token"], last)
                            token = last
                        else:
                            self.assertNotIn("resume_token", details["ErrorInfo"].metadata)
                        cuts += 1
        finally:
            server.stop()
            sandbox.stop()
        self.assertTrue(done, "the stream never finished")
        self.assertGreaterEqual(cuts, 1)
        self.assertEqual(len(received), 12345)
        self.assertEqual(len(set(received)), 12345)
        self.assertNotIn("the reader went away", server.log())

    def test_sigterm_drain_ends_a_stream_with_its_token_and_a_retry_delay(self):
        sandbox = Sandbox(pages="42:5000:0", min_interval="0.05s")
        server = Server(sandbox, interval="1s", state_dir=temp_dir(),
                        extra=["--drain_grace=0.2s"])
        try:
            with FollowgateClient(server.target) as client:
                stream = client.follower_pages(PAGE, "members", timeout=120)
                first = next(stream)
                self.assertTrue(first.resume_token)
                self.assertEqual(server.stop(signal.SIGTERM), 0, server.log())
                with self.assertRaises(grpc.RpcError) as cut:
                    for _ in stream:
                        pass
        finally:
            sandbox.stop()
        error = cut.exception
        self.assertEqual(error.code(), grpc.StatusCode.UNAVAILABLE)
        details = rich_details(error)
        self.assertEqual(details["ErrorInfo"].reason, "SERVER_DRAINING")
        self.assertEqual(details["ErrorInfo"].metadata["resume_token"], first.resume_token)
        self.assertIn("RetryInfo", details)

    def test_max_stream_duration_not_below_connection_age_plus_grace_is_refused(self):
        result = subprocess.run(
            [SERVER, "--sandbox", "--host=127.0.0.1", "--port=0", "--max_connection_age=1m",
             "--max_connection_age_grace=1m", "--max_stream_duration=2m"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("max_stream_duration", result.stderr)

    def test_a_shorter_connection_age_lowers_the_default_stream_duration(self):
        sandbox = Sandbox(pages="42:10:0")
        server = Server(sandbox, extra=["--max_connection_age=1m", "--max_connection_age_grace=1m"])
        try:
            with FollowgateClient(server.target) as client:
                pages = list(client.follower_pages(PAGE, "members", timeout=60))
            self.assertEqual(sum(len(p.edges) for p in pages), 10)
        finally:
            server.stop()
            sandbox.stop()


if __name__ == "__main__":
    junit.main()
