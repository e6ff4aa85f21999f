#!/usr/bin/env python3
"""Starts a throwaway PostgreSQL 15 cluster for the benchmarks and keeps it up.

    bench/postgres_launcher.py [--port_file=FILE] [--until_stdin_closes]
                               [--track_commit_timestamp]

Starts tests/e2e/postgres.py's PostgresServer (a temp dir under /tmp, a free
loopback port; as root the server runs as the `postgres` user), prints its URL
(postgresql://postgres@127.0.0.1:PORT/postgres, the trusted superuser: no
password) on stdout, writes the port to --port_file if set (atomically, as the
servers do), and keeps the cluster up until SIGTERM or SIGINT, or with
--until_stdin_closes until stdin reaches end of file. --track_commit_timestamp
turns on PostgreSQL's setting of that name (a restart before the URL is
printed), so that pg_xact_commit_timestamp(xmin) tells when a row was
committed. Then it stops the
cluster and removes its directory. If the launcher itself is killed, the
server gets SIGTERM (PostgresServer sets its parent-death signal) and only
the directory is left behind.
"""

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))

from postgres import PostgresServer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port_file", default="")
    parser.add_argument("--until_stdin_closes", action="store_true")
    parser.add_argument("--track_commit_timestamp", action="store_true")
    args = parser.parse_args()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    db = PostgresServer()
    try:
        if args.track_commit_timestamp:
            db.stop()
            with open(os.path.join(db.data_dir, "postgresql.conf"), "a") as f:
                f.write("track_commit_timestamp = on\n")
            db.start()
        print(db.url, flush=True)
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % db.port)
            os.replace(tmp, args.port_file)
        if args.until_stdin_closes:
            def watch_stdin():
                while sys.stdin.buffer.read(65536):
                    pass
                done.set()
            threading.Thread(target=watch_stdin, daemon=True).start()
        while not done.wait(1.0):
            pass
    finally:
        db.close()


if __name__ == "__main__":
    main()
