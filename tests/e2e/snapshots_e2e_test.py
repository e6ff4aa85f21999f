"""Shared fetches, snapshots and resumable streams through the real binaries."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import grpc

import junit
from harness import CLI, Sandbox, Server, run_cli, temp_dir
from followgate_client import FollowgateClient

PAGE = "urn:li:organizationalPage:42"


def followers_of(stdout):
    return [json.loads(line)["follower"] for line in stdout.splitlines() if line]


class SharedFetchTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:12345:0", min_interval="0.1s")
        self.server = Server(self.sandbox, interval="0.15s", state_dir=temp_dir(),
                             api_key="unused-key")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def test_ten_concurrent_callers_cost_one_fetch_and_a_repeat_costs_none(self):
        results = [None] * 10

        def call(i):
            results[i] = run_cli(self.server, "followers", PAGE, "--edge_type=members",
                                 "--caller=caller-%d" % i)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for result in results:
            self.assertEqual(result.returncode, 0, result.stderr)
            followers = followers_of(result.stdout)
            self.assertEqual(len(followers), 12345)
            self.assertEqual(len(set(followers)), 12345)
        stats = self.sandbox.stats()
        self.assertEqual(stats["requests"], 13)
        self.assertEqual(stats["throttled"], 0)

        again = run_cli(self.server, "followers", PAGE, "--edge_type=members")
        self.assertEqual(len(followers_of(again.stdout)), 12345)
        self.assertEqual(self.sandbox.stats()["requests"], 13)

        stale_ok = run_cli(self.server, "followers", PAGE, "--edge_type=members",
                           "--max_staleness=0s")
        self.assertEqual(len(followers_of(stale_ok.stdout)), 12345)
        self.assertEqual(self.sandbox.stats()["requests"], 26)

    def test_list_followers_pages_of_any_size(self):
        with FollowgateClient(self.server.target) as client:
            seen, token, calls = [], "", 0
            while True:
                edges, token = client.list_followers(PAGE, "members", page_size=2500,
                                                     page_token=token, timeout=60)
                seen += [e.follower.urn for e in edges]
                calls += 1
                if not token:
                    break
        self.assertEqual(len(seen), 12345)
        self.assertEqual(len(set(seen)), 12345)
        self.assertEqual(calls, 5)

    def test_resume_token_of_another_query_is_invalid_argument(self):
        with FollowgateClient(self.server.target) as client:
            first = next(client.follower_pages(PAGE, "members"))
            with self.assertRaises(grpc.RpcError) as caught:
                list(client.follower_pages(PAGE, "pages", resume_token=first.resume_token))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("another query", caught.exception.details())

    def test_waiting_stream_receives_heartbeats(self):
        self.server.stop()
        self.server = Server(self.sandbox, interval="1s", state_dir=temp_dir(),
                             api_key="unused-key", extra=["--heartbeat_interval=0.2s"])
        with FollowgateClient(self.server.target) as client:
            messages = list(client.follower_pages(PAGE, "members", heartbeats=True,
                                                  timeout=120))
        beats = [m for m in messages if m.HasField("heartbeat")]
        pages = [m for m in messages if not m.HasField("heartbeat")]
        self.assertEqual(len(pages), 13)
        self.assertGreaterEqual(len(beats), 12)  # About four per one-second wait.
        self.assertTrue(any(b.heartbeat.estimated_wait.ToNanoseconds() > 0 for b in beats))


class SnapshotIdsTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:1500:0", min_interval="0.1s")
        self.server = Server(self.sandbox, interval="0.15s", state_dir=temp_dir(),
                             api_key="unused-key")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def test_snapshots_lists_two_crawls_and_changes_compares_them_by_id(self):
        for _ in range(2):
            crawl = run_cli(self.server, "followers", PAGE, "--edge_type=members",
                            "--max_staleness=0s")
            self.assertEqual(crawl.returncode, 0, crawl.stderr)
        listed = run_cli(self.server, "snapshots", PAGE, "--edge_type=members")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = [json.loads(line) for line in listed.stdout.splitlines() if line]
        self.assertEqual(len(rows), 2)
        newer, older = rows
        self.assertGreater(int(newer["snapshotId"]), int(older["snapshotId"]))
        self.assertTrue(newer["complete"])
        self.assertEqual(newer["pageCount"], 2)

        csv = run_cli(self.server, "snapshots", PAGE, "--edge_type=members", "--format=csv")
        self.assertEqual(csv.stdout.splitlines()[0],
                         "snapshotId,edgeType,complete,startTime,completeTime,pageCount,"
                         "storedBytes")
        self.assertEqual(len(csv.stdout.splitlines()), 3)

        # The sandbox's followers do not change between crawls: no changes.
        changes = run_cli(self.server, "changes", PAGE, "--edge_type=members", "--format=csv",
                          "--from_snapshot=" + older["snapshotId"],
                          "--to_snapshot=" + newer["snapshotId"])
        self.assertEqual(changes.returncode, 0, changes.stderr)
        self.assertEqual(changes.stdout,
                         "changeType,follower,followee,edgeType,lastModifiedAt,followerKind\n")

        columns = run_cli(self.server, "followers", PAGE, "--edge_type=members",
                          "--snapshot_columns")
        self.assertEqual(columns.returncode, 0, columns.stderr)
        edges = [json.loads(line) for line in columns.stdout.splitlines() if line]
        self.assertEqual(len(edges), 1500)
        self.assertEqual({e["snapshotId"] for e in edges}, {newer["snapshotId"]})
        self.assertTrue(all(e["fetchTime"].endswith("Z") for e in edges))

        backwards = run_cli(self.server, "changes", PAGE, "--edge_type=members",
                            "--from_snapshot=" + newer["snapshotId"],
                            "--to_snapshot=" + older["snapshotId"])
        self.assertNotEqual(backwards.returncode, 0)
        self.assertIn("from_snapshot_id", backwards.stderr)


class ChangingFollowersTest(unittest.TestCase):
    """The upstream's followers change between crawls: the sandbox is replaced
    on its port by one with other follower counts (the follower at index i is
    the same in both, so growing adds followers and shrinking removes them)."""

    def setUp(self):
        self.sandbox = Sandbox(pages="42:1500:10", min_interval="0.1s")
        # Three crawls in one UTC day: keep all three (by default only the two
        # newest and the day's newest stay).
        self.server = Server(self.sandbox, interval="0.15s", state_dir=temp_dir(),
                             api_key="unused-key", extra=["--snapshot_keep_newest=3"])

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.sandbox.stop()

    def crawl_with(self, pages):
        if pages is not None:
            port = self.sandbox.port
            self.assertEqual(self.sandbox.stop(), 0)
            self.sandbox = Sandbox(pages=pages, min_interval="0.1s", port=port)
        crawl = run_cli(self.server, "followers", PAGE, "--max_staleness=0s")
        self.assertEqual(crawl.returncode, 0, crawl.stderr)
        return set(followers_of(crawl.stdout))

    def test_changes_between_non_adjacent_snapshots_list_who_came_and_went(self):
        first = self.crawl_with(None)
        middle = self.crawl_with("42:1600:10")  # 100 members came.
        last = self.crawl_with("42:1450:25")    # 150 members went, 15 pages came.
        self.assertEqual(len(first), 1510)
        self.assertEqual(len(middle), 1610)
        self.assertEqual(len(last), 1475)

        listed = run_cli(self.server, "snapshots", PAGE)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        snapshots = [json.loads(line) for line in listed.stdout.splitlines() if line]
        self.assertEqual(len(snapshots), 6, listed.stdout)  # 3 crawls x 2 sequences.
        members = [s for s in snapshots if s["edgeType"] == "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE"]
        self.assertEqual(len(members), 3, listed.stdout)
        newest, oldest = members[0]["snapshotId"], members[2]["snapshotId"]

        # By id, the first and the last crawl of the members (the middle one
        # is skipped): 50 went.
        by_id = run_cli(self.server, "changes", PAGE, "--edge_type=members",
                        "--from_snapshot=" + oldest, "--to_snapshot=" + newest)
        self.assertEqual(by_id.returncode, 0, by_id.stderr)
        rows = [json.loads(line) for line in by_id.stdout.splitlines() if line]
        self.assertEqual({r["changeType"] for r in rows}, {"UNFOLLOWED"})
        self.assertEqual({r["follower"] for r in rows},
                         {f for f in first - last if ":person:" in f})
        self.assertEqual(len(rows), 50)

        # By time, all kinds: the newest snapshots completed by the end of
        # the first crawl, against the newest ones.
        self.assertEqual(members, snapshots[:3])  # Members first, newest first.
        first_done = max(snapshots[2]["completeTime"], snapshots[5]["completeTime"])
        by_time = run_cli(self.server, "changes", PAGE, "--since=" + first_done)
        self.assertEqual(by_time.returncode, 0, by_time.stderr)
        rows = [json.loads(line) for line in by_time.stdout.splitlines() if line]
        came = {r["follower"] for r in rows if r["changeType"] == "FOLLOWED"}
        went = {r["follower"] for r in rows if r["changeType"] == "UNFOLLOWED"}
        self.assertEqual(came, last - first)
        self.assertEqual(went, first - last)
        self.assertEqual((len(came), len(went), len(rows)), (15, 50, 65))


class CheckpointTest(unittest.TestCase):
    def test_pipeline_killed_with_the_server_resumes_from_its_checkpoint(self):
        sandbox = Sandbox(pages="42:12345:0", min_interval="0.1s")
        state_dir = temp_dir()
        out_path = os.path.join(temp_dir(), "followers.jsonl")
        checkpoint = os.path.join(temp_dir(), "checkpoint")
        argv = ["followers", PAGE, "--edge_type=members", "--checkpoint=" + checkpoint]
        server = Server(sandbox, interval="0.2s", state_dir=state_dir, api_key="unused-key")
        try:
            with open(out_path, "ab") as out:
                cli = subprocess.Popen([CLI, "--server=" + server.target] + argv, stdout=out,
                                       stderr=subprocess.DEVNULL)
                deadline = time.monotonic() + 60
                while sandbox.stats()["requests"] < 6 and time.monotonic() < deadline:
                    time.sleep(0.01)
                cli.send_signal(signal.SIGKILL)
                server.stop(signal.SIGKILL)
                cli.wait(timeout=30)
            requests_at_kill = sandbox.stats()["requests"]
            self.assertGreaterEqual(requests_at_kill, 6)
            self.assertTrue(os.path.exists(checkpoint))

            server = Server(sandbox, interval="0.2s", state_dir=state_dir, api_key="unused-key")
            with open(out_path, "ab") as out:
                rest = subprocess.run([CLI, "--server=" + server.target] + argv, stdout=out,
                                      stderr=subprocess.PIPE, text=True, timeout=300)
            self.assertEqual(rest.returncode, 0, rest.stderr)
            with open(out_path) as f:
                followers = followers_of(f.read())
            self.assertEqual(len(followers), 12345)
            self.assertEqual(len(set(followers)), 12345)
            # Stored pages were not fetched again: at most the request in
            # flight at the kill is repeated; and the restarted server kept
            # the interval of the killed one (its first request was no 429).
            self.assertEqual(sandbox.stats()["throttled"], 0)
            self.assertLessEqual(sandbox.stats()["requests"], 14)
        finally:
            server.stop()
            sandbox.stop()


class BudgetAcrossRestartsTest(unittest.TestCase):
    def test_server_restarted_right_after_a_request_keeps_the_interval(self):
        # LinkedIn counts its interval across our restarts, so must we: the
        # restarted server's first request comes an interval after the killed
        # server's last one, not at once (which would earn a 429).
        sandbox = Sandbox(pages="42:5000:0", min_interval="1.5s")
        state_dir = temp_dir()
        argv = ["followers", PAGE, "--edge_type=members"]
        server = Server(sandbox, interval="2s", state_dir=state_dir, api_key="unused-key")
        try:
            cli = subprocess.Popen([CLI, "--server=" + server.target] + argv,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while sandbox.stats()["requests"] < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.stop(signal.SIGKILL)
            cli.kill()
            cli.wait(timeout=30)
            server = Server(sandbox, interval="2s", state_dir=state_dir, api_key="unused-key")
            rest = run_cli(server, *argv, timeout=120)
            self.assertEqual(rest.returncode, 0, rest.stderr)
            self.assertEqual(len(followers_of(rest.stdout)), 5000)
            self.assertEqual(sandbox.stats()["throttled"], 0)
        finally:
            server.stop()
            sandbox.stop()


if __name__ == "__main__":
    junit.main()
