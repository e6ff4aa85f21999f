#!/usr/bin/env bash
# Benchmarks of followgate's serving path from warm snapshots, next to a
# minimal gRPC server that streams the same pages from memory (see
# bench/README.md). Prints its figures; exits non-zero only when something
# failed to run (a ratio below target is reported, not an error).
#
# Usage: bench/run_benchmarks.sh
# Knobs (environment): PHASES="stream latency memory streams fleet" RUNS=5
#   LATENCY_CALLS=200 LATENCY_ROUNDS=3 CLIENTS=200 SLOW_MS=50 BIG=1000000
#   SMALL=250000 WAITING_STREAMS="1000 5000" WAIT_HEARTBEAT=30s WAIT_HOLD=40
#   READY_TIMEOUT=300 SLOW_READERS=1000 SLOW_READER_MS=1000 SLOW_READER_PAGES=30
#   STREAMS_PER_CONNECTION=100 LAG_PAGES=80 LAG_INTERVAL=0.15s PG_INTERVAL=1ms
#   BENCH_BAZEL_SHUTDOWN=1 BENCH_KEEP=0
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS="${RUNS:-5}"
LATENCY_CALLS="${LATENCY_CALLS:-200}"
LATENCY_ROUNDS="${LATENCY_ROUNDS:-3}"
CLIENTS="${CLIENTS:-200}"
SLOW_MS="${SLOW_MS:-50}"
BIG="${BIG:-1000000}"
SMALL="${SMALL:-250000}"
PHASES="${PHASES:-stream latency memory streams fleet}"
WAITING_STREAMS="${WAITING_STREAMS:-1000 5000}"
WAIT_HEARTBEAT="${WAIT_HEARTBEAT:-30s}"
WAIT_HOLD="${WAIT_HOLD:-40}"
READY_TIMEOUT="${READY_TIMEOUT:-300}"
SLOW_READERS="${SLOW_READERS:-1000}"
SLOW_READER_MS="${SLOW_READER_MS:-1000}"
SLOW_READER_PAGES="${SLOW_READER_PAGES:-30}"
STREAMS_PER_CONNECTION="${STREAMS_PER_CONNECTION:-100}"
LAG_PAGES="${LAG_PAGES:-80}"
LAG_INTERVAL="${LAG_INTERVAL:-0.15s}"
# The fleet's budget needs a positive interval (0s is refused at startup).
PG_INTERVAL="${PG_INTERVAL:-1ms}"
BIG_PAGE=77
SMALL_PAGE=78
BIG_URN="urn:li:organizationalPage:${BIG_PAGE}"
SMALL_URN="urn:li:organizationalPage:${SMALL_PAGE}"
# Figure 6: one fresh page per run, 101, 102, ..., never read before it.
LAG_PAGE0=100
TOKEN="bench-token-$$"
PY=/usr/bin/python3

work="$(mktemp -d /tmp/followgate-bench-XXXXXX)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "logs kept in ${work}" >&2
  else
    rm -rf "${work}"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "run_benchmarks: $*" >&2; exit 1; }
want() { [[ " ${PHASES} " == *" $1 "* ]]; }

# Thousands of open streams: every process started from here may use as many
# file descriptors as the hard limit allows (each connection is one).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- build
log "building (opt)"
# --symlink_prefix=/: leave the bazel-* convenience symlinks alone (they may
# point at another configuration that someone else is using).
bazel build -c opt --symlink_prefix=/ //bench:all //server:followgate_server \
  //server/sandbox:followgate_sandbox >"${work}/build.log" 2>&1 ||
  { cat "${work}/build.log" >&2; die "build failed"; }
out="$(bazel info -c opt bazel-bin 2>/dev/null)"
# Private copies: a later build in this workspace cannot swap them mid-run,
# and perf can still resolve their symbols.
mkdir -p "${work}/bin"
cp "${out}/bench/stream_client" "${out}/bench/minimal_follows_server" "${out}/bench/many_streams_client" \
  "${out}/server/followgate_server" "${out}/server/sandbox/followgate_sandbox" "${work}/bin/"
bin="${work}/bin"
if [[ "${BENCH_BAZEL_SHUTDOWN:-1}" == 1 ]]; then
  bazel shutdown >/dev/null 2>&1 || true  # Its JVM would only add noise.
fi

# ---------------------------------------------------------------- processes
# start NAME ARGV... : starts a process with --port_file, waits for the port.
start() {
  local name="$1"
  shift
  local port_file="${work}/${name}.port"
  rm -f "${port_file}"  # A previous process of that name left its own.
  "$@" --port_file="${port_file}" >"${work}/${name}.log" 2>&1 &
  local pid=$!
  pids+=("${pid}")
  eval "${name}_pid=${pid}"
  local deadline=$((SECONDS + ${START_TIMEOUT:-120}))
  while [[ ! -s "${port_file}" ]]; do
    kill -0 "${pid}" 2>/dev/null || { cat "${work}/${name}.log" >&2; die "${name} exited before serving"; }
    ((SECONDS < deadline)) || die "${name} did not serve in time"
    sleep 0.05
  done
  eval "${name}_port=$(cat "${port_file}")"
}

