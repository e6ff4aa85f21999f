"""Several LinkedIn credentials (--linkedin_credentials_file) through the
real binaries: routed by page, a budget each, one taken out alone."""

import json
import os
import subprocess
import threading
import time
import unittest

import junit
from postgres import PostgresServer
from harness import (SERVER, Sandbox, Server, health_status, linkedin_requests, metrics_text,
                     register_secret, run_cli, temp_dir, wait_until)

ACME_PAGE = "urn:li:organizationalPage:1000"
GLOBEX_PAGE = "urn:li:organizationalPage:2000"
TOKEN_A = "acme-linkedin-token-0f3a9c"
TOKEN_B = "globex-linkedin-token-77e1b2"
COMPANY = "105672170"
PAGES = "1000:3000:0,2000:3000:0,3000:10:0"


def write_credentials(credentials):
    """Token files and the credentials file; returns its path."""
    directory = temp_dir()
    entries = []
    for name, token, pages, extra in credentials:
        token_file = os.path.join(directory, name + ".token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        entry = {"name": name, "token_file": token_file, "pages": pages}
        entry.update(extra)
        entries.append(entry)
    path = os.path.join(directory, "credentials.json")
    with open(path, "w") as f:
        json.dump({"credentials": entries}, f)
    return path


def followers_of(stdout):
    return [json.loads(line)["follower"] for line in stdout.splitlines() if line]


class CredentialsTest(unittest.TestCase):
    def start(self, shared_budget=False):
        register_secret(TOKEN_A)
        register_secret(TOKEN_B)
        # The sandbox limits each token to one request per 0.4 s: a margin
        # under the server's 0.5 s, for the time between a grant and the
        # request's arrival.
        self.sandbox = Sandbox(pages=PAGES, min_interval="0.4s", token=TOKEN_A,
                               extra=["--more_tokens=" + TOKEN_B])
        budget = {"budget": "one-app"} if shared_budget else {}
        credentials = write_credentials([("acme", TOKEN_A, ["1000"], budget),
                                         ("globex", TOKEN_B, ["2000"], budget)])
        self.server = Server(self.sandbox, interval="0.5s", state_dir=temp_dir(),
                             credentials_file=credentials)

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())  # No token in its log.
        self.sandbox.stop()

    def stream_both(self):
        results = {}

        def read(urn):
            results[urn] = run_cli(self.server, "followers", urn, "--edge_type=members")

        threads = [threading.Thread(target=read, args=(urn,)) for urn in (ACME_PAGE, GLOBEX_PAGE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for urn, result in results.items():
            self.assertEqual(result.returncode, 0, result.stderr)
            followers = followers_of(result.stdout)
            self.assertEqual(len(followers), 3000, urn)
            self.assertEqual(len(set(followers)), 3000, urn)

    def test_two_pages_with_two_credentials_stream_in_parallel_each_at_its_own_budget(self):
        self.start()
        self.stream_both()
        stats = self.sandbox.stats()
        self.assertEqual(stats["throttled"], 0)  # Each token at most once per 0.5 s.
        # Each page went to LinkedIn with its own token.
        self.assertEqual(stats["by_token"]["0"]["requests"], 3)
        self.assertEqual(stats["by_token"]["1"]["requests"], 3)
        # Two budgets: the pages' requests went side by side, closer than
        # one budget would allow.
        times = linkedin_requests(self.server.log())
        acme = [t for t, urn in times if urn == ACME_PAGE]
        globex = [t for t, urn in times if urn == GLOBEX_PAGE]
        closest = min(abs(a - g) for a in acme for g in globex)
        self.assertLess(closest, 0.4, times)

    def test_credentials_declared_to_share_a_budget_never_go_closer_than_the_interval(self):
        self.start(shared_budget=True)
        self.stream_both()
        times = sorted(t for t, _ in linkedin_requests(self.server.log()))
        self.assertEqual(len(times), 6)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(min(gaps), 0.4, gaps)

    def test_a_page_no_credential_serves_is_refused_without_a_request(self):
        self.start()
        result = run_cli(self.server, "followers", "urn:li:organizationalPage:3000")
        self.assertEqual(result.returncode, 1)
        self.assertIn("FAILED_PRECONDITION", result.stderr)
        self.assertIn("no LinkedIn credential serves page 3000", result.stderr)
        self.assertIn("LINKEDIN_NO_CREDENTIAL", result.stderr)
        self.assertEqual(self.sandbox.stats()["requests"], 0)

    def test_a_revoked_token_takes_out_only_its_own_pages(self):
        self.start()
        port = self.sandbox.port
        self.assertEqual(self.sandbox.stop(), 0)
        # LinkedIn no longer accepts globex's token.
        self.sandbox = Sandbox(pages=PAGES, min_interval="0.4s", token=TOKEN_A, port=port)
        refused = run_cli(self.server, "followers", GLOBEX_PAGE, "--edge_type=members")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("UNAUTHENTICATED", refused.stderr)
        self.assertIn('LinkedIn credential "globex"', refused.stderr)
        self.assertEqual(health_status(self.server, "followgate.linkedin.credential.globex"),
                         "NOT_SERVING")
        self.assertEqual(health_status(self.server, "followgate.linkedin.credential.acme"),
                         "SERVING")
        self.assertEqual(health_status(self.server, ""), "SERVING")
        served = run_cli(self.server, "followers", ACME_PAGE, "--edge_type=members")
        self.assertEqual(served.returncode, 0, served.stderr)
        self.assertEqual(len(set(followers_of(served.stdout))), 3000)
        invited = run_cli(self.server, "invite", "--company=" + COMPANY,
                          "--request_id=credentials", "urn:li:fsd_profile:ACoAcredentials1")
        self.assertEqual(invited.returncode, 0, invited.stderr)


class FleetCredentialsTest(unittest.TestCase):
    """Two replicas on one PostgreSQL, both with the same two credentials:
    each credential's budget is the fleet's."""

    @classmethod
    def setUpClass(cls):
        cls.db = PostgresServer()
        cls.addClassCleanup(cls.db.close)

    def test_each_credentials_budget_is_fleet_wide(self):
        register_secret(TOKEN_A)
        register_secret(TOKEN_B)
        sandbox = Sandbox(pages="1000:3000:0,1001:3000:0,2000:3000:0", min_interval="0.4s",
                          token=TOKEN_A, extra=["--more_tokens=" + TOKEN_B])
        self.addCleanup(sandbox.stop)
        credentials = write_credentials([("acme", TOKEN_A, ["1000", "1001"], {}),
                                         ("globex", TOKEN_B, ["2000"], {})])
        replicas = [Server(sandbox, interval="0.5s", database_url=self.db.url,
                           replica_id="replica-%d" % i, credentials_file=credentials)
                    for i in range(2)]
        for replica in replicas:
            self.addCleanup(replica.stop)
        results = {}

        def read(replica, urn):
            results[urn] = run_cli(replica, "followers", urn, "--edge_type=members")

        # Acme's two pages on two replicas, globex's beside them.
        threads = [threading.Thread(target=read, args=args) for args in (
            (replicas[0], ACME_PAGE), (replicas[1], "urn:li:organizationalPage:1001"),
            (replicas[1], GLOBEX_PAGE))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for urn, result in results.items():
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(len(set(followers_of(result.stdout))), 3000, urn)
        stats = sandbox.stats()
        self.assertEqual(stats["throttled"], 0)
        self.assertEqual(stats["by_token"]["0"]["requests"], 6)
        self.assertEqual(stats["by_token"]["1"]["requests"], 3)
        times = sorted(linkedin_requests(replicas[0].log()) + linkedin_requests(replicas[1].log()))
        acme = [t for t, urn in times if urn != GLOBEX_PAGE]
        gaps = [b - a for a, b in zip(acme, acme[1:])]
        self.assertGreaterEqual(min(gaps), 0.4, times)  # One budget across replicas.
        globex = [t for t, urn in times if urn == GLOBEX_PAGE]
        self.assertLess(min(abs(a - g) for a in acme for g in globex), 0.4, times)


def metric(server, name, credential):
    """The value of metric `name` for `credential`, or None."""
    for line in metrics_text(server).splitlines():
        if line.startswith('%s{credential="%s"}' % (name, credential)):
            return float(line.split()[-1])
    return None


class RefreshTest(unittest.TestCase):
    """A credential with a client id and a refresh token: its access token is
    renewed through the sandbox's OAuth endpoint before it expires."""

    CLIENT_SECRET = "oauth-client-secret-5d4c"
    REFRESH_TOKEN = "oauth-refresh-token-9a8b"

    def start(self, token_lifetime, refresh=True):
        for secret in (TOKEN_A, self.CLIENT_SECRET, self.REFRESH_TOKEN):
            register_secret(secret)
        self.sandbox = Sandbox(pages="1000:12000:0", min_interval="0.2s", token=TOKEN_A,
                               extra=["--token_lifetime=" + token_lifetime,
                                      "--oauth_client_id=app-1",
                                      "--oauth_client_secret=" + self.CLIENT_SECRET,
                                      "--refresh_token=" + self.REFRESH_TOKEN])
        directory = temp_dir()
        oauth = {"client_id": "app-1",
                 "client_secret_file": os.path.join(directory, "client_secret")}
        with open(oauth["client_secret_file"], "w") as f:
            f.write(self.CLIENT_SECRET)
        if refresh:
            oauth["refresh_token_file"] = os.path.join(directory, "refresh_token")
            with open(oauth["refresh_token_file"], "w") as f:
                f.write(self.REFRESH_TOKEN)
        credentials = write_credentials([("acme", TOKEN_A, ["*"], oauth)])
        self.state_dir = temp_dir()
        self.server = Server(self.sandbox, interval="0.3s", state_dir=self.state_dir,
                             credentials_file=credentials,
                             extra=["--linkedin_oauth_url=" + self.sandbox.url,
                                    "--metrics_port=0"])

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, self.server.log())  # No secret in its log.
        self.sandbox.stop()

    def test_a_stream_longer_than_the_tokens_lifetime_finishes_on_refreshed_tokens(self):
        # Every access token lives 3 s; the stream takes about 4 s.
        self.start("3s")
        result = run_cli(self.server, "followers", ACME_PAGE, "--edge_type=members",
                         "--reconnect=false")
        self.assertEqual(result.returncode, 0, result.stderr)
        followers = followers_of(result.stdout)
        self.assertEqual(len(followers), 12000)
        self.assertEqual(len(set(followers)), 12000)
        stats = self.sandbox.stats()
        self.assertGreaterEqual(stats["token_refreshes"], 2)
        self.assertNotIn("401", stats["by_status"])
        expiry = metric(self.server, "followgate_linkedin_token_expiry_timestamp_seconds", "acme")
        self.assertIsNotNone(expiry)
        self.assertGreater(expiry, time.time() - 1)
        self.assertIsNotNone(metric(
            self.server, "followgate_linkedin_refresh_token_expiry_timestamp_seconds", "acme"))
        state = os.path.join(self.state_dir, "linkedin_token.acme.json")
        self.assertEqual(os.stat(state).st_mode & 0o777, 0o600)

    def test_without_a_refresh_token_the_expiry_comes_from_introspection(self):
        self.start("1h", refresh=False)
        self.assertTrue(wait_until(lambda: self.sandbox.stats()["introspections"] >= 1, 30))
        self.assertTrue(wait_until(lambda: metric(
            self.server, "followgate_linkedin_token_expiry_timestamp_seconds", "acme"), 30))
        expiry = metric(self.server, "followgate_linkedin_token_expiry_timestamp_seconds", "acme")
        self.assertAlmostEqual(expiry, time.time() + 3600, delta=120)
        self.assertEqual(self.sandbox.stats()["token_refreshes"], 0)


class CredentialsFileTest(unittest.TestCase):
    def run_server(self, *flags):
        """The exit status and the messages it logged."""
        result = subprocess.run([SERVER, "--port=0"] + list(flags), capture_output=True,
                                text=True, timeout=60)
        messages = [json.loads(line).get("msg", "") for line in result.stderr.splitlines()
                    if line.startswith("{")]
        return result.returncode, "\n".join(messages)

    def test_a_page_served_twice_stops_the_start_naming_the_rule(self):
        path = os.path.join(temp_dir(), "credentials.json")
        with open(path, "w") as f:
            json.dump({"credentials": [{"name": "a", "token_env": "A_TOKEN", "pages": ["1"]},
                                       {"name": "b", "token_env": "B_TOKEN", "pages": ["01"]}]},
                      f)
        code, messages = self.run_server("--linkedin_credentials_file=" + path)
        self.assertEqual(code, 2)
        self.assertIn('credentials[1].pages page 1 is served by "a" already', messages)

    def test_a_missing_token_names_its_credential(self):
        path = write_credentials([("acme", TOKEN_A, ["1000"], {})])
        with open(path) as f:
            config = json.load(f)
        config["credentials"][0]["token_file"] += ".missing"
        with open(path, "w") as f:
            json.dump(config, f)
        code, messages = self.run_server("--linkedin_credentials_file=" + path)
        self.assertEqual(code, 2)
        self.assertIn('LinkedIn credential "acme": cannot read secret file', messages)

    def test_the_file_and_a_token_file_together_are_refused(self):
        path = write_credentials([("acme", TOKEN_A, ["1000"], {})])
        code, messages = self.run_server("--linkedin_credentials_file=" + path,
                                         "--linkedin_token_file=" + path)
        self.assertEqual(code, 2)
        self.assertIn("give one", messages)


if __name__ == "__main__":
    junit.main()
