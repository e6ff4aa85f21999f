"""Three replicas on one PostgreSQL end to end: one sandbox as their LinkedIn
and ConnectSafely upstream, answering 429 to LinkedIn requests closer than
its --min_interval; replicas killed with SIGKILL; PostgreSQL stopped and
started again."""

import json
import math
import os
import subprocess
import threading
import time
import unittest

import grpc

import junit
from harness import (CLI, Fleet, Sandbox, health_status, linkedin_requests, rich_details,
                     run_cli, temp_dir, wait_until)
from followgate_client import FollowgateClient
from postgres import BIN_DIR, PostgresServer

PAGE = "urn:li:organizationalPage:42"
COMPANY = "105672170"
SANDBOX_INTERVAL = "0.25s"
# Above the sandbox's by a margin for the time between a grant and the
# request's arrival, so that a fleet sharing one budget is never answered
# 429 (replicas pacing on their own would be, at three times the rate).
REPLICA_INTERVAL = "0.35s"
FLEET_FLAGS = ["--invitation_lease=3s", "--database_check_interval=0.2s",
               "--drain_grace=0.2s"]


def followers_of(jsonl):
    return [json.loads(line)["follower"] for line in jsonl.splitlines() if line]


def profiles(count, prefix="ACoAfleet"):
    return ["urn:li:fsd_profile:%s%05d" % (prefix, i) for i in range(count)]


def write_profiles(urns):
    path = os.path.join(temp_dir(), "profiles.txt")
    with open(path, "w") as f:
        f.write("\n".join(urns) + "\n")
    return path


def outcomes_of(stdout):
    """{profileUrn: status} of the CLI's invite output."""
    return {l["profileUrn"]: l["status"] for l in map(json.loads, stdout.splitlines()) if l}


def followers_argv(replica, checkpoint):
    return [CLI, "--server=" + replica.target, "followers", PAGE, "--edge_type=members",
            "--checkpoint=" + checkpoint]


def invite_argv(replica, path, request_id):
    return [CLI, "--server=" + replica.target, "invite", "--company=" + COMPANY,
            "--profiles_file=" + path, "--request_id=" + request_id]


def line_count(path):
    with open(path) as f:
        return sum(1 for _ in f)


class FleetTestCase(unittest.TestCase):
    """One PostgreSQL cluster for the module's tests; a fresh database, a
    fresh sandbox and three fresh replicas for each test."""

    db = None
    databases = 0

    @classmethod
    def setUpClass(cls):
        if FleetTestCase.db is None:
            FleetTestCase.db = PostgresServer()

    def start_fleet(self, pages, extra=()):
        if not self.db.running:  # A test that stopped it failed before starting it.
            self.db.start()
        FleetTestCase.databases += 1
        name = "fleet_%d" % FleetTestCase.databases
        subprocess.run([os.path.join(BIN_DIR, "psql"), "-X", "-q", "-d", self.db.url,
                        "-c", "CREATE DATABASE " + name], check=True, capture_output=True,
                       timeout=60)
        self.database_url = self.db.url.rsplit("/", 1)[0] + "/" + name
        self.sandbox = Sandbox(pages=pages, min_interval=SANDBOX_INTERVAL)
        self.addCleanup(self.sandbox.stop)
        self.fleet = Fleet(self.database_url, self.sandbox, count=3, interval=REPLICA_INTERVAL,
                           extra=FLEET_FLAGS + list(extra))
        self.addCleanup(self.fleet.close)
        return self.fleet

    def popen(self, argv, stdout=subprocess.PIPE):
        process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def assert_no_429(self):
        self.assertEqual(self.sandbox.stats()["throttled"], 0)


