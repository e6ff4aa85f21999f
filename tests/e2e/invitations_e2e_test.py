"""Invitations end to end: sandbox (ConnectSafely emulation), server, CLI."""

import json
import math
import os
import random
import signal
import subprocess
import time
import unittest

import junit
from harness import CLI, SANDBOX_API_KEY, Sandbox, Server, run_cli, temp_dir

COMPANY = "105672170"


def profiles(first, count, prefix="ACoA"):
    return ["urn:li:fsd_profile:%s%06d" % (prefix, i) for i in range(first, first + count)]


def write_profiles(urns):
    path = os.path.join(temp_dir(), "profiles.txt")
    with open(path, "w") as f:
        f.write("# profiles to invite\n" + "\n".join(urns) + "\n")
    return path


def lines_of(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line]


def invite_argv(server, path, request_id):
    return [CLI, "--server=" + server.target, "invite", "--company=" + COMPANY,
            "--profiles_file=" + path, "--request_id=" + request_id]


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


class InvitationsTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:10:0")
        self.state_dir = temp_dir()
        self.server = Server(self.sandbox, state_dir=self.state_dir)

    def tearDown(self):
        self.server.stop()
        self.sandbox.stop()
        self.assertNotIn(SANDBOX_API_KEY, self.server.log())

    def test_ten_thousand_with_three_percent_repeats(self):
        unique = profiles(0, 9700)
        rng = random.Random(7)
        urns = unique + [rng.choice(unique) for _ in range(300)]
        rng.shuffle(urns)
        path = write_profiles(urns)
        result = run_cli(self.server, "invite", "--company=" + COMPANY,
                         "--profiles_file=" + path, "--request_id=ten-k")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = lines_of(result.stdout)
        self.assertEqual(len(lines), 10000)
        statuses = [line["status"] for line in lines]
        self.assertEqual(statuses.count("SENT"), 9700)
        self.assertEqual(statuses.count("SKIPPED_DUPLICATE"), 300)
        stats = self.sandbox.cs_stats()
        self.assertEqual(stats["requests"], math.ceil(9700 / 50))
        self.assertLessEqual(stats["max_profiles_in_a_request"], 50)
        self.assertEqual(stats["duplicate_receipts"], 0)
        self.assertIn("194 upstream requests", result.stderr)

        again = run_cli(self.server, "invite", "--company=" + COMPANY,
                        "--profiles_file=" + path, "--request_id=ten-k")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(sorted(lines_of(again.stdout), key=json.dumps),
                         sorted(lines, key=json.dumps))
        self.assertEqual(self.sandbox.cs_stats()["requests"], stats["requests"])

    def test_profiles_invited_by_an_earlier_batch_are_not_sent_again(self):
        first = run_cli(self.server, "invite", "--company=" + COMPANY, "--request_id=a",
                        *profiles(0, 60))
        self.assertEqual(first.returncode, 0, first.stderr)
        second = run_cli(self.server, "invite", "--company=" + COMPANY, "--request_id=b",
                         *profiles(30, 60))
        self.assertEqual(second.returncode, 0, second.stderr)
        lines = lines_of(second.stdout)
        already = [l for l in lines if l["status"] == "ALREADY_INVITED"]
        self.assertEqual(len(already), 30)
        self.assertTrue(all(l["invitedByRequestId"] == "a" for l in already))
        received = self.sandbox.cs_received(COMPANY)
        self.assertEqual(len(received), 90)
        self.assertEqual(set(received.values()), {1})

        lookup = run_cli(self.server, "invitation", "--company=" + COMPANY, profiles(45, 1)[0])
        self.assertEqual(lookup.returncode, 0, lookup.stderr)
        record = json.loads(lookup.stdout)
        self.assertEqual(record["status"], "SENT")
        self.assertEqual(record["invitedByRequestId"], "a")

    def test_cli_makes_and_prints_a_request_id(self):
        result = run_cli(self.server, "invite", "--company=" + COMPANY, *profiles(0, 3))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stderr, r"request_id [0-9a-f-]{36} \(repeat the call with "
                                        r"--request_id=[0-9a-f-]{36}")

    def test_csv_output(self):
        result = run_cli(self.server, "invite", "--company=" + COMPANY, "--format=csv",
                         "--request_id=c", *profiles(0, 2), profiles(0, 1)[0])
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = result.stdout.splitlines()
        self.assertEqual(rows[0], "profileUrn,status,reason,invitedAt,invitedByRequestId")
        self.assertEqual(len(rows), 4)
        duplicates = [r for r in rows if ",SKIPPED_DUPLICATE," in r]
        self.assertEqual(duplicates, ["urn:li:fsd_profile:ACoA000000,SKIPPED_DUPLICATE,"
                                      "repeats profile_urns[0],,"])

    def test_follows_member_urn_is_rejected_with_the_identity_explained(self):
        result = run_cli(self.server, "invite", "--company=" + COMPANY, "urn:li:person:AbCdEf")
        self.assertEqual(result.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", result.stderr)
        self.assertIn("different identities", result.stderr)

    def test_page_without_super_admin_is_permission_denied(self):
        result = run_cli(self.server, "invite", "--company=777", *profiles(0, 3))
        self.assertEqual(result.returncode, 1)
        self.assertIn("PERMISSION_DENIED", result.stderr)
        self.assertIn("Super Admin", result.stderr)

    def test_lost_answer_is_unknown_and_never_resent(self):
        self.sandbox.cs_add_faults([{"kind": "lost"}])
        urns = profiles(0, 80)
        failed = run_cli(self.server, "invite", "--company=" + COMPANY, "--request_id=l", *urns)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("UNAVAILABLE", failed.stderr)
        resumed = run_cli(self.server, "invite", "--company=" + COMPANY, "--request_id=l", *urns)
        self.assertEqual(resumed.returncode, 3, resumed.stderr)  # Done, with UNKNOWNs.
        self.assertIn("50 profiles are UNKNOWN", resumed.stderr)
        statuses = [l["status"] for l in lines_of(resumed.stdout)]
        self.assertEqual(statuses.count("UNKNOWN"), 50)
        self.assertEqual(statuses.count("SENT"), 30)
        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], 0)


