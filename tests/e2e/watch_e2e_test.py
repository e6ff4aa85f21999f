"""Watched pages (--watch) through the real binaries: refreshed with no
caller asking, from budget slots no caller wants."""

import json
import re
import threading
import time
import unittest

import junit
from harness import (Sandbox, Server, linkedin_requests, metrics_text, rpc_start_times,
                     run_cli, temp_dir, wait_until)

WATCHED = "urn:li:organizationalPage:7"
OTHER = "urn:li:organizationalPage:8"


def slots(server):
    """followgate_linkedin_slots_total by use."""
    counts = {}
    for match in re.finditer(r'followgate_linkedin_slots_total\{use="(\w+)"\} (\S+)',
                             metrics_text(server)):
        counts[match.group(1)] = float(match.group(2))
    return counts


def followers_of(stdout):
    return [json.loads(line)["follower"] for line in stdout.splitlines() if line]


class WatchTest(unittest.TestCase):
    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def start(self, pages, interval, watch_interval="1h"):
        self.sandbox = Sandbox(pages=pages, min_interval="0.05s")
        self.server = Server(self.sandbox, interval=interval, state_dir=temp_dir(),
                             extra=["--watch=" + WATCHED, "--watch_interval=" + watch_interval,
                                    "--metrics_port=0"])

    def test_watched_page_is_fetched_with_no_caller_and_then_served_without_a_request(self):
        self.start("7:2500:3", "0.2s")
        # Members (3 pages) and page followers (1), with nobody asking.
        self.assertTrue(wait_until(
            lambda: self.server.log().count('"event":"watch_refreshed"') >= 2, 60),
            self.server.log())
        self.assertEqual(self.sandbox.stats()["requests"], 4)

        result = run_cli(self.server, "followers", WATCHED)
        self.assertEqual(result.returncode, 0, result.stderr)
        followers = followers_of(result.stdout)
        self.assertEqual(len(followers), 2503)
        self.assertEqual(len(set(followers)), 2503)
        self.assertEqual(self.sandbox.stats()["requests"], 4)  # None for the caller.
        counts = slots(self.server)
        self.assertEqual(counts.get("watch"), 4)
        self.assertEqual(counts.get("caller", 0), 0)

    def test_watched_page_is_refreshed_once_its_snapshot_is_as_old_as_the_interval(self):
        self.start("7:1500:0", "0.2s", watch_interval="3s")
        self.assertTrue(wait_until(
            lambda: self.server.log().count('"event":"watch_refreshed"') >= 4, 60),
            self.server.log())
        # Two rounds of two requests (members: 2 pages, page followers: 1
        # empty page each), never more often than the interval allows.
        member_requests = [t for t, _ in linkedin_requests(self.server.log(), WATCHED)]
        self.assertGreaterEqual(len(member_requests), 5)
        rounds = [member_requests[0], member_requests[3]]
        self.assertGreaterEqual(rounds[1] - rounds[0], 2.5)

    def test_a_caller_is_delayed_by_at_most_the_request_already_in_flight(self):
        self.start("7:40000:0,8:4000:0", "1s")
        # The watch is crawling its 40 pages.
        self.assertTrue(wait_until(
            lambda: len(linkedin_requests(self.server.log(), WATCHED)) >= 2, 60))
        result = run_cli(self.server, "followers", OTHER, "--edge_type=members",
                         "--caller=late")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(set(followers_of(result.stdout))), 4000)
        # When the server took the call (not when the CLI was spawned: a
        # slow spawn would let the watch take a slot nobody wanted).
        self.assertTrue(wait_until(lambda: rpc_start_times(self.server.log(), "late")))
        started = rpc_start_times(self.server.log(), "late")[0]

        requests = linkedin_requests(self.server.log())
        mine = [t for t, urn in requests if urn == OTHER]
        self.assertEqual(len(mine), 4)
        # Once the caller asked, the watch got no slot but the one it had:
        # at most one watch request before the caller's first, none among
        # the caller's.
        watch_after_start = [t for t, urn in requests
                             if urn == WATCHED and started - 0.05 <= t < mine[-1]]
        self.assertLessEqual(len(watch_after_start), 1, requests)
        self.assertTrue(all(t < mine[0] for t in watch_after_start), requests)
        self.assertEqual(slots(self.server).get("caller"), 4)
        # ...and it goes on in the slots nobody wants.
        watched_so_far = len(linkedin_requests(self.server.log(), WATCHED))
        self.assertTrue(wait_until(
            lambda: len(linkedin_requests(self.server.log(), WATCHED)) > watched_so_far, 30))

    def test_a_caller_joining_the_watch_crawl_is_not_left_to_the_idle_slots(self):
        # A busy caller keeps the budget wanted; another caller joins the
        # watch's crawl of page 7 and gets turns like any caller, rather than
        # waiting for the busy one to finish.
        # 20 watched pages: the watch is still crawling when the joiner
        # comes, however slowly the busy caller starts.
        self.start("7:20000:0,8:30000:0", "0.3s")
        self.assertTrue(wait_until(
            lambda: len(linkedin_requests(self.server.log(), WATCHED)) >= 1, 60))
        finished = {}

        def read(name, urn):
            result = run_cli(self.server, "followers", urn, "--edge_type=members",
                             "--caller=" + name)
            self.assertEqual(result.returncode, 0, result.stderr)
            finished[name] = (time.time(), len(set(followers_of(result.stdout))))

        busy = threading.Thread(target=read, args=("busy", OTHER))
        busy.start()
        self.assertTrue(wait_until(
            lambda: len(linkedin_requests(self.server.log(), OTHER)) >= 1, 60))
        self.assertLess(len(linkedin_requests(self.server.log(), WATCHED)), 20,
                        "the watch finished before the joiner came")
        read("joiner", WATCHED)
        busy.join()
        self.assertEqual(finished["joiner"][1], 20000)
        self.assertEqual(finished["busy"][1], 30000)
        self.assertLess(finished["joiner"][0], finished["busy"][0])
        self.assertIn("a caller joined the watch crawl", self.server.log())
        self.assertEqual(self.sandbox.stats()["throttled"], 0)


if __name__ == "__main__":
    junit.main()
