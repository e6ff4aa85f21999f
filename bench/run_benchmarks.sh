#!/usr/bin/env bash
# Benchmarks of followgate's serving path from warm snapshots, next to a
# minimal gRPC server that streams the same pages from memory (see
# bench/README.md). Prints its figures; exits non-zero only when something
# failed to run (a ratio below target is reported, not an error).
#
# Usage: bench/run_benchmarks.sh
# Knobs (environment): PHASES="stream latency memory streams" RUNS=5
#   LATENCY_CALLS=200 LATENCY_ROUNDS=3 CLIENTS=200 SLOW_MS=50 BIG=1000000
#   SMALL=250000 WAITING_STREAMS="1000 5000" WAIT_HEARTBEAT=30s WAIT_HOLD=40
#   READY_TIMEOUT=300 SLOW_READERS=1000 SLOW_READER_MS=1000 SLOW_READER_PAGES=30
#   STREAMS_PER_CONNECTION=100 BENCH_BAZEL_SHUTDOWN=1 BENCH_KEEP=0
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS="${RUNS:-5}"
LATENCY_CALLS="${LATENCY_CALLS:-200}"
LATENCY_ROUNDS="${LATENCY_ROUNDS:-3}"
CLIENTS="${CLIENTS:-200}"
SLOW_MS="${SLOW_MS:-50}"
BIG="${BIG:-1000000}"
SMALL="${SMALL:-250000}"
PHASES="${PHASES:-stream latency memory streams}"
WAITING_STREAMS="${WAITING_STREAMS:-1000 5000}"
WAIT_HEARTBEAT="${WAIT_HEARTBEAT:-30s}"
WAIT_HOLD="${WAIT_HOLD:-40}"
READY_TIMEOUT="${READY_TIMEOUT:-300}"
SLOW_READERS="${SLOW_READERS:-1000}"
SLOW_READER_MS="${SLOW_READER_MS:-1000}"
SLOW_READER_PAGES="${SLOW_READER_PAGES:-30}"
STREAMS_PER_CONNECTION="${STREAMS_PER_CONNECTION:-100}"
BIG_PAGE=77
SMALL_PAGE=78
BIG_URN="urn:li:organizationalPage:${BIG_PAGE}"
SMALL_URN="urn:li:organizationalPage:${SMALL_PAGE}"
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

log "starting the sandbox: page ${BIG_PAGE} with ${BIG} members, page ${SMALL_PAGE} with ${SMALL}"
start sandbox "${bin}/followgate_sandbox" --port=0 --token="${TOKEN}" \
  --pages="${BIG_PAGE}:${BIG}:0,${SMALL_PAGE}:${SMALL}:0" --min_interval=0s
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
for spec in "${BIG_URN}:${BIG}" "${SMALL_URN}:${SMALL}"; do
  urn="${spec%:*}"
  log "warming the snapshot of ${urn} (upstream crawl)"
  client --server="${FG}" --followee="${urn}" --label=warm >"${work}/warm.json"
  check_ok "${work}/warm.json"
  edges="$(json "${work}/warm.json" edges)"
  [[ "${edges}" == "${spec##*:}" ]] || die "warm-up of ${urn} read ${edges} edges"
  echo "warm-up ${urn}: ${edges} edges in $(json "${work}/warm.json" seconds) s" \
    "($(json "${work}/warm.json" pages) upstream pages)" >>"${work}/warm.txt"
done

if want stream || want latency; then
  log "starting minimal_follows_server (reads ${BIG_URN} once from followgate)"
  start minimal "${bin}/minimal_follows_server" --host=127.0.0.1 --port=0 --source="${FG}" \
    --followee="${BIG_URN}"
  MIN="127.0.0.1:${minimal_port}"

  # Both must send the same edges.
  client --server="${FG}" --verify >"${work}/verify_fg.json"
  client --server="${MIN}" --verify >"${work}/verify_min.json"
  [[ "$(json "${work}/verify_fg.json" edges_digest)" == "$(json "${work}/verify_min.json" edges_digest)" ]] ||
    die "followgate and the minimal server sent different edges"
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

# ---------------------------------------------------------------- report
"${PY}" - "${work}" "${RUNS}" "${LATENCY_CALLS}" "${LATENCY_ROUNDS}" "${CLIENTS}" "${SLOW_MS}" "${BIG}" \
  "${WAIT_HEARTBEAT}" <<'PY'
import json, statistics, sys
work, runs, calls, rounds, clients, slow_ms, big = sys.argv[1], *map(int, sys.argv[2:8])
heartbeat = sys.argv[8]
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
print("raw results: stream.jsonl, latency.jsonl, memory.jsonl, open_streams.jsonl (BENCH_KEEP=1 keeps them)", flush=True)
PY
log "done"
