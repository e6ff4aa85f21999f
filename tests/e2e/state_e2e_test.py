"""The state dir end to end: one server process per state dir and per port,
and no start without the invitation ledger the state dir had."""

import json
import os
import unittest

import junit
from harness import SECRETS, Sandbox, Server, run_cli, temp_dir

COMPANY = "105672170"
PROFILES = ["urn:li:fsd_profile:ACoAstate%03d" % i for i in range(5)]


def refusal(**kwargs):
    """Starts a server that must refuse to start; returns its log."""
    try:
        server = Server(**kwargs)
    except RuntimeError as refused:
        text = str(refused)
        assert not [s for s in SECRETS if s in text], "a secret appears in the log"
        return text
    server.stop()
    raise AssertionError("the server started")


class StateDirTest(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox(pages="42:10:0")
        self.state_dir = temp_dir()
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.stop()
        self.sandbox.stop()

    def start(self, extra=()):
        server = Server(self.sandbox, state_dir=self.state_dir, extra=extra)
        self.servers.append(server)
        return server

    def stop(self, server):
        self.servers.remove(server)
        self.assertEqual(server.stop(), 0)

    def invite(self, server, request_id):
        result = run_cli(server, "invite", "--company=" + COMPANY,
                         "--request_id=" + request_id, *PROFILES)
        self.assertEqual(result.returncode, 0, result.stderr)
        return [json.loads(line)["status"] for line in result.stdout.splitlines() if line]

    def test_second_server_on_one_state_dir_exits_2_naming_the_holder(self):
        first = self.start()
        log = refusal(sandbox=self.sandbox, state_dir=self.state_dir)
        self.assertIn("exited with 2", log)
        self.assertIn("state_dir %s is in use by another followgate process (pid %d)"
                      % (self.state_dir, first.proc.pid), log)
        self.assertIn("several replicas need a shared database", log)
        # The first one goes on serving.
        self.assertEqual(self.invite(first, "after-refusal"), ["SENT"] * len(PROFILES))

    def test_second_server_on_one_port_exits_2(self):
        first = self.start()
        log = refusal(sandbox=self.sandbox, state_dir=temp_dir(),
                      extra=["--port=%d" % first.port])
        self.assertIn("exited with 2", log)
        self.assertIn("cannot listen on 127.0.0.1:%d: the port is in use" % first.port, log)

    def check_lost_ledger_is_refused_until_accepted(self, lose):
        server = self.start()
        self.assertEqual(self.invite(server, "before"), ["SENT"] * len(PROFILES))
        self.stop(server)
        ledger = os.path.join(self.state_dir, "invitations.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(ledger + suffix):
                os.remove(ledger + suffix)
        lose(ledger)

        log = refusal(sandbox=self.sandbox, state_dir=self.state_dir)
        self.assertIn("exited with 2", log)
        self.assertIn("the invitation ledger %s is not the one state_dir %s had"
                      % (ledger, self.state_dir), log)
        self.assertIn("people may be invited twice", log)
        self.assertIn("--accept_new_ledger", log)

        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], 0)

        accepted = self.start(extra=["--accept_new_ledger"])
        self.assertIn("--accept_new_ledger: the invitation ledger of state_dir", accepted.log())
        # What accepting means: the new ledger knows nobody, so everyone is
        # sent again (ConnectSafely's emulation counts each repeat).
        self.invite(accepted, "after")
        self.assertEqual(self.sandbox.cs_stats()["duplicate_receipts"], len(PROFILES))
        self.stop(accepted)
        # From then on the new ledger is the state dir's own.
        requests = self.sandbox.cs_stats()["requests"]
        again = self.start()
        self.assertEqual(self.invite(again, "again"), ["ALREADY_INVITED"] * len(PROFILES))
        self.assertEqual(self.sandbox.cs_stats()["requests"], requests)

    def test_deleted_ledger_is_refused_until_accepted(self):
        self.check_lost_ledger_is_refused_until_accepted(lambda ledger: None)

    def test_emptied_ledger_is_refused_until_accepted(self):
        self.check_lost_ledger_is_refused_until_accepted(lambda ledger: open(ledger, "w").close())

    def test_state_dir_of_an_earlier_release_is_adopted(self):
        server = self.start()
        self.assertEqual(self.invite(server, "old"), ["SENT"] * len(PROFILES))
        self.stop(server)
        # An earlier release wrote no identity.
        os.remove(os.path.join(self.state_dir, "IDENTITY"))
        adopted = self.start()
        self.assertIn("was made by an earlier release (no IDENTITY file): adopting",
                      adopted.log())
        requests = self.sandbox.cs_stats()["requests"]
        self.assertEqual(self.invite(adopted, "new"), ["ALREADY_INVITED"] * len(PROFILES))
        self.assertEqual(self.sandbox.cs_stats()["requests"], requests)


if __name__ == "__main__":
    junit.main()