# forget PID: a process that has ended is no longer stopped on exit.
forget() {
  local kept=() pid
  for pid in "${pids[@]}"; do [[ "${pid}" == "$1" ]] || kept+=("${pid}"); done
  pids=("${kept[@]}")
}
# stop PID: stops a process started here and forgets it.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# status PID KEY: a field of /proc/PID/status (kB for the Vm* ones).
status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user + system CPU time of the process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

sandbox_pages="${BIG_PAGE}:${BIG}:0,${SMALL_PAGE}:${SMALL}:0"
if want fleet; then
  for ((i = 1; i <= RUNS; i++)); do sandbox_pages+=",$((LAG_PAGE0 + i)):$((LAG_PAGES * 1000)):0"; done
fi
log "starting the sandbox: page ${BIG_PAGE} with ${BIG} members, page ${SMALL_PAGE} with ${SMALL}"
start sandbox "${bin}/followgate_sandbox" --port=0 --token="${TOKEN}" \
  --pages="${sandbox_pages}" --min_interval=0s
echo "${TOKEN}" >"${work}/linkedin_token"
mkdir -p "${work}/state"
log "starting followgate_server"
start followgate env -u LINKEDIN_ACCESS_TOKEN -u CONNECTSAFELY_API_KEY \
  "${bin}/followgate_server" --host=127.0.0.1 --port=0 \
  --linkedin_base_url="http://127.0.0.1:${sandbox_port}" \
  --linkedin_token_file="${work}/linkedin_token" --linkedin_min_interval=0s \
  --state_dir="${work}/state"
FG="127.0.0.1:${followgate_port}"
# `env` execs the server: the pid is the server's.

