"""A hostile upstream end to end: sandbox faults that break LinkedIn's and
ConnectSafely's contracts, through the real server and CLI."""

import json
import time
import unittest

import junit
from harness import SANDBOX_API_KEY, Sandbox, Server, run_cli, temp_dir

PAGE = "urn:li:organizationalPage:42"
COMPANY = "105672170"


def edges_of(jsonl):
    return [json.loads(line) for line in jsonl.splitlines() if line]


class HostileLinkedInTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:12345:0")
        self.server = Server(self.sandbox, interval="0.15s")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def followers(self):
        return run_cli(self.server, "followers", PAGE, "--edge_type=members", timeout=120)

    def test_repeating_cursor_ends_the_crawl_and_keeps_what_is_stored(self):
        # The second answer names the cursor it was asked with: the same again.
        self.sandbox.add_faults([{"kind": "repeat_cursor"}, {"kind": "repeat_cursor"}])
        failed = self.followers()
        self.assertEqual(failed.returncode, 1, failed.stderr)
        self.assertIn("FAILED_PRECONDITION", failed.stderr)
        self.assertIn("already seen in this sequence", failed.stderr)
        self.assertEqual(len(edges_of(failed.stdout)), 1000)  # The first page only.
        self.assertEqual(self.sandbox.stats()["requests"], 2)
        # The first page stays stored: the next read continues after it.
        again = self.followers()
        self.assertEqual(again.returncode, 0, again.stderr)
        followers = [e["follower"] for e in edges_of(again.stdout)]
        self.assertEqual(len(followers), 12345)
        self.assertEqual(len(set(followers)), 12345)
        self.assertEqual(self.sandbox.stats()["requests"], 2 + 12)

    def test_out_of_range_timestamp_is_refused_and_the_server_lives_on(self):
        self.sandbox.add_faults([{"kind": "bad_timestamp",
                                  "last_modified_at": 253402300800000}])
        failed = self.followers()
        self.assertEqual(failed.returncode, 1, failed.stderr)
        self.assertIn("FAILED_PRECONDITION", failed.stderr)
        self.assertIn("lastModifiedAt 253402300800000 is outside years 1 to 9999",
                      failed.stderr)
        self.assertEqual(failed.stdout, "")
        again = self.followers()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(len(edges_of(again.stdout)), 12345)

    def test_oversized_pages_never_reach_a_reader(self):
        self.sandbox.add_faults([{"kind": "oversized_page", "elements": 1001},
                                 {"kind": "oversized_page", "elements": 200000}])
        too_many = self.followers()
        self.assertEqual(too_many.returncode, 1, too_many.stderr)
        self.assertIn("1001 elements (maxPaginationCount=1000 was requested)",
                      too_many.stderr)
        too_big = self.followers()
        self.assertEqual(too_big.returncode, 1, too_big.stderr)
        self.assertIn("FAILED_PRECONDITION", too_big.stderr)
        self.assertIn("LINKEDIN_ANSWER_TOO_LARGE", too_big.stderr)
        self.assertIn("response body larger than the limit of 16777216 bytes",
                      too_big.stderr)
        self.assertEqual(too_many.stdout + too_big.stdout, "")

    def test_huge_retry_after_ends_the_call_at_once(self):
        self.sandbox.add_faults([{"kind": "retry_after", "seconds": 99999999}])
        started = time.monotonic()
        failed = self.followers()
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(failed.returncode, 1, failed.stderr)
        self.assertIn("RESOURCE_EXHAUSTED", failed.stderr)
        self.assertIn("longer than --max_upstream_wait=10m", failed.stderr)
        self.assertEqual(self.sandbox.stats()["requests"], 1)


class StricterLinkedInTest(unittest.TestCase):
    """LinkedIn allows 1 request/s while the server paces at 0.35 s."""

    def setUp(self):
        self.sandbox = Sandbox(pages="42:12345:0", min_interval="1s")
        self.server = Server(self.sandbox, interval="0.35s")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def test_429s_slow_the_pacer_down_instead_of_storming(self):
        result = run_cli(self.server, "followers", PAGE, "--edge_type=members", timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(edges_of(result.stdout)), 12345)
        stats = self.sandbox.stats()
        # Without adaptation: 37 requests, 24 of them 429s. With it, two 429s
        # raise the interval to 1.4 s and one more follows its step back.
        self.assertLessEqual(stats["throttled"], 5, stats)
        self.assertLessEqual(stats["requests"], 13 + 5, stats)
        self.assertIn("upstream request interval 350ms -> 700ms", self.server.log())


class HostileConnectSafelyTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:10:0")
        self.server = Server(self.sandbox, state_dir=temp_dir())

    def tearDown(self):
        self.server.stop()
        self.sandbox.stop()
        self.assertNotIn(SANDBOX_API_KEY, self.server.log())

    def test_huge_retry_after_ends_the_batch_at_once_and_the_same_request_continues(self):
        self.sandbox.cs_add_faults([{"kind": "retry_after", "seconds": 99999999}])
        urns = ["urn:li:fsd_profile:ACoA%06d" % i for i in range(80)]
        started = time.monotonic()
        failed = run_cli(self.server, "invite", "--company=" + COMPANY, "--request_id=r",
                         *urns, timeout=60)
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(failed.returncode, 1, failed.stderr)
        self.assertIn("RESOURCE_EXHAUSTED", failed.stderr)
        self.assertIn("longer than --max_upstream_wait=10m", failed.stderr)
        resumed = run_cli(self.server, "invite", "--company=" + COMPANY, "--request_id=r",
                          *urns, timeout=60)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        statuses = [l["status"] for l in edges_of(resumed.stdout)]
        self.assertEqual(statuses.count("SENT"), 80)
        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], 0)


if __name__ == "__main__":
    junit.main()
