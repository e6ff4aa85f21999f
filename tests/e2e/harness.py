"""Starts the real binaries (sandbox upstream, server, CLI) for end-to-end tests.

Everything listens on 127.0.0.1 port 0 and reports its port through a port
file in the test's temp dir. Readiness is the port file appearing (checked
while the process is alive), never a fixed sleep.
"""

import calendar
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

_WORKSPACE = "followgate"


def runfile(path):
    return os.path.join(os.environ["TEST_SRCDIR"], _WORKSPACE, path)


SERVER = runfile("server/followgate_server")
CLI = runfile("client/followgate")
SANDBOX = runfile("server/sandbox/followgate_sandbox")

sys.path.insert(0, runfile("protos/py"))
sys.path.insert(0, runfile("client/python"))

SANDBOX_TOKEN = "e2e-secret-token-5f3a"
SANDBOX_API_KEY = "e2e-connectsafely-key-9c1d"

# Every secret a test hands to a process. Each process's log is checked for
# all of them when it stops: no secret may ever appear in a log.
SECRETS = {SANDBOX_TOKEN, SANDBOX_API_KEY}


def register_secret(secret):
    SECRETS.add(secret)
    return secret


def temp_dir():
    return tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))


class Process:
    """A child process that writes its bound port to a port file."""

    def __init__(self, argv, name, startup_timeout=60.0, env=None):
        self.dir = temp_dir()
        self.port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, name + ".log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv + ["--port_file=" + self.port_file],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env)
        self.port = self._await_port(startup_timeout)

    def _await_port(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d before serving:\n%s"
                                   % (self.proc.args[0], self.proc.returncode, self.log()))
            time.sleep(0.01)
        self.proc.kill()
        raise RuntimeError("%s did not serve within %ss" % (self.proc.args[0], timeout))

    def log(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signals the process and returns its exit code; fails if a secret
        appears in its log."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if not self._log.closed:
                self._log.close()
            log = self.log()
            leaked = [s for s in SECRETS if s in log]
            if leaked:
                raise AssertionError("%d secret(s) appear in the log of %s"
                                     % (len(leaked), self.proc.args[0]))


class Sandbox(Process):
    """The standalone LinkedIn sandbox (server/sandbox)."""

    def __init__(self, pages="42:12345:0", min_interval="0.1s", extra=(), port=0,
                 token=SANDBOX_TOKEN, api_key=SANDBOX_API_KEY):
        """`port` 0 picks a free one; a stopped sandbox's port serves to start
        another in its place (other followers or credentials, same URL)."""
        register_secret(token)
        register_secret(api_key)
        super().__init__([SANDBOX, "--port=%d" % port, "--token=" + token,
                          "--api_key=" + api_key,
                          "--pages=" + pages, "--min_interval=" + min_interval]
                         + list(extra), "sandbox")
        self.url = "http://127.0.0.1:%d" % self.port

    def _admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def stats(self):
        return self._admin("GET", "/_sandbox/stats")

    def add_faults(self, faults):
        self._admin("POST", "/_sandbox/faults", faults)

    def cs_stats(self):
        return self._admin("GET", "/_sandbox/connectsafely/stats")

    def cs_add_faults(self, faults):
        self._admin("POST", "/_sandbox/connectsafely/faults", faults)

    def cs_received(self, company):
        return self._admin("GET", "/_sandbox/connectsafely/received?company=%s" % company)


class Server(Process):
    """followgate_server pointed at a sandbox through a token file."""

    def __init__(self, sandbox=None, interval="0.15s", extra=(), env=None, token=SANDBOX_TOKEN,
                 state_dir=None, api_key=SANDBOX_API_KEY, database_url=None, replica_id=None,
                 credentials_file=None):
        """With `database_url` (and a sandbox) the server is a fleet replica
        named `replica_id`: it keeps its state in that database instead of
        `state_dir`, and sends invitations to the sandbox. With
        `credentials_file` its LinkedIn tokens are that file's
        (--linkedin_credentials_file) rather than `token`."""
        register_secret(token)
        register_secret(api_key)
        argv = [SERVER, "--host=127.0.0.1", "--port=0",
                "--linkedin_min_interval=" + interval,
                "--linkedin_timeout_backoff=0.2s"]
        self.token_file = self.key_file = None
        if sandbox is not None:
            secrets = temp_dir()
            token_file = self.token_file = os.path.join(secrets, "linkedin_token")
            with open(token_file, "w") as f:
                f.write(token + "\n")
            argv += ["--linkedin_base_url=" + sandbox.url,
                     "--linkedin_token_file=" + token_file if credentials_file is None
                     else "--linkedin_credentials_file=" + credentials_file]
            if state_dir is not None or database_url is not None:
                key_file = self.key_file = os.path.join(secrets, "connectsafely_key")
                with open(key_file, "w") as f:
                    f.write(api_key + "\n")
                argv += ["--connectsafely_base_url=" + sandbox.url,
                         "--connectsafely_api_key_file=" + key_file,
                         "--connectsafely_backoff=0.1s"]
                argv += (["--state_dir=" + state_dir] if database_url is None else
                         ["--database_url=" + database_url, "--replica_id=" + replica_id])
        super().__init__(argv + list(extra), "server", env=env)
        self.target = "127.0.0.1:%d" % self.port


class Fleet:
    """Replicas of followgate_server on one PostgreSQL database, all with one
    sandbox as their LinkedIn and ConnectSafely upstream.

        fleet = Fleet(db_url, sandbox, count=3, interval="0.35s")
        fleet[0].target                # replica "replica-0"
        fleet.kill(0)                  # SIGKILL, as a crash
        fleet.restart(0)               # same name, new port
        fleet.close()                  # SIGTERM the ones still running

    Every replica gets the same `extra` flags. A replica is a Server; its
    name is fleet.names[i].
    """

    def __init__(self, database_url, sandbox, count=3, interval="0.35s", extra=()):
        self.database_url = database_url
        self.sandbox = sandbox
        self.interval = interval
        self.extra = list(extra)
        self.names = ["replica-%d" % i for i in range(count)]
        self.replicas = [None] * count
        self.stopped = []
        try:
            for i in range(count):
                self.restart(i)
        except BaseException:
            self.close()
            raise

    def __getitem__(self, i):
        return self.replicas[i]

    def __len__(self):
        return len(self.replicas)

    def restart(self, i):
        """Starts replica i (again: it must not be running); returns it."""
        if self.replicas[i] is not None and self.replicas[i].proc.poll() is None:
            raise RuntimeError("%s is running" % self.names[i])
        self.replicas[i] = Server(self.sandbox, interval=self.interval, extra=self.extra,
                                  database_url=self.database_url, replica_id=self.names[i])
        return self.replicas[i]

    def kill(self, i):
        """SIGKILLs replica i and waits for it to be gone."""
        replica = self.replicas[i]
        replica.stop(signal.SIGKILL)
        self.stopped.append(replica)

    def close(self):
        """Stops every replica still running (SIGTERM); fails if one leaked a
        secret into its log."""
        errors = []
        for replica in self.replicas:
            if replica is None:
                continue
            try:
                replica.stop()
            except AssertionError as leaked:
                errors.append(leaked)
        if errors:
            raise errors[0]


def health_status(server, service="", timeout=5):
    """The grpc.health.v1 status name of `service` on `server` ("SERVING",
    "NOT_SERVING", ...), or "UNREACHABLE" when the call itself fails."""
    import grpc
    health_pb2 = _health_pb2()
    with grpc.insecure_channel(server.target) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        try:
            response = check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


_HEALTH_PB2 = []


def _health_pb2():
    # grpc.health cannot be imported as a package next to grpcio's `grpc`:
    # load the generated module from its file.
    if not _HEALTH_PB2:
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "health_pb2", runfile("protos/py/grpc/health/v1/health_pb2.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _HEALTH_PB2.append(module)
    return _HEALTH_PB2[0]


def metrics_port(server_log):
    """The port a server started with --metrics_port logged, or None."""
    for line in server_log.splitlines():
        if '"event":"metrics"' in line:
            return json.loads(line)["port"]
    return None


def metrics_text(server):
    """What the server's /metrics answers (it needs --metrics_port)."""
    url = "http://127.0.0.1:%d/metrics" % metrics_port(server.log())
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def linkedin_requests(server_log, urn=None):
    """The LinkedIn requests the server logged, in order, as (unix time, urn),
    all or those of `urn`; the time is the log line's (the answer's)."""
    requests = []
    for line in server_log.splitlines():
        if '"event":"upstream"' not in line or '"upstream":"linkedin"' not in line:
            continue
        event = json.loads(line)
        if urn is not None and event.get("urn") != urn:
            continue
        requests.append((_log_time(event["time"]), event["urn"]))
    return requests


def _log_time(stamp):
    return (calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
            + int(stamp[20:23]) / 1000.0)


def rpc_start_times(server_log, caller):
    """When the server began each call it logged for `caller`, in unix time:
    the "rpc" line's time less its duration."""
    starts = []
    for line in server_log.splitlines():
        if '"event":"rpc"' not in line:
            continue
        event = json.loads(line)
        if event.get("caller") == caller:
            starts.append(_log_time(event["time"]) - event["duration_ms"] / 1000.0)
    return starts


def wait_until(predicate, timeout=60.0, interval=0.01):
    """Polls `predicate` until it is true (returns True) or `timeout` seconds
    pass (returns False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def run_cli(server, *args, timeout=300):
    """Runs the CLI against `server`; returns the CompletedProcess (text)."""
    return subprocess.run([CLI, "--server=" + server.target] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def tls_material():
    """A CA, a server certificate for localhost/127.0.0.1 and a client
    certificate, made with openssl in a temp dir: {ca, server_cert,
    server_key, client_cert, client_key} paths."""
    d = temp_dir()
    paths = {k: os.path.join(d, k + ".pem") for k in
             ("ca", "ca_key", "server_cert", "server_key", "client_cert", "client_key")}
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", paths["ca_key"], "-out",
        paths["ca"], "-days", "2", "-subj", "/CN=followgate test CA")
    for who, subject in (("server", "/CN=localhost"), ("client", "/CN=e2e-client")):
        csr = os.path.join(d, who + ".csr")
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", paths[who + "_key"], "-out", csr,
            "-subj", subject)
        run("x509", "-req", "-in", csr, "-CA", paths["ca"], "-CAkey", paths["ca_key"],
            "-CAcreateserial", "-out", paths[who + "_cert"], "-days", "2",
            *(["-extfile", ext] if who == "server" else []))
    return paths


def callers_file(callers):
    """Writes a callers file for {name: (token, [scopes])}; returns its path."""
    import hashlib
    for token, _ in callers.values():
        register_secret(token)
    path = os.path.join(temp_dir(), "callers.json")
    with open(path, "w") as f:
        json.dump({"callers": [
            {"name": name, "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
             "scopes": scopes} for name, (token, scopes) in callers.items()]}, f)
    return path


def rich_details(rpc_error):
    """The google.rpc details of a grpc.RpcError: {ErrorInfo, RetryInfo, BadRequest}."""
    from google.rpc import error_details_pb2, status_pb2
    for key, value in rpc_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            out = {}
            for any_message in status.details:
                for cls in (error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo,
                            error_details_pb2.BadRequest):
                    if any_message.Is(cls.DESCRIPTOR):
                        message = cls()
                        any_message.Unpack(message)
                        out[cls.__name__] = message
            return out
    return {}