client() { "${bin}/stream_client" "$@"; }
# json FILE KEY: one field of the JSON object in FILE.
json() { "${PY}" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
check_ok() {  # FILE: a throughput result whose streams all ended well.
  "${PY}" - "$1" <<'PY' || die "$(cat "$1")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r.get("ok_streams") == r.get("streams") and "errors" not in r else 1)
PY
}

# ---------------------------------------------------------------- warm-up
# warm SERVER NAME URN EDGES: one full stream through SERVER, which crawls the
# sandbox and leaves a complete snapshot.
warm() {
  log "warming the snapshot of $3 on $2 (upstream crawl)"
  client --server="$1" --followee="$3" --label=warm >"${work}/warm.json"
  check_ok "${work}/warm.json"
  local edges
  edges="$(json "${work}/warm.json" edges)"
  [[ "${edges}" == "$4" ]] || die "warm-up of $3 on $2 read ${edges} edges"
  echo "warm-up $3 on $2: ${edges} edges in $(json "${work}/warm.json" seconds) s" \
    "($(json "${work}/warm.json" pages) upstream pages)" >>"${work}/warm.txt"
}
warm "${FG}" SQLite "${BIG_URN}" "${BIG}"
warm "${FG}" SQLite "${SMALL_URN}" "${SMALL}"

# fleet_server NAME ARGS...: a followgate_server on the PostgreSQL cluster,
# with the SQLite one's flags but for --state_dir.
fleet_server() {
  local name="$1"
  shift
  start "${name}" env -u LINKEDIN_ACCESS_TOKEN -u CONNECTSAFELY_API_KEY -u PGPASSWORD \
    "${bin}/followgate_server" --host=127.0.0.1 --port=0 \
    --linkedin_base_url="http://127.0.0.1:${sandbox_port}" \
    --linkedin_token_file="${work}/linkedin_token" --database_url="${PG_URL}" "$@"
}
if want fleet; then
  log "starting a PostgreSQL cluster (tests/e2e/postgres.py)"
  # Commit timestamps: figure 6 takes each page's commit time from the database.
  start pg "${PY}" bench/postgres_launcher.py --track_commit_timestamp
  PG_URL="postgresql://postgres@127.0.0.1:${pg_port}/postgres"
  log "starting followgate_server on PostgreSQL"
  fleet_server pgfg --linkedin_min_interval="${PG_INTERVAL}" --replica_id=bench-pg
  PGFG="127.0.0.1:${pgfg_port}"
  warm "${PGFG}" PostgreSQL "${BIG_URN}" "${BIG}"
fi

if want stream || want latency || want fleet; then
  log "starting minimal_follows_server (reads ${BIG_URN} once from followgate)"
  start minimal "${bin}/minimal_follows_server" --host=127.0.0.1 --port=0 --source="${FG}" \
    --followee="${BIG_URN}"
  MIN="127.0.0.1:${minimal_port}"

  # Both must send the same edges.
  client --server="${FG}" --verify >"${work}/verify_fg.json"
  client --server="${MIN}" --verify >"${work}/verify_min.json"
  [[ "$(json "${work}/verify_fg.json" edges_digest)" == "$(json "${work}/verify_min.json" edges_digest)" ]] ||
    die "followgate and the minimal server sent different edges"
  if want fleet; then
    client --server="${PGFG}" --verify >"${work}/verify_pg.json"
    [[ "$(json "${work}/verify_pg.json" edges_digest)" == "$(json "${work}/verify_min.json" edges_digest)" ]] ||
      die "followgate on PostgreSQL and the minimal server sent different edges"
  fi
fi

# ---------------------------------------------------------------- 1. warm streaming
: >"${work}/stream.jsonl"
if want stream; then
  log "warm streaming: ${RUNS} alternating runs of one ${BIG}-edge stream per server"
  for ((i = 1; i <= RUNS; i++)); do
    # Alternate the order too, so that neither always runs second.
    if ((i % 2)); then order="fg min"; else order="min fg"; fi
    for who in ${order}; do
      target="${FG}"
      [[ "${who}" == min ]] && target="${MIN}"
      client --server="${target}" --followee="${BIG_URN}" --label="${who}" >"${work}/one.json"
      check_ok "${work}/one.json"
      cat "${work}/one.json" >>"${work}/stream.jsonl"
    done
  done
fi

# ---------------------------------------------------------------- 2. latency
: >"${work}/latency.jsonl"
if want latency; then
  log "latency: ${LATENCY_ROUNDS} alternating rounds of ${LATENCY_CALLS} calls per server and method"
  for ((i = 1; i <= LATENCY_ROUNDS; i++)); do
    for method in stream list; do
      if ((i % 2)); then order="fg min"; else order="min fg"; fi
      for who in ${order}; do
        target="${FG}"
        [[ "${who}" == min ]] && target="${MIN}"
        client --server="${target}" --followee="${BIG_URN}" --unary_latency="${LATENCY_CALLS}" \
          --method="${method}" --page_size=1000 --label="${who}" >"${work}/one.json"
        grep -q '"error"' "${work}/one.json" && die "$(cat "${work}/one.json")"
        cat "${work}/one.json" >>"${work}/latency.jsonl"
      done
    done
  done
fi

# ---------------------------------------------------------------- 3. memory
status_kb() { status "${followgate_pid}" "$1"; }
: >"${work}/memory.jsonl"
if want memory; then
  for spec in "${SMALL_URN}:${SMALL}" "${BIG_URN}:${BIG}"; do
    urn="${spec%:*}"
    log "memory: ${CLIENTS} concurrent clients stream ${urn} (${spec##*:} edges), one reads every ${SLOW_MS} ms"
    sleep 1
    # Resets VmHWM to the current RSS (Linux >= 4.0), so the peak is this phase's.
    echo 5 >"/proc/${followgate_pid}/clear_refs" || die "cannot reset VmHWM"
    before="$(status_kb VmRSS)"
    threads_before="$(status_kb Threads)"
    # Sample threads and RSS while the clients run (VmHWM catches the RSS peak).
    (
      max_threads=0
      while kill -0 "${followgate_pid}" 2>/dev/null; do
        t="$(awk '$1 == "Threads:" {print $2}' "/proc/${followgate_pid}/status")"
        ((t > max_threads)) && max_threads="${t}" && echo "${max_threads}" >"${work}/max_threads"
        sleep 0.2
      done
    ) &
    sampler=$!
    client --server="${FG}" --followee="${urn}" --streams="${CLIENTS}" --slow_reader_ms="${SLOW_MS}" \
      --label="memory ${spec##*:}" >"${work}/one.json"
    kill "${sampler}" 2>/dev/null || true
    wait "${sampler}" 2>/dev/null || true
    check_ok "${work}/one.json"
    peak="$(status_kb VmHWM)"
    after="$(status_kb VmRSS)"
    "${PY}" - "${work}/one.json" "${spec##*:}" "${before}" "${peak}" "${after}" \
      "${threads_before}" "$(cat "${work}/max_threads" 2>/dev/null || echo 0)" \
      >>"${work}/memory.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r.update(snapshot_edges=int(sys.argv[2]), rss_before_kb=int(sys.argv[3]),
         rss_peak_kb=int(sys.argv[4]), rss_after_kb=int(sys.argv[5]),
         threads_before=int(sys.argv[6]), threads_peak=int(sys.argv[7]))
