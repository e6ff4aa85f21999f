"""The CLI's reconnect loop end to end: the real CLI against the real server
(restarted, killed and drained along the way) on the sandbox upstream."""

import json
import os
import signal
import subprocess
import time
import unittest

import junit
from harness import CLI, Sandbox, Server, run_cli, temp_dir, wait_until

PAGE = "urn:li:organizationalPage:42"
FOLLOWERS = 20000


def followers_of(text):
    return [json.loads(line)["follower"] for line in text.splitlines() if line]


def line_count(path):
    with open(path) as f:
        return sum(1 for _ in f)


class CliResumeTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:%d:0" % FOLLOWERS, min_interval="0.05s")
        self.state_dir = temp_dir()
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.stop()
        self.sandbox.stop()

    def start_server(self, port=None, interval="0.2s"):
        extra = ["--drain_grace=0.2s"] + (["--port=%d" % port] if port else [])
        server = Server(self.sandbox, interval=interval, state_dir=self.state_dir,
                        api_key="unused-key", extra=extra)
        self.servers.append(server)
        return server

    def argv(self, server, checkpoint, *extra):
        return [CLI, "--server=" + server.target, "followers", PAGE, "--edge_type=members",
                "--checkpoint=" + checkpoint] + list(extra)

    def straight_run(self):
        """Every follower once, read by an uninterrupted CLI from a server of
        its own."""
        server = Server(self.sandbox, interval="0.05s", state_dir=temp_dir(),
                        api_key="unused-key")
        try:
            result = run_cli(server, "followers", PAGE, "--edge_type=members", timeout=120)
        finally:
            server.stop()
        self.assertEqual(result.returncode, 0, result.stderr)
        return followers_of(result.stdout)

    def test_stream_across_a_kill_and_a_drain_finishes_in_one_run_exactly_once(self):
        expected = self.straight_run()
        self.assertEqual(len(expected), FOLLOWERS)
        server = self.start_server()
        port = server.port
        checkpoint = os.path.join(temp_dir(), "checkpoint")
        output = os.path.join(temp_dir(), "followers.jsonl")
        with open(output, "w") as out:
            cli = subprocess.Popen(self.argv(server, checkpoint), stdout=out,
                                   stderr=subprocess.PIPE, text=True)
            try:
                self.assertTrue(wait_until(lambda: line_count(output) >= 3000))
                server.stop(signal.SIGKILL)
                server = self.start_server(port)
                self.assertTrue(wait_until(lambda: line_count(output) >= 9000))
                self.assertEqual(server.stop(signal.SIGTERM), 0, server.log())
                self.assertLess(line_count(output), FOLLOWERS)
                server = self.start_server(port)
                _, err = cli.communicate(timeout=120)
            finally:
                cli.kill()
        self.assertEqual(cli.returncode, 0, err)
        with open(output) as f:
            got = followers_of(f.read())
        self.assertEqual(sorted(got), sorted(expected))  # Each once: no gap, no repeat.
        self.assertIn("reconnecting in", err)
        self.assertIn("(reason SERVER_DRAINING, retry in ", err)
        self.assertRegex(err, r"%d edges in \d+ pages .*, [2-9]\d* reconnects" % FOLLOWERS)

    def test_rerun_of_a_finished_checkpoint_starts_a_new_stream(self):
        server = self.start_server(interval="0.05s")
        checkpoint = os.path.join(temp_dir(), "checkpoint")
        first = subprocess.run(self.argv(server, checkpoint), capture_output=True, text=True,
                               timeout=120)
        self.assertEqual(first.returncode, 0, first.stderr)
        requests = self.sandbox.stats()["requests"]
        # The next day: the same command. The snapshot is fresh enough for
        # the server's default --max_staleness: no upstream request.
        again = subprocess.run(self.argv(server, checkpoint), capture_output=True, text=True,
                               timeout=120)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("holds a finished stream: starting a new stream", again.stderr)
        self.assertEqual(sorted(followers_of(again.stdout)), sorted(followers_of(first.stdout)))
        self.assertEqual(self.sandbox.stats()["requests"], requests)
        # With --max_staleness=0s the new stream asks LinkedIn again.
        fresh = subprocess.run(self.argv(server, checkpoint, "--max_staleness=0s"),
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertIn("starting a new stream", fresh.stderr)
        self.assertEqual(len(followers_of(fresh.stdout)), FOLLOWERS)
        self.assertGreater(self.sandbox.stats()["requests"], requests)

    def test_non_retryable_error_exits_1_at_once(self):
        server = self.start_server()
        started = time.monotonic()
        bad = run_cli(server, "followers", "urn:li:organizationalPage:0", timeout=60)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertIn("INVALID_ARGUMENT: followee must be", bad.stderr)
        self.assertIn("(reason INVALID_FIELD)", bad.stderr)
        self.assertNotIn("reconnecting", bad.stderr)
        self.assertNotIn("0 edges", bad.stderr)
        # A TLS client against a plaintext server: no retry fixes it.
        ca = os.path.join(temp_dir(), "ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        ca + ".key", "-out", ca, "-days", "2", "-subj", "/CN=test CA"],
                       check=True, capture_output=True, timeout=60)
        tls = run_cli(server, "followers", PAGE, "--tls_ca_file=" + ca, timeout=60)
        self.assertEqual(tls.returncode, 1, tls.stderr)
        self.assertIn("UNAVAILABLE", tls.stderr)
        self.assertIn("does not speak TLS", tls.stderr)
        self.assertNotIn("reconnecting", tls.stderr)
        self.assertLess(time.monotonic() - started, 20)

    def test_timeout_ends_the_reconnect_loop(self):
        server = self.start_server()
        target = server.target
        server.stop()  # Nothing listens there any more.
        started = time.monotonic()
        result = subprocess.run([CLI, "--server=" + target, "followers", PAGE, "--timeout=4s"],
                                capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("reconnecting in", result.stderr)
        self.assertIn("not reconnecting: --timeout ends first", result.stderr)
        self.assertNotIn("0 edges", result.stderr)
        self.assertLess(elapsed, 8)


if __name__ == "__main__":
    junit.main()
