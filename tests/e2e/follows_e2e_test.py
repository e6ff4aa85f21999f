"""End to end through the real binaries: sandbox upstream, server and CLI."""

import csv
import io
import json
import os
import signal
import subprocess
import unittest

import junit
from harness import (CLI, SANDBOX_TOKEN, SERVER, Process, Sandbox, Server, run_cli,
                     temp_dir)

PAGE = "urn:li:organizationalPage:42"


def edges_of(jsonl):
    return [json.loads(line) for line in jsonl.splitlines() if line]


class StreamFollowersTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:12345:30,7:0:2500")
        self.server = Server(self.sandbox, interval="0.15s")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def test_streams_12345_members_exactly_once_in_13_requests(self):
        result = run_cli(self.server, "followers", PAGE, "--edge_type=members")
        self.assertEqual(result.returncode, 0, result.stderr)
        edges = edges_of(result.stdout)
        followers = [e["follower"] for e in edges]
        self.assertEqual(len(followers), 12345)
        self.assertEqual(len(set(followers)), 12345)
        for edge in edges:
            self.assertEqual(edge["followee"], PAGE)
            self.assertEqual(edge["edgeType"], "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE")
            self.assertIsInstance(edge["lastModifiedAt"], int)
        kinds = {e["followerKind"] for e in edges}
        self.assertEqual(kinds, {"MEMBER", "OBFUSCATED_MEMBER"})
        stats = self.sandbox.stats()
        self.assertEqual(stats["requests"], 13)
        self.assertEqual(stats["throttled"], 0)
        # A request without LinkedIn-Version would have been answered 400.
        self.assertEqual(stats["by_status"], {"200": 13})
        self.assertIn("12345 edges in 13 pages", result.stderr)

    def test_all_followers_reads_members_then_pages(self):
        result = run_cli(self.server, "followers", PAGE, "--edge_type=all")
        self.assertEqual(result.returncode, 0, result.stderr)
        types = [e["edgeType"] for e in edges_of(result.stdout)]
        self.assertEqual(len(types), 12345 + 30)
        self.assertEqual(types[-30:], ["ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE"] * 30)
        self.assertEqual(self.sandbox.stats()["requests"], 13 + 1)

    def test_csv_has_a_header_and_one_row_per_edge(self):
        result = run_cli(self.server, "followers", PAGE, "--edge_type=pages", "--format=csv")
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        self.assertEqual(len(rows), 30)
        self.assertEqual(set(rows[0]), {"follower", "followee", "edgeType",
                                        "lastModifiedAt", "followerKind"})
        self.assertTrue(all(r["followerKind"] == "ORGANIZATIONAL_PAGE" for r in rows))

    def test_following_pages_of_a_follower(self):
        result = run_cli(self.server, "following", "urn:li:organizationalPage:2001")
        self.assertEqual(result.returncode, 0, result.stderr)
        followees = [e["followee"] for e in edges_of(result.stdout)]
        self.assertEqual(len(followees), len(set(followees)))
        self.assertGreaterEqual(len(followees), 2500)

    def test_survives_slow_500_truncated_reset_and_429_answers(self):
        self.server.stop()
        self.server = Server(self.sandbox, interval="0.15s",
                             extra=["--linkedin_request_timeout=1s"])
        self.sandbox.add_faults([
            {"kind": "status", "status": 500},
            {"kind": "truncate"},
            {"kind": "reset"},
            {"kind": "status", "status": 429},
            {"kind": "slow", "delay_ms": 3000},
        ])
        result = run_cli(self.server, "followers", PAGE, "--edge_type=members")
        self.assertEqual(result.returncode, 0, result.stderr)
        followers = [e["follower"] for e in edges_of(result.stdout)]
        self.assertEqual(len(followers), 12345)
        self.assertEqual(len(set(followers)), 12345)
        stats = self.sandbox.stats()
        self.assertEqual(stats["requests"], 13 + 5)
        self.assertEqual(stats["throttled"], 0)

    def test_unknown_page_is_not_found(self):
        result = run_cli(self.server, "followers", "urn:li:organizationalPage:999")
        self.assertEqual(result.returncode, 1)
        self.assertIn("NOT_FOUND", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_malformed_urn_is_invalid_argument_without_upstream_request(self):
        result = run_cli(self.server, "followers", "urn:li:organization:42")
        self.assertEqual(result.returncode, 1)
        self.assertIn("INVALID_ARGUMENT: followee must be urn:li:organizationalPage:{digits}",
                      result.stderr)
        result = run_cli(self.server, "following", "urn:li:fsd_profile:ACoA")
        self.assertIn("INVALID_ARGUMENT: follower must be urn:li:person:{id}", result.stderr)
        self.assertEqual(self.sandbox.stats()["requests"], 0)

    def test_bad_cli_usage_exits_2(self):
        result = run_cli(self.server, "followers", PAGE, "--format=xml")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--format must be jsonl or csv", result.stderr)


class ServerStartupTest(unittest.TestCase):
    def test_no_credential_and_no_sandbox_exits_2(self):
        env = {k: v for k, v in os.environ.items() if k != "LINKEDIN_ACCESS_TOKEN"}
        result = subprocess.run([SERVER, "--port=0"], capture_output=True, text=True,
                                env=env, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("no LinkedIn access token", result.stderr)

    def test_wrong_token_is_unauthenticated_and_never_logged(self):
        sandbox = Sandbox(pages="42:10:0")
        server = Server(sandbox, token="wrong-secret-value-77")
        try:
            result = run_cli(server, "followers", PAGE)
            self.assertEqual(result.returncode, 1)
            self.assertIn("UNAUTHENTICATED", result.stderr)
            self.assertNotIn("wrong-secret-value-77", result.stderr)
        finally:
            self.assertEqual(server.stop(), 0)
            sandbox.stop()
        self.assertNotIn("wrong-secret-value-77", server.log())
        self.assertNotIn(SANDBOX_TOKEN, sandbox.log())

    def test_retired_linkedin_version_is_failed_precondition(self):
        sandbox = Sandbox(pages="42:10:0")
        server = Server(sandbox, extra=["--linkedin_version=202301"])
        try:
            result = run_cli(server, "followers", PAGE)
            self.assertIn("FAILED_PRECONDITION", result.stderr)
            self.assertIn("--linkedin_version", result.stderr)
        finally:
            server.stop()
            sandbox.stop()

    def test_sandbox_mode_serves_the_demo_page_without_credentials(self):
        server = Server(None, interval="0.1s", extra=["--sandbox"])
        try:
            result = run_cli(server, "followers", "urn:li:organizationalPage:1000",
                             "--edge_type=pages")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(len(edges_of(result.stdout)), 1500)
        finally:
            self.assertEqual(server.stop(signal.SIGINT), 0)

    def test_sandbox_mode_paces_for_the_sandbox_unless_the_interval_is_given(self):
        # A flag's name inside another flag's value does not count as given.
        named_dir = os.path.join(temp_dir(), "linkedin_min_interval")
        for given, logged in ((None, "LinkedIn interval 350ms"),
                              ("60s", "LinkedIn interval 1m"),
                              ("2s", "LinkedIn interval 2s")):
            argv = [SERVER, "--host=127.0.0.1", "--port=0", "--sandbox",
                    "--state_dir=" + named_dir]
            if given is not None:
                argv.append("--linkedin_min_interval=" + given)
            server = Process(argv, "server")
            self.assertEqual(server.stop(), 0)
            self.assertIn(logged, server.log())
            self.assertIn("upstream sandbox at http://127.0.0.1:", server.log())

    def test_sigterm_during_a_stream_ends_it_and_exits_0(self):
        sandbox = Sandbox(pages="42:12345:0")
        # A long interval: the stream is waiting for the budget at SIGTERM.
        server = Server(sandbox, interval="1h", extra=["--drain_grace=0.2s"])
        cli = subprocess.Popen(
            [CLI, "--server=" + server.target, "followers", PAGE, "--reconnect=false"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first_line = cli.stdout.readline()  # The first page has arrived.
            self.assertTrue(first_line.startswith('{"follower"'))
            self.assertEqual(server.stop(), 0, server.log())
            _, err = cli.communicate(timeout=60)
            self.assertEqual(cli.returncode, 1)
            self.assertIn("UNAVAILABLE", err)
            self.assertEqual(sandbox.stats()["requests"], 1)
        finally:
            cli.kill()
            sandbox.stop()


if __name__ == "__main__":
    junit.main()