print(json.dumps(r))
PY
    rm -f "${work}/max_threads"
  done
fi

# ---------------------------------------------------------------- 4. open streams
# hold_streams PID FILE CLIENT_ARGS...: runs many_streams_client, and once it
# says READY (every call has its first message; or after READY_TIMEOUT s)
# samples process PID while the calls stay open: for WAIT_HOLD s with
# --hold_until_stdin_closes among CLIENT_ARGS (then stdin is closed and the
# calls are cancelled), else until the client ends. Appends one JSON object
# to FILE: the client's summary with the samples.
hold_streams() {
  local pid="$1" file="$2"
  shift 2
  local fifo="${work}/hold.fifo" out="${work}/held.out" hold=0 arg
  for arg in "$@"; do [[ "${arg}" == --hold_until_stdin_closes ]] && hold=1; done
  rm -f "${fifo}" "${out}"
  mkfifo "${fifo}"
  echo 5 >"/proc/${pid}/clear_refs" || die "cannot reset VmHWM"
  "${bin}/many_streams_client" --streams_per_connection="${STREAMS_PER_CONNECTION}" "$@" \
    <"${fifo}" >"${out}" 2>"${work}/held.err" &
  local client=$!
  pids+=("${client}")
  local hold_fd
  exec {hold_fd}>"${fifo}"  # The client's stdin: open until the hold ends.
  local deadline=$((SECONDS + READY_TIMEOUT)) ready=0
  while kill -0 "${client}" 2>/dev/null && ((SECONDS < deadline)); do
    grep -q '^READY' "${out}" && { ready=1; break; }
    sleep 0.1
  done
  local threads_ready rss_ready max_threads max_rss t ticks0 ticks1 start_ns end_ns
  threads_ready="$(status "${pid}" Threads)"
  rss_ready="$(status "${pid}" VmRSS)"
  max_threads="${threads_ready}"
  max_rss="${rss_ready}"
  ticks0="$(cpu_ticks "${pid}")"
  start_ns="$(date +%s%N)"
  if ((hold)); then
    local hold_end=$((SECONDS + WAIT_HOLD))
    while ((SECONDS < hold_end)) && kill -0 "${client}" 2>/dev/null; do
      t="$(status "${pid}" Threads)"
      ((t > max_threads)) && max_threads="${t}"
      t="$(status "${pid}" VmRSS)"
      ((t > max_rss)) && max_rss="${t}"
      sleep 0.5
    done
  else
    while kill -0 "${client}" 2>/dev/null; do
      t="$(status "${pid}" Threads)"
      ((t > max_threads)) && max_threads="${t}"
      t="$(status "${pid}" VmRSS)"
      ((t > max_rss)) && max_rss="${t}"
      sleep 0.2
    done
  fi
  ticks1="$(cpu_ticks "${pid}")"
  end_ns="$(date +%s%N)"
  local hwm
  hwm="$(status "${pid}" VmHWM)"
  exec {hold_fd}>&-
  wait "${client}" || true
  forget "${client}"
  grep -q '^{' "${out}" || die "many_streams_client printed no result: $(cat "${out}" "${work}/held.err")"
  "${PY}" - "${out}" "${ready}" "${threads_ready}" "${rss_ready}" "${max_threads}" "${max_rss}" \
    "${hwm}" "$((ticks1 - ticks0))" "$(getconf CLK_TCK)" "$(((end_ns - start_ns) / 1000000))" \
    >>"${file}" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
r = json.loads(lines[-1])
ready, threads_ready, rss_ready, max_threads, max_rss, hwm, ticks, hz, ms = map(int, sys.argv[2:])
r.update(all_ready=bool(ready), threads_at_ready=threads_ready, rss_at_ready_kb=rss_ready,
         threads_max=max_threads, rss_max_kb=max_rss, rss_peak_kb=hwm,
         sampled_s=ms / 1000, cpu_s=ticks / hz)
print(json.dumps(r))
PY
}