class SharedCrawlTest(FleetTestCase):
    def test_ten_callers_over_three_replicas_cost_one_crawl_without_429(self):
        # Needs one crawl per query for the whole fleet.
        followers = 3500
        fleet = self.start_fleet("42:%d:0" % followers)
        results = [None] * 10

        def call(i):
            results[i] = run_cli(fleet[i % len(fleet)], "followers", PAGE,
                                 "--edge_type=members", "--caller=caller-%d" % i, timeout=120)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for result in results:
            self.assertEqual(result.returncode, 0, result.stderr)
            got = followers_of(result.stdout)
            self.assertEqual(len(got), followers)
            self.assertEqual(len(set(got)), followers)
        self.assert_no_429()
        self.assertEqual(self.sandbox.stats()["requests"], math.ceil(followers / 1000))

    def test_crawl_finishes_on_another_replica_when_its_replica_is_killed(self):
        # Needs the crawl's lease to be taken over when its replica dies.
        followers = 5000
        fleet = self.start_fleet("42:%d:0" % followers)
        first = self.popen(followers_argv(fleet[0], os.path.join(temp_dir(), "a"))
                           + ["--reconnect=false"])
        self.assertTrue(wait_until(lambda: self.sandbox.stats()["requests"] >= 2))
        # The reader on replica 1 opens the query while replica 0 crawls it,
        # and has its first edge before replica 0 dies.
        output = os.path.join(temp_dir(), "edges.jsonl")
        with open(output, "w") as out:
            reader = self.popen(followers_argv(fleet[1], os.path.join(temp_dir(), "b")),
                                stdout=out)
            self.assertTrue(wait_until(lambda: line_count(output) >= 1))
            fleet.kill(0)
            first.communicate(timeout=60)
            _, err = reader.communicate(timeout=60)
        self.assertEqual(reader.returncode, 0, err)
        with open(output) as f:
            got = followers_of(f.read())
        self.assertEqual(len(got), followers)
        self.assertEqual(len(set(got)), followers)
        self.assert_no_429()
        # At most the request in flight at the kill is made again: a reader
        # that crawled the query itself would make all of them again.
        self.assertLessEqual(self.sandbox.stats()["requests"], math.ceil(followers / 1000) + 1)


class WatchedPageTest(FleetTestCase):
    WATCHED = "urn:li:organizationalPage:7"
    OTHER = "urn:li:organizationalPage:8"

    def test_caller_on_another_replica_than_the_watch_crawls_is_not_left_to_idle_slots(self):
        # Every replica watches page 7; one leads its crawl. A busy caller
        # keeps the fleet's budget wanted; a caller on another replica than
        # the leader reads page 7 and gets turns like any caller, rather than
        # waiting for the busy one to finish.
        # 20 watched pages: the watch is still crawling when the joiner
        # comes, however slowly the replicas and the busy caller start.
        fleet = self.start_fleet("7:20000:0,8:30000:0",
                                 extra=["--watch=" + self.WATCHED, "--watch_interval=1h"])
        self.assertTrue(wait_until(
            lambda: any(linkedin_requests(r.log(), self.WATCHED) for r in fleet), 60))
        leader = next(i for i, r in enumerate(fleet) if linkedin_requests(r.log(), self.WATCHED))
        joiner = (leader + 1) % len(fleet)
        finished = {}

        def read(name, replica, urn):
            result = run_cli(replica, "followers", urn, "--edge_type=members",
                             "--caller=" + name)
            self.assertEqual(result.returncode, 0, result.stderr)
            finished[name] = (time.time(), len(set(followers_of(result.stdout))))

        busy = threading.Thread(target=read, args=("busy", fleet[leader], self.OTHER))
        busy.start()
        self.assertTrue(wait_until(
            lambda: any(linkedin_requests(r.log(), self.OTHER) for r in fleet), 60))
        watched = sum(len(linkedin_requests(r.log(), self.WATCHED)) for r in fleet)
        self.assertLess(watched, 20, "the watch finished before the joiner came")
        read("joiner", fleet[joiner], self.WATCHED)
        busy.join()
        self.assertEqual(finished["joiner"][1], 20000)
        self.assertEqual(finished["busy"][1], 30000)
        self.assertLess(finished["joiner"][0], finished["busy"][0])
        self.assertIn("a caller joined the watch crawl", fleet[leader].log())
        self.assertIn("(on another replica)", fleet[leader].log())
        self.assert_no_429()


