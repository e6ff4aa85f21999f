"""Starts the real binaries (sandbox upstream, server, CLI) for end-to-end tests.

Everything listens on 127.0.0.1 port 0 and reports its port through a port
file in the test's temp dir. Readiness is the port file appearing (checked
while the process is alive), never a fixed sleep.
"""

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

    def __init__(self, pages="42:12345:0", min_interval="0.1s", extra=()):
        super().__init__([SANDBOX, "--port=0", "--token=" + SANDBOX_TOKEN,
                          "--api_key=" + SANDBOX_API_KEY,
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
                 state_dir=None, api_key=SANDBOX_API_KEY):
        register_secret(token)
        register_secret(api_key)
        argv = [SERVER, "--host=127.0.0.1", "--port=0",
                "--linkedin_min_interval=" + interval,
                "--linkedin_timeout_backoff=0.2s"]
        if sandbox is not None:
            secrets = temp_dir()
            token_file = os.path.join(secrets, "linkedin_token")
            with open(token_file, "w") as f:
                f.write(token + "\n")
            argv += ["--linkedin_base_url=" + sandbox.url,
                     "--linkedin_token_file=" + token_file]
            if state_dir is not None:
                key_file = os.path.join(secrets, "connectsafely_key")
                with open(key_file, "w") as f:
                    f.write(api_key + "\n")
                argv += ["--connectsafely_base_url=" + sandbox.url,
                         "--connectsafely_api_key_file=" + key_file,
                         "--connectsafely_backoff=0.1s",
                         "--state_dir=" + state_dir]
        super().__init__(argv + list(extra), "server", env=env)
        self.target = "127.0.0.1:%d" % self.port


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