: >"${work}/open_streams.jsonl"
if want streams; then
  for n in ${WAITING_STREAMS}; do
    # A fresh server per figure: its LinkedIn budget allows one request an
    # hour, spent on the first page; every stream then waits for the second.
    log "open streams: ${n} streams of ${SMALL_URN} waiting for the budget (interval 1h)"
    start waiting env -u LINKEDIN_ACCESS_TOKEN -u CONNECTSAFELY_API_KEY \
      "${bin}/followgate_server" --host=127.0.0.1 --port=0 \
      --linkedin_base_url="http://127.0.0.1:${sandbox_port}" \
      --linkedin_token_file="${work}/linkedin_token" --linkedin_min_interval=1h \
      --heartbeat_interval="${WAIT_HEARTBEAT}"
    echo "{\"kind\":\"idle\",\"threads\":$(status "${waiting_pid}" Threads),\"rss_kb\":$(status "${waiting_pid}" VmRSS)}" \
      >>"${work}/open_streams.jsonl"
    hold_streams "${waiting_pid}" "${work}/open_streams.jsonl" \
      --server="127.0.0.1:${waiting_port}" --followee="${SMALL_URN}" --streams="${n}" \
      --hold_until_stdin_closes --label=waiting
    stop "${waiting_pid}"
  done
  log "open streams: ${SLOW_READERS} slow readers of ${BIG_URN}, a page every ${SLOW_READER_MS} ms"
  echo "{\"kind\":\"idle_warm\",\"threads\":$(status "${followgate_pid}" Threads),\"rss_kb\":$(status "${followgate_pid}" VmRSS)}" \
    >>"${work}/open_streams.jsonl"
  hold_streams "${followgate_pid}" "${work}/open_streams.jsonl" \
    --server="${FG}" --followee="${BIG_URN}" --streams="${SLOW_READERS}" \
    --read_interval_ms="${SLOW_READER_MS}" --max_pages="${SLOW_READER_PAGES}" --label=slow
fi

# ---------------------------------------------------------------- 5, 6. fleet
: >"${work}/fleet_stream.jsonl"
: >"${work}/lag.jsonl"
lag_failed=0
if want fleet; then
  log "fleet streaming: ${RUNS} rotating runs of one ${BIG}-edge stream per server (SQLite, PostgreSQL, minimal)"
  for ((i = 1; i <= RUNS; i++)); do
    # Rotate the order, so that none always runs first or last.
    case $((i % 3)) in
      1) order="fg pg min" ;;
      2) order="pg min fg" ;;
      0) order="min fg pg" ;;
    esac
    for who in ${order}; do
      case "${who}" in fg) target="${FG}" ;; pg) target="${PGFG}" ;; min) target="${MIN}" ;; esac
      client --server="${target}" --followee="${BIG_URN}" --label="${who}" >"${work}/one.json"
      check_ok "${work}/one.json"
      cat "${work}/one.json" >>"${work}/fleet_stream.jsonl"
    done
  done
  stop "${pgfg_pid}"

  # Two replicas on the database, paced at LAG_INTERVAL for the fleet. Per
  # run, a page never read before: a reader on A first, so that A runs the
  # crawl; once A has delivered its first page, a reader on B.
  log "fleet latency: replicas A and B, ${RUNS} fresh queries of ${LAG_PAGES} pages, interval ${LAG_INTERVAL}"
  fleet_server lag_a --linkedin_min_interval="${LAG_INTERVAL}" --replica_id=bench-a --metrics_port=0
  fleet_server lag_b --linkedin_min_interval="${LAG_INTERVAL}" --replica_id=bench-b --metrics_port=0
  for ((i = 1; i <= RUNS; i++)); do
    urn="urn:li:organizationalPage:$((LAG_PAGE0 + i))"
    a_times="${work}/lag_a_${i}.times"
    b_times="${work}/lag_b_${i}.times"
    : >"${a_times}"
    client --server="127.0.0.1:${lag_a_port}" --followee="${urn}" --page_times="${a_times}" \
      --label=a >"${work}/lag_a.json" &
    reader_a=$!
    pids+=("${reader_a}")
    deadline=$((SECONDS + 60))
    while [[ ! -s "${a_times}" ]]; do
      kill -0 "${reader_a}" 2>/dev/null || die "the reader on A ended before its first page: $(cat "${work}/lag_a.json")"
      ((SECONDS < deadline)) || die "no first page on A within 60 s"
      sleep 0.01
    done
    ok_b=1
    client --server="127.0.0.1:${lag_b_port}" --followee="${urn}" --page_times="${b_times}" \
      --label=b >"${work}/lag_b.json" || ok_b=0
    ok_a=1
    wait "${reader_a}" || ok_a=0
    forget "${reader_a}"
    # When each page's row was committed (the database's clock, which is the
    # readers' CLOCK_REALTIME here): of the first snapshot of the query, A's.
    commit_times="${work}/lag_commit_${i}.times"
    psql -X -q -At -F ' ' "${PG_URL}" -c "SELECT p.seq,
        (extract(epoch FROM pg_xact_commit_timestamp(p.xmin)) * 1000000)::bigint
      FROM snapshot_pages p WHERE p.snapshot_id = (SELECT min(id) FROM snapshots
        WHERE query_key LIKE 'followee:${urn}:%') ORDER BY p.seq" >"${commit_times}" 2>"${work}/psql.err" ||
      { log "no commit times: $(cat "${work}/psql.err")"; : >"${commit_times}"; }
    # A reader that failed is reported in figure 6 (and the script exits 1
    # after the figures): the figures before it stand.
    "${PY}" - "${i}" "${urn}" "${a_times}" "${b_times}" "${work}/lag_a.json" "${work}/lag_b.json" \
      "$((LAG_PAGES * 1000))" "${commit_times}" >>"${work}/lag.jsonl" <<'PY'