class CheckpointedPipelineTest(FleetTestCase):
    def test_pipeline_whose_replica_is_killed_resumes_on_another_exactly_once(self):
        followers = 5000
        fleet = self.start_fleet("42:%d:0" % followers)
        checkpoint = os.path.join(temp_dir(), "checkpoint")
        output = os.path.join(temp_dir(), "edges.jsonl")
        with open(output, "w") as out:
            # --reconnect=false: the pipeline ends with the replica, and is
            # started again on another one.
            pipeline = self.popen(followers_argv(fleet[0], checkpoint) + ["--reconnect=false"],
                                  stdout=out)
            self.assertTrue(wait_until(lambda: os.path.exists(checkpoint)
                                       and line_count(output) >= 1000))
            fleet.kill(0)
            _, err = pipeline.communicate(timeout=60)
        self.assertEqual(pipeline.returncode, 1)
        self.assertIn("UNAVAILABLE", err)
        self.assertLess(line_count(output), followers)

        with open(output, "a") as out:
            resumed = subprocess.run(followers_argv(fleet[1], checkpoint), stdout=out,
                                     stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        with open(output) as f:
            got = followers_of(f.read())
        self.assertEqual(len(got), followers)
        self.assertEqual(len(set(got)), followers)
        self.assert_no_429()
        self.assertLessEqual(self.sandbox.stats()["requests"], math.ceil(followers / 1000) + 1)


class InvitationsTest(FleetTestCase):
    def test_one_request_id_on_two_replicas_at_once_invites_each_profile_once(self):
        # Needs the second replica to wait for, or join, the first one's batch.
        fleet = self.start_fleet("42:10:0")
        # Each ConnectSafely request is answered 100 ms late: the calls overlap.
        self.sandbox.cs_add_faults([{"kind": "slow", "delay_ms": 100}] * 8)
        urns = profiles(300)
        path = write_profiles(urns)
        calls = [self.popen(invite_argv(fleet[i], path, "twice")) for i in (0, 1)]
        for call in calls:
            out, err = call.communicate(timeout=120)
            self.assertEqual(call.returncode, 0, err)
            self.assertEqual(outcomes_of(out), {urn: "SENT" for urn in urns})
        received = self.sandbox.cs_received(COMPANY)
        self.assertEqual(set(received), set(urns))
        self.assertEqual(set(received.values()), {1})
        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], 0)

    def test_batch_whose_replica_is_killed_completes_on_another_without_repeats(self):
        # Needs the dead replica's chunk in flight to become UNKNOWN after
        # --invitation_lease.
        fleet = self.start_fleet("42:10:0")
        # Carried out on arrival, answered 300 ms later: the kill lands while
        # a request is in flight.
        self.sandbox.cs_add_faults([{"kind": "slow", "delay_ms": 300}] * 20)
        urns = profiles(500)
        path = write_profiles(urns)
        batch = self.popen(invite_argv(fleet[0], path, "killed"))
        self.assertTrue(wait_until(lambda: self.sandbox.cs_stats()["requests"] >= 3))
        fleet.kill(0)
        batch.communicate(timeout=60)

        retry = run_cli(fleet[1], "invite", "--company=" + COMPANY, "--profiles_file=" + path,
                        "--request_id=killed", timeout=120)
        self.assertIn(retry.returncode, (0, 3), retry.stderr)  # 3: done, with UNKNOWNs.
        outcomes = outcomes_of(retry.stdout)
        self.assertEqual(set(outcomes), set(urns))
        self.assertEqual(set(outcomes.values()) - {"SENT", "UNKNOWN"}, set())
        statuses = list(outcomes.values())
        self.assertLessEqual(statuses.count("UNKNOWN"), 50)  # The one request in flight.
        received = self.sandbox.cs_received(COMPANY)
        self.assertEqual(set(received.values()), {1})
        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], 0)
        self.assertTrue(all(urn in received for urn, s in outcomes.items() if s == "SENT"))


