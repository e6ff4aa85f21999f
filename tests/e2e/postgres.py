"""A throwaway PostgreSQL 15 cluster for end-to-end tests.

The Python twin of server/testing/postgres_server.h, with the same
behaviour:

    from postgres import PostgresServer

    class FleetTest(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.db = PostgresServer()          # initdb + start: about a second
            cls.addClassCleanup(cls.db.close)  # pg_ctl stop -m immediate, rm -r

        def test_survives_a_database_restart(self):
            server = harness.Server(..., extra=["--database_url=" + self.db.url])
            self.db.stop()                     # open connections break
            self.db.start()                    # same port, same data

url is postgresql://postgres@127.0.0.1:PORT/postgres: the superuser, trusted.
Every other role logs in with its password (scram-sha-256): create one over
url (CREATE ROLE app LOGIN PASSWORD '...') and connect with url_for("app"),
passing the password apart (a --database_password_file, or PGPASSWORD).

As root, initdb, postgres and pg_ctl run as the `postgres` user through
`runuser -u postgres --` (PostgreSQL refuses to run as root), so the Bazel
test needs tags = ["no-sandbox"], and the cluster lives under /tmp (the
`postgres` user cannot enter root's Bazel output base; a Unix socket path
must fit in 107 bytes); otherwise under TEST_TMPDIR when that is short
enough. The server is a child of the test and is sent SIGTERM when the test
process dies, so a crashed test leaves no server running.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

BIN_DIR = "/usr/lib/postgresql/15/bin"
RUNUSER = "/usr/sbin/runuser"
SETPRIV = "/usr/bin/setpriv"
START_TIMEOUT = 60.0
PORT_ATTEMPTS = 5
_MAX_DIR_LENGTH = 80

_PG_HBA = """\
# Written by tests/e2e/postgres.py.
local all postgres trust
host  all postgres 127.0.0.1/32 trust
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
"""


def _is_root():
    return os.geteuid() == 0


def _as_server_user(argv):
    return [RUNUSER, "-u", "postgres", "--"] + argv if _is_root() else argv


def _base_dir():
    test_tmpdir = os.environ.get("TEST_TMPDIR")
    if test_tmpdir and not _is_root() and len(test_tmpdir) <= _MAX_DIR_LENGTH - 20:
        return test_tmpdir
    return "/tmp"


def _free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dying_with_parent(argv):
    """`argv` run so that it gets SIGTERM when the thread that started it
    ends (prctl PR_SET_PDEATHSIG, set by util-linux's setpriv before it
    execs `argv`): the cluster dies with the test even if it is killed. Not
    a preexec_fn, which is unsafe while other threads (gRPC's) run."""
    return [SETPRIV, "--pdeathsig", "TERM", "--"] + argv


def _tail(path, start=0):
    try:
        with open(path, errors="replace") as f:
            f.seek(start)
            text = f.read()
    except FileNotFoundError:
        return ""
    return text if len(text) <= 2000 else "..." + text[-2000:]


def _size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


class PostgresServer:
    """Starts the cluster in the constructor; see the module docstring."""

    def __init__(self):
        if not os.access(os.path.join(BIN_DIR, "initdb"), os.X_OK):
            raise RuntimeError("%s/initdb is missing: install postgresql-15 "
                               "(scripts/install_deps.sh)" % BIN_DIR)
        self.dir = tempfile.mkdtemp(prefix="followgate-pg-", dir=_base_dir())
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = 0
        self._child = None
        try:
            if _is_root():
                shutil.chown(self.dir, "postgres", "postgres")
            self._run([os.path.join(BIN_DIR, "initdb"), "-D", self.data_dir,
                       "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
                       "--locale=C", "--no-instructions"],
                      os.path.join(self.dir, "initdb.log"))
            hba = os.path.join(self.data_dir, "pg_hba.conf")
            with open(hba, "w") as f:
                f.write(_PG_HBA)
            if _is_root():
                shutil.chown(hba, "postgres", "postgres")
            for attempt in range(PORT_ATTEMPTS):
                self.port = _free_loopback_port()
                log_start = _size(self.log_path)
                try:
                    self._launch()
                    break
                except RuntimeError:
                    collided = "Address already in use" in _tail(self.log_path, log_start)
                    if not collided or attempt == PORT_ATTEMPTS - 1:
                        raise
        except BaseException:
            self.close()
            raise
        self.url = self.url_for("postgres")

    def url_for(self, user):
        """The URL of another role (its password is not in it)."""
        return "postgresql://%s@127.0.0.1:%d/postgres" % (user, self.port)

    @property
    def running(self):
        return self._child is not None

    def stop(self):
        """Stops the server at once, as a crash would: connections break."""
        if not self.running:
            raise RuntimeError("the PostgreSQL server is not running")
        try:
            self._run([os.path.join(BIN_DIR, "pg_ctl"), "-D", self.data_dir,
                       "-m", "immediate", "-w", "stop"], self.log_path)
        except RuntimeError:
            self._child.terminate()
            raise
        finally:
            self._child.wait()
            self._child = None

    def start(self):
        """Starts it again, on the same port and with the same data."""
        if self.running:
            raise RuntimeError("the PostgreSQL server is running")
        self._launch()

    def close(self):
        """Stops the server if it runs and removes its directory."""
        if self.running:
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, argv, log_path):
        log_start = _size(log_path)
        with open(log_path, "a") as log:
            code = subprocess.call(_as_server_user(argv), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        if code != 0:
            raise RuntimeError("%s failed (exit %d):\n%s"
                               % (" ".join(argv), code, _tail(log_path, log_start)))

    def _ready(self):
        # How pg_ctl -w tells: line 8 of postmaster.pid.
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _launch(self):
        # fsync and full-page writes only guard against a crash of the
        # machine; synchronous_commit stays on, so stop() loses no commit.
        try:
            os.unlink(os.path.join(self.data_dir, "postmaster.pid"))
        except FileNotFoundError:
            pass
        log_start = _size(self.log_path)
        with open(self.log_path, "a") as log:
            child = subprocess.Popen(
                _dying_with_parent(_as_server_user(
                    [os.path.join(BIN_DIR, "postgres"), "-D", self.data_dir,
                     "-p", str(self.port), "-k", self.dir,
                     "-c", "listen_addresses=127.0.0.1",
                     "-c", "fsync=off", "-c", "full_page_writes=off"])),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.dir)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready():
            if child.poll() is not None:
                raise RuntimeError("postgres exited with %d before accepting connections:\n%s"
                                   % (child.returncode, _tail(self.log_path, log_start)))
            if time.monotonic() > deadline:
                child.terminate()
                child.wait()
                raise RuntimeError("postgres did not accept connections within %ss:\n%s"
                                   % (START_TIMEOUT, _tail(self.log_path, log_start)))
            time.sleep(0.01)
        self._child = child