import json, sys
run, urn, a_times, b_times, a_json, b_json, edges, commit_times = sys.argv[1:]
r = {"run": int(run), "followee": urn, "a": a_times, "b": b_times, "commit": commit_times}
errors = []
for who, path in (("A", a_json), ("B", b_json)):
    try:
        res = json.load(open(path))
    except (OSError, ValueError):
        errors.append(f"the reader on {who} printed no result")
        continue
    if res.get("ok_streams") != 1 or "errors" in res:
        errors.append(f"the reader on {who}: {res.get('errors', 'no last_page')}")
    elif res["edges"] != int(edges):
        errors.append(f"the reader on {who} read {res['edges']} edges, not {edges}")
if errors:
    r["error"] = "; ".join(errors)
print(json.dumps(r))
PY
    if ((!ok_a || !ok_b)) || grep -q '"error"' <(tail -1 "${work}/lag.jsonl"); then
      lag_failed=1
      log "fleet latency: run ${i} failed: $(tail -1 "${work}/lag.jsonl")"
      break
    fi
  done
  # Who crawled: each replica's LinkedIn requests (one crawl per query for
  # the fleet: RUNS * LAG_PAGES on A, none on B).
  "${PY}" - "${work}/lag_a.log" "${work}/lag_b.log" >"${work}/lag_requests.json" <<'PY' ||
import json, sys, urllib.request
out = {}
for name, log in zip("ab", sys.argv[1:]):
    port = next(json.loads(l)["port"] for l in open(log) if '"event":"metrics"' in l)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out[name] = int(sum(float(l.split()[-1]) for l in text.splitlines()
                        if l.startswith("followgate_upstream_requests_total{") and 'upstream="linkedin"' in l))
print(json.dumps(out))
PY
    die "cannot read the replicas' metrics"
  stop "${lag_a_pid}"
  stop "${lag_b_pid}"
fi

# ---------------------------------------------------------------- report
"${PY}" - "${work}" "${RUNS}" "${LATENCY_CALLS}" "${LATENCY_ROUNDS}" "${CLIENTS}" "${SLOW_MS}" "${BIG}" \
  "${WAIT_HEARTBEAT}" "${LAG_PAGES}" "${LAG_INTERVAL}" <<'PY'
import json, statistics, sys
work, runs, calls, rounds, clients, slow_ms, big = sys.argv[1], *map(int, sys.argv[2:8])
heartbeat, lag_pages, lag_interval = sys.argv[8], int(sys.argv[9]), sys.argv[10]
load = lambda name: [json.loads(l) for l in open(f"{work}/{name}") if l.strip()]
med = statistics.median
mb = lambda kb: f"{kb / 1024:.1f}MB"

print()
print("followgate benchmarks (opt build, 127.0.0.1; medians of alternating runs)")
print()
for line in open(f"{work}/warm.txt"):
    print(line.rstrip())
print()

stream = load("stream.jsonl")
ratio = None
if stream:
    print(f"1. Warm streaming, one client, {big:,d} edges, median of {runs} runs each")
    eps = {}
    for who, name in (("fg", "followgate"), ("min", "minimal server")):
        rs = [r for r in stream if r["label"] == who]
        eps[who] = med(r["edges_per_s"] for r in rs)
        each = ", ".join(f"{r['edges_per_s'] / 1e6:.2f}" for r in rs)
        print(f"   {name:15s} {eps[who]:>12,.0f} edges/s   {med(r['seconds'] for r in rs):6.3f} s"
              f"   (runs, M edges/s: {each})")
    ratio = eps["fg"] / eps["min"]
    print(f"   ratio followgate/minimal: {ratio:.2f}  (target >= 0.90: {'met' if ratio >= 0.9 else 'NOT met'})")
    print()

lat = load("latency.jsonl")
if lat:
    print(f"2. Latency from the warm snapshot, {calls} sequential calls per round, median of {rounds} rounds (microseconds)")
    print(f"   {'':60s} {'p50':>8s} {'p99':>8s}")
    for method, title in (("stream", "StreamFollowers first page (1000 edges)"),
                          ("list", "ListFollowers page_size=1000")):
        for who, name in (("fg", "followgate"), ("min", "minimal")):
            rs = [r for r in lat if r["label"] == who and r["method"] == method]
            print(f"   {title + ', ' + name:60s} {med(r['p50_us'] for r in rs):>8,.0f} {med(r['p99_us'] for r in rs):>8,.0f}")
    print()