class DatabaseRestartTest(FleetTestCase):
    def restart_database(self, replica):
        """Stops PostgreSQL, sees `replica` NOT_SERVING, starts it again and
        sees it SERVING."""
        self.db.stop()
        self.assertTrue(wait_until(lambda: health_status(replica) == "NOT_SERVING", 30),
                        "health stayed %s with the database down" % health_status(replica))
        self.db.start()
        self.assertTrue(wait_until(lambda: health_status(replica) == "SERVING", 30),
                        "health stayed %s with the database up" % health_status(replica))

    def test_database_restart_during_a_crawl_then_the_checkpoint_finishes_it(self):
        followers = 5000
        fleet = self.start_fleet("42:%d:0" % followers)
        self.assertEqual(health_status(fleet[0]), "SERVING")
        # A pipeline that checkpoints as the CLI does: the token after each
        # page it has kept.
        checkpoint = os.path.join(temp_dir(), "checkpoint")
        got, failure = [], []

        def read():
            with FollowgateClient(fleet[0].target) as client:
                try:
                    for page in client.follower_pages(PAGE, "members", timeout=60):
                        got.extend(edge.follower.urn for edge in page.edges)
                        with open(checkpoint + ".tmp", "w") as f:
                            f.write(page.resume_token + "\n")
                        os.rename(checkpoint + ".tmp", checkpoint)
                except grpc.RpcError as error:
                    failure.append(error)

        reader = threading.Thread(target=read)
        reader.start()
        self.assertTrue(wait_until(lambda: os.path.exists(checkpoint)))
        self.restart_database(fleet[0])
        reader.join(timeout=60)
        self.assertFalse(reader.is_alive())
        if failure:  # The stream may also have gone on.
            self.assertEqual(failure[0].code(), grpc.StatusCode.UNAVAILABLE,
                             failure[0].details())
            retry = rich_details(failure[0]).get("RetryInfo")
            self.assertIsNotNone(retry, "UNAVAILABLE without a retry delay")
            self.assertGreater(retry.retry_delay.ToNanoseconds(), 0)
            # With the database back, the CLI goes on from the checkpoint at
            # once: connections the restart closed while idle are replaced
            # before their next statement, so the first call succeeds.
            resumed = subprocess.run(followers_argv(fleet[0], checkpoint),
                                     capture_output=True, text=True, timeout=120)
            self.assertEqual(resumed.returncode, 0, resumed.stderr)
            got += followers_of(resumed.stdout)
        self.assertEqual(len(got), followers)
        self.assertEqual(len(set(got)), followers)
        self.assert_no_429()

    def test_cli_stream_across_a_database_outage_reconnects_and_finishes_exactly_once(self):
        followers = 20000  # 20 pages, about 7 s of LinkedIn budget.
        fleet = self.start_fleet("42:%d:0" % followers)
        output = os.path.join(temp_dir(), "followers.jsonl")
        with open(output, "w") as out:
            cli = subprocess.Popen([CLI, "--server=" + fleet[0].target, "followers", PAGE,
                                    "--edge_type=members", "--timeout=300s"],
                                   stdout=out, stderr=subprocess.PIPE, text=True)
            self.assertTrue(wait_until(lambda: os.path.getsize(output) > 0, 60))
            # Down long enough for the stream to need the database (its next
            # page is stored there by a crawl that cannot store it either).
            self.restart_database(fleet[0])
            _, stderr = cli.communicate(timeout=240)
        self.assertEqual(cli.returncode, 0, stderr)
        self.assertRegex(stderr, r"UNAVAILABLE: .*; reconnecting in ")
        with open(output) as f:
            got = followers_of(f.read())
        self.assertEqual(len(got), followers)
        self.assertEqual(len(set(got)), followers)
        self.assert_no_429()

    def test_first_calls_after_a_restart_while_idle_succeed(self):
        fleet = self.start_fleet("42:50:0")
        # Every component's connection is used once, then left idle across
        # the restart: the server closes them all while nothing is sent.
        with FollowgateClient(fleet[0].target) as client:
            client.invite(COMPANY, profiles(3, "ACoAidle"), request_id="before", timeout=60)
        before = subprocess.run(followers_argv(fleet[0], os.path.join(temp_dir(), "before")),
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(before.returncode, 0, before.stderr)
        # Back at once: no background work uses (and so re-makes) them.
        self.db.stop()
        self.db.start()
        # First calls after it: each succeeds, none UNAVAILABLE.
        with FollowgateClient(fleet[0].target) as client:
            _, results, _ = client.invite(COMPANY, profiles(3, "ACoAback"), request_id="after",
                                          timeout=60)
        self.assertEqual(sorted(results), [0, 1, 2])
        after = subprocess.run(followers_argv(fleet[0], os.path.join(temp_dir(), "after"))
                               + ["--reconnect=false"],
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(after.returncode, 0, after.stderr)
        self.assertEqual(len(followers_of(after.stdout)), 50)

    def test_database_stopped_during_a_batch_is_unavailable_then_the_repeat_completes(self):
        fleet = self.start_fleet("42:10:0")
        self.sandbox.cs_add_faults([{"kind": "slow", "delay_ms": 300}] * 20)
        urns = profiles(500)
        failure = []

        def send():
            with FollowgateClient(fleet[0].target) as client:
                try:
                    client.invite(COMPANY, urns, request_id="db-down", timeout=60)
                except grpc.RpcError as error:
                    failure.append(error)

        sender = threading.Thread(target=send)
        sender.start()
        self.assertTrue(wait_until(lambda: self.sandbox.cs_stats()["requests"] >= 2))
        self.db.stop()
        sender.join(timeout=60)
        self.assertFalse(sender.is_alive())
        self.assertEqual(len(failure), 1, "the batch went on with the database down")
        self.assertEqual(failure[0].code(), grpc.StatusCode.UNAVAILABLE, failure[0].details())
        retry = rich_details(failure[0]).get("RetryInfo")
        self.assertIsNotNone(retry, "UNAVAILABLE without a retry delay")
        self.assertGreater(retry.retry_delay.ToNanoseconds(), 0)

        # While it stays down: NOT_SERVING, and every call UNAVAILABLE with
        # a retry delay.
        self.assertTrue(wait_until(lambda: health_status(fleet[0]) == "NOT_SERVING", 30))
        with FollowgateClient(fleet[0].target) as client:
            with self.assertRaises(grpc.RpcError) as down:
                client.invite(COMPANY, urns, request_id="db-down", timeout=60)
        self.assertEqual(down.exception.code(), grpc.StatusCode.UNAVAILABLE,
                         down.exception.details())
        self.assertIsNotNone(rich_details(down.exception).get("RetryInfo"))

        self.db.start()
        self.assertTrue(wait_until(lambda: health_status(fleet[0]) == "SERVING", 30))
        with FollowgateClient(fleet[0].target) as client:
            _, results, _ = client.invite(COMPANY, urns, request_id="db-down", timeout=120)
        self.assertEqual(sorted(results), list(range(len(urns))))
        received = self.sandbox.cs_received(COMPANY)
        self.assertEqual(set(received.values()), {1})
        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], 0)


def tearDownModule():
    if FleetTestCase.db is not None:
        FleetTestCase.db.close()


if __name__ == "__main__":
    junit.main()
