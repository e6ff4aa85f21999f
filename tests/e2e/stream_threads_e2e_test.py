"""Many streams waiting for LinkedIn's budget cost the server few threads.

300 StreamFollowers calls of one page (2,500 followers: 3 upstream requests)
share one crawl paced at one request per 2.5 s, so after the first page they
all wait. bench/many_streams_client holds them from two threads over three
connections and says READY once every call has its first page; the server's
thread count (/proc/PID/status) is read then, while every call still waits.
Each call then reads to its end and must have received every follower once.
"""

import json
import select
import subprocess
import time
import unittest

import junit
from harness import Sandbox, Server, runfile

CLIENT = runfile("bench/many_streams_client")
PAGE = "urn:li:organizationalPage:42"
FOLLOWERS = 2500
UPSTREAM_REQUESTS = 3  # Pages of 1000.
STREAMS = 300
MAX_SERVER_THREADS = 64


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/%d/status" % pid)


def read_line(proc, timeout):
    """The next stdout line of `proc`, or "" if it ends or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if ready:
            return proc.stdout.readline()
    return ""


class StreamThreadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(pages="42:%d:0" % FOLLOWERS)
        # Long enough that all 300 calls are open before the crawl's second and
        # third requests (at 2.5 s and 5 s), short enough for a quick test.
        cls.server = Server(cls.sandbox, interval="2.5s")
        client = subprocess.Popen(
            [CLIENT, "--server=" + cls.server.target, "--followee=" + PAGE,
             "--streams=%d" % STREAMS, "--streams_per_connection=100", "--threads=2",
             "--verify", "--label=stream_threads_e2e"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            cls.ready_line = read_line(client, timeout=60)
            if cls.ready_line.startswith("READY "):
                cls.threads_while_waiting = threads_of(cls.server.proc.pid)
                # Read after the threads: fewer than 3 requests means the last
                # page was not fetched yet, so every call was still waiting.
                cls.requests_at_sample = cls.sandbox.stats()["requests"]
            out, err = client.communicate(timeout=60)
        finally:
            client.kill()
        cls.client_rc = client.returncode
        cls.client_output = "%s%s\nstderr:\n%s" % (cls.ready_line, out, err)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        cls.summary = json.loads(lines[-1]) if lines else {}

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.sandbox.stop()

    def assert_all_streams_were_waiting(self):
        self.assertTrue(self.ready_line.startswith("READY "),
                        "the client never had all %d first pages:\n%s"
                        % (STREAMS, self.client_output))
        self.assertLess(self.requests_at_sample, UPSTREAM_REQUESTS,
                        "the crawl ended before the threads were counted: the calls were "
                        "not all waiting (%s)" % self.ready_line.strip())

    def test_300_streams_waiting_on_one_crawl_hold_at_most_64_server_threads(self):
        self.assert_all_streams_were_waiting()
        self.assertLessEqual(
            self.threads_while_waiting, MAX_SERVER_THREADS,
            "followgate_server ran %d threads while %d streams waited for the budget"
            % (self.threads_while_waiting, STREAMS))

    def test_each_of_300_waiting_streams_gets_all_2500_followers_exactly_once(self):
        self.assert_all_streams_were_waiting()
        self.assertEqual(self.client_rc, 0, self.client_output)
        s = self.summary
        self.assertEqual(s["complete_streams"], STREAMS, self.client_output)
        self.assertEqual((s["pages_per_stream_min"], s["pages_per_stream_max"]),
                         (UPSTREAM_REQUESTS, UPSTREAM_REQUESTS))
        self.assertEqual((s["edges_per_stream_min"], s["edges_per_stream_max"]),
                         (FOLLOWERS, FOLLOWERS))
        self.assertEqual(s["distinct_followers_per_stream_min"], FOLLOWERS)
        self.assertEqual(s["sequence_errors"], 0)
        # Every stream received the same edges in the same order.
        self.assertEqual(s["digest_mismatches"], 0)
        # One crawl served them all.
        self.assertEqual(self.sandbox.stats()["requests"], UPSTREAM_REQUESTS)


if __name__ == "__main__":
    junit.main()