mem = load("memory.jsonl")
if mem:
    print(f"3. followgate RSS, {clients} concurrent clients each streaming a whole snapshot, one reading every {slow_ms} ms")
    print(f"   {'snapshot':>12s} {'before':>10s} {'peak':>10s} {'peak-before':>12s} {'after':>10s} {'threads':>8s} {'all done':>9s} {'slow one':>9s} {'edges/s':>11s}")
    for r in mem:
        print(f"   {r['snapshot_edges']:>12,d} {r['rss_before_kb'] / 1024:>8.1f}MB {r['rss_peak_kb'] / 1024:>8.1f}MB"
              f" {(r['rss_peak_kb'] - r['rss_before_kb']) / 1024:>+10.1f}MB {r['rss_after_kb'] / 1024:>8.1f}MB {r['threads_peak']:>8d} {r['seconds']:>8.1f}s"
              f" {r['slow_stream_s']:>8.1f}s {r['edges_per_s']:>11,.0f}")
    if len(mem) == 2:
        small_r, big_r = mem
        grow = (big_r["rss_peak_kb"] - small_r["rss_peak_kb"]) / 1024
        print(f"   peak, {big_r['snapshot_edges']:,d} vs {small_r['snapshot_edges']:,d} edges"
              f" ({big_r['snapshot_edges'] / small_r['snapshot_edges']:.0f}x the edges): {grow:+.1f} MB"
              f" (the second phase starts from what the first left resident)")
    print()

held = load("open_streams.jsonl")
if held:
    print("4. followgate threads and RSS with many streams open (/proc/PID/status; idle: the same server before)")
    print(f"   {'':44s} {'streams':>7s} {'threads':>8s} {'VmRSS':>9s} {'VmHWM':>9s} {'/stream':>8s} {'ready':>7s} {'CPU':>5s}  notes")
    idle = None
    waiting = []
    for r in held:
        if r.get("kind") in ("idle", "idle_warm"):
            idle = r
            what = "idle, fresh (interval 1h)" if r["kind"] == "idle" else "idle, warm snapshots"
            print(f"   {what:44s} {0:>7d} {r['threads']:>8d} {mb(r['rss_kb']):>9s}")
            continue
        n = r["streams"]
        per_stream = (r["rss_max_kb"] - idle["rss_kb"]) / n if idle else 0
        cpu = 100 * r["cpu_s"] / r["sampled_s"] if r["sampled_s"] else 0
        ready = f"{r['ready_s']:.1f}s" if r["all_ready"] and "ready_s" in r else "never"
        if r["label"] == "waiting":
            waiting.append(r)
            what = f"waiting for the budget (heartbeat {heartbeat})"
            notes = (f"{r.get('open_at_stop', 0):,d} open for {r['sampled_s']:.1f} s,"
                     f" {r['streams_with_heartbeat']:,d} had a heartbeat")
        else:
            pages = r.get("max_pages") or r["pages_per_stream_max"]
            # The first page comes at once; each later one after a pause.
            ideal = (pages - 1) * r["read_interval_ms"] / 1000
            what = f"slow readers, {pages} pages, 1 per {r['read_interval_ms']} ms"
            notes = (f"done p50 {r['end_s_p50']:.1f}s max {r['end_s_max']:.1f}s"
                     f" (ideal {ideal:.1f}s)")
        if r["failed_streams"]:
            notes += f"; {r['failed_streams']:,d} FAILED: {r.get('errors', '')[:200]}"
        print(f"   {what:44s} {n:>7,d} {r['threads_max']:>8d} {mb(r['rss_max_kb']):>9s} {mb(r['rss_peak_kb']):>9s}"
              f" {per_stream:>6.0f}kB {ready:>7s} {cpu:>4.0f}%  {notes}")
    print("   threads, VmRSS: most seen while open (sampled); VmHWM: peak RSS; /stream: (VmRSS - idle) / streams;")
    print("   ready: until every stream had its first message; CPU: server's share of one core while open")
    print()
    summary = [f"warm-streaming ratio {ratio:.2f}"] if ratio is not None else []
    summary += [f"{r['streams']:,d} waiting streams: {r['threads_max']} threads, {mb(r['rss_max_kb'])}"
                for r in waiting]
    summary += [f"{r['streams']:,d} slow readers: {r['threads_max']} threads, {mb(r['rss_peak_kb'])} peak"
                for r in held if r.get("label") == "slow"]
    print("   " + "; ".join(summary))
    print()