class WrongKeyTest(unittest.TestCase):
    def test_wrong_api_key_is_unauthenticated_and_never_logged(self):
        sandbox = Sandbox(pages="42:10:0")
        server = Server(sandbox, state_dir=temp_dir(), api_key="wrong-key-31337")
        try:
            result = run_cli(server, "invite", "--company=" + COMPANY, *profiles(0, 2))
            self.assertEqual(result.returncode, 1)
            self.assertIn("UNAUTHENTICATED", result.stderr)
            self.assertNotIn("wrong-key-31337", result.stderr)
        finally:
            server.stop()
            sandbox.stop()
        self.assertNotIn("wrong-key-31337", server.log())


class CrashSafetyTest(unittest.TestCase):
    def test_sigkill_at_many_points_never_invites_anyone_twice(self):
        sandbox = Sandbox(pages="42:10:0")
        # Every request is carried out on arrival but answered 120 ms later,
        # so kills land while requests are in flight.
        sandbox.cs_add_faults([{"kind": "slow", "delay_ms": 120}] * 60)
        state_dir = temp_dir()
        urns = profiles(0, 2000)
        path = write_profiles(urns)
        kills = 0
        try:
            for kill_at in (2, 7, 13, 21, 30):
                server = Server(sandbox, state_dir=state_dir)
                cli = subprocess.Popen(invite_argv(server, path, "crash"),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                reached = wait_until(lambda: sandbox.cs_stats()["requests"] >= kill_at)
                server.stop(signal.SIGKILL)
                cli.wait(timeout=60)
                self.assertTrue(reached, "the batch stalled before request %d" % kill_at)
                kills += 1
            server = Server(sandbox, state_dir=state_dir)
            final = run_cli(server, "invite", "--company=" + COMPANY, "--profiles_file=" + path,
                            "--request_id=crash")
            self.assertEqual(final.returncode, 3, final.stderr)  # Done, with UNKNOWNs.
            lines = lines_of(final.stdout)
            server.stop()
        except BaseException:
            sandbox.stop()
            raise
        stats = sandbox.cs_stats()
        received = sandbox.cs_received(COMPANY)
        sandbox.stop()

        self.assertEqual(stats["duplicate_receipts"], 0)
        self.assertTrue(all(count == 1 for count in received.values()))
        by_urn = {l["profileUrn"]: l["status"] for l in lines}
        self.assertEqual(len(lines), 2000)
        self.assertEqual(set(by_urn), set(urns))
        statuses = list(by_urn.values())
        self.assertEqual(set(statuses) - {"SENT", "UNKNOWN"}, set())
        # Every profile recorded as sent did reach ConnectSafely; those in
        # flight at a kill are UNKNOWN (at most one request of 50 per kill).
        self.assertTrue(all(urn in received for urn, s in by_urn.items() if s == "SENT"))
        self.assertLessEqual(statuses.count("UNKNOWN"), 50 * kills)
        self.assertGreaterEqual(statuses.count("UNKNOWN"), 50)  # Kills hit requests in flight.
        self.assertEqual(len(received), 2000 - sum(
            1 for urn, s in by_urn.items() if s == "UNKNOWN" and urn not in received))


if __name__ == "__main__":
    junit.main()