fleet = load("fleet_stream.jsonl")
if fleet:
    print(f"5. Warm streaming on SQLite, PostgreSQL and the minimal server, one client, {big:,d} edges,"
          f" median of {runs} runs each")
    eps = {}
    for who, name in (("fg", "followgate, SQLite"), ("pg", "followgate, PG"), ("min", "minimal server")):
        rs = [r for r in fleet if r["label"] == who]
        eps[who] = med(r["edges_per_s"] for r in rs)
        each = ", ".join(f"{r['edges_per_s'] / 1e6:.2f}" for r in rs)
        print(f"   {name:19s} {eps[who]:>12,.0f} edges/s   {med(r['seconds'] for r in rs):6.3f} s"
              f"   (runs, M edges/s: {each})")
    pg_sqlite = eps["pg"] / eps["fg"]
    print(f"   ratio PostgreSQL/SQLite: {pg_sqlite:.2f}  (target >= 0.80: {'met' if pg_sqlite >= 0.8 else 'NOT met'});"
          f" PostgreSQL/minimal: {eps['pg'] / eps['min']:.2f}; SQLite/minimal: {eps['fg'] / eps['min']:.2f}")
    print()

lag_runs = load("lag.jsonl")
if lag_runs:
    def times(path, column=1):
        out = {}
        for line in open(path):
            fields = line.split()
            if len(fields) > column:
                out.setdefault(int(fields[0]), int(fields[column]))
        return out
    lags, caught_up, per_run = [], 0, []
    b_after_commit, a_after_commit = [], []
    failed = [r for r in lag_runs if "error" in r]
    lag_runs = [r for r in lag_runs if "error" not in r]
    for run in lag_runs:
        a, b = times(run["a"]), times(run["b"])
        # Live on B: A delivered the page after B had delivered the one before,
        # so B was already waiting when the page was committed.
        live = [s for s in sorted(b) if s in a and s - 1 in b and a[s] > b[s - 1]]
        caught_up += len(b) - len(live)
        run_lags = [(b[s] - a[s]) / 1e6 for s in live]
        lags += run_lags
        # Against the commit: microseconds since the epoch from the database.
        commit = times(run["commit"])
        a_rt, b_rt = times(run["a"], 2), times(run["b"], 2)
        b_after_commit += [(b_rt[s] - commit[s] * 1000) / 1e6 for s in live if s in commit]
        a_after_commit += [(a_rt[s] - commit[s] * 1000) / 1e6 for s in live if s in commit]
        per_run.append(f"{len(live)} live, p50 {med(run_lags):.1f} ms" if run_lags else "0 live")
    print(f"6. Commit-to-delivery latency across replicas: A crawls a fresh {lag_pages}-page query"
          f" ({lag_interval} interval), B streams it; {len(lag_runs)} runs")
    for r in failed:
        print(f"   run {r['run']} ({r['followee']}) FAILED: {r['error'][:300]}")
    attempted = len(lag_runs) + len(failed)
    def summary(xs):
        xs = sorted(xs)
        pct = lambda p: xs[min(len(xs) - 1, max(0, -(-len(xs) * p // 100) - 1))]
        return f"p50 {pct(50):.1f} ms, p99 {pct(99):.1f} ms, max {xs[-1]:.1f} ms, min {xs[0]:.1f} ms"
    if lags:
        print(f"   over {len(lags)} pages B received live ({caught_up} caught up on, not counted):")
        if b_after_commit:
            print(f"   B's delivery after the commit  {summary(b_after_commit)}  ({len(b_after_commit)} pages)")
            print(f"   A's delivery after the commit  {summary(a_after_commit)}")
        print(f"   B's delivery minus A's         {summary(lags)}")
    elif lag_runs:
        print(f"   no page reached B live ({caught_up} caught up on)")
    if per_run:
        print(f"   (runs: {'; '.join(per_run)})")
    try:
        req = json.load(open(f"{work}/lag_requests.json"))
        one_crawl = req["b"] == 0 and req["a"] == attempted * lag_pages
        print(f"   LinkedIn requests: A {req['a']}, B {req['b']} (one crawl per query: {attempted * lag_pages} on A,"
              f" none on B: {'yes' if one_crawl else 'NO, B crawled too: the figure is not across replicas'})")
    except (OSError, KeyError, ValueError):
        pass
    print("   commit: pg_xact_commit_timestamp of the page's row (the database's clock, the readers' CLOCK_REALTIME);")
    print("   B minus A: per page, CLOCK_MONOTONIC of one machine; A runs the crawl and wakes its reader in process")
    print()
print("raw results: stream.jsonl, latency.jsonl, memory.jsonl, open_streams.jsonl, fleet_stream.jsonl,"
      " lag.jsonl and lag_*.times (BENCH_KEEP=1 keeps them)", flush=True)
PY
((lag_failed == 0)) || die "figure 6 failed (above)"
log "done"
