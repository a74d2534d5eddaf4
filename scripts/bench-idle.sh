#!/usr/bin/env bash
# Patroxy's footprint idle and with many idle sessions, bare (`java -jar`) and with the shipped JVM
# options (deploy/jvm.options), one after the other, on the benchmark cluster (scripts/bench-lib.sh).
# PostgreSQL's max_connections is raised (patronictl edit-config + restart) when it is too low.
# Per variant: start to first routed session, CPU while idle (health checks, timers); then idle, with BENCH_IDLE_SESSIONS sessions open
# (pgbench clients that connect and sleep) and after they are gone: RSS, heap and non-heap in use
# (Patroxy's own /metrics: heap committed, and in use after a full GC), file descriptors, threads; the bytes each session adds; how long the
# sessions took to open, through Patroxy and (for comparison) directly to the leader.
# Writes target/bench/idle-<time>.csv. Asserts nothing.
#   scripts/bench-idle.sh    BENCH_IDLE_SESSIONS (1000), BENCH_IDLE_VARIANTS ("bare shipped"),
#                            BENCH_JVM_<variant> (JVM options of another variant, '-' as '_'),
#                            BENCH_IDLE_DIRECT (1: also open them directly, for the ramp time)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_need_root
n=${BENCH_IDLE_SESSIONS:-1000}
read -r -a variants <<<"${BENCH_IDLE_VARIANTS:-bare shipped}"
export PGUSER=bench PGPASSWORD=bench PGDATABASE=postgres BENCH_MAXCONN=$((n + 10))
mkdir -p "$BENCH_OUT"
csv=$BENCH_OUT/idle-$(date +%Y%m%d-%H%M%S).csv
work=$(mktemp -d /tmp/patroxy-bench-idle.XXXXXX)
bench_build
ulimit -n $((4 * n + 1024)) # pgbench: one descriptor per client

cleanup() {
  trap - EXIT INT TERM
  [[ -n ${load_pid:-} ]] && kill -TERM "$load_pid" 2>/dev/null || true
  stop_all_patroxy
  [[ ${BENCH_KEEP_CLUSTER:-0} == 1 ]] || bench_cluster_down
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "before the run: $(load_note)"
bench_cluster_up
export PGPASSWORD=postgres
bench_user
have=$(psql -h "$leader_ip" -U postgres -Atqc 'show max_connections')
if ((have < n + 50)); then
  echo "raising max_connections from $have to $((n + 100)) (Patroni's dynamic configuration, restart)"
  ctl=(timeout 120 /usr/bin/patronictl -c "$PATROXY_CLUSTER_DIR/patroni.yml")
  "${ctl[@]}" edit-config -q -p max_connections=$((n + 100)) --force >/dev/null
  # the replica first: a standby needs at least the primary's max_connections
  scope=$(sed -n 's/^scope: *//p' "$PATROXY_CLUSTER_DIR/patroni.yml")
  for m in $($cluster members | grep -vx "$($cluster leader)") "$($cluster leader)"; do
    "${ctl[@]}" restart "$scope" "$m" --force >/dev/null
  done
  $cluster wait >/dev/null 2>&1
  leader_ip=$($cluster member-addr "$($cluster leader)")
  echo "max_connections now $(psql -h "$leader_ip" -U postgres -Atqc 'show max_connections')"
fi
export PGPASSWORD=bench
echo '\sleep 1800 s' >"$work/idle.sql" # not 3600 s: that overflows pgbench's microseconds

metric() { # metric STATS_PORT NAME AREA -> bytes of jvm_memory_NAME_bytes{area=AREA} summed over pools
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="^jvm_memory_$2_bytes" -v a="area=\"$3\"" '$0 ~ m && index($0, a) {s += $NF} END {printf "%d", s}'
}
sessions() { curl -s "http://127.0.0.1:$1/stats.json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["frontend"]["current"])' 2>/dev/null || echo 0; }
# reading PID STATS_PORT -> "rss_kb heap_committed_kb heap_live_kb nonheap_kb fds threads": RSS first, then
# a full GC (jcmd GC.run) so that the heap in use is what the sessions keep alive
reading() {
  local rss fds threads committed
  rss=$(rss_kb "$1"); fds=$(fd_count "$1"); threads=$(thread_count "$1"); committed=$(metric "$2" committed heap)
  jcmd "$1" GC.run >/dev/null 2>&1 || true
  echo "$rss $((committed / 1024)) $(($(metric "$2" used heap) / 1024)) $(($(metric "$2" used nonheap) / 1024)) $fds $threads"
}
# open_sessions HOST PORT STATS_PORT|"": opens n sessions; open_s is then the seconds until all were
# open, load_pid the pgbench holding them (not in a command substitution: it sets these variables)
load_pid=
open_sessions() {
  local t0 i open
  t0=$(now_ns)
  (cd "$work" && exec pgbench -h "$1" -p "$2" -n -c "$n" -j 2 -t 1 -f idle.sql >/dev/null 2>&1) &
  load_pid=$!
  for ((i = 0; i < 6000; i++)); do
    if [[ -n $3 ]]; then open=$(sessions "$3"); else
      open=$(PGPASSWORD=postgres psql -h "$leader_ip" -U postgres -Atqc "select count(*) from pg_stat_activity where usename = 'bench'"); fi
    ((open >= n)) && break
    sleep 0.1
  done
  open_s=$(awk -v ns=$(($(now_ns) - t0)) 'BEGIN {printf "%.1f", ns / 1e9}')
}
close_sessions() {
  kill -TERM "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  load_pid=
}

direct_s=-
if [[ ${BENCH_IDLE_DIRECT:-1} == 1 ]]; then
  open_sessions "$leader_ip" 5432 ""
  direct_s=$open_s
  close_sessions
  echo "$n sessions opened directly to the leader in $direct_s s"
  sleep 3
fi

echo "variant,phase,sessions,rss_kb,heap_committed_kb,heap_live_kb,nonheap_kb,fds,threads,startup_ms,open_s,direct_open_s,idle_cpu_pct" >"$csv"
for v in "${variants[@]}"; do
  # JVM options: none for bare, the shipped file for shipped, BENCH_JVM_<variant> for any other (or to override)
  var=BENCH_JVM_${v//-/_}; default=""; [[ $v == shipped ]] && default="@$jvm_options"
  read -r -a opts <<<"${!var-$default}"
  start_patroxy "$v" 6433 7300 "${opts[@]}"
  p=${patroxy_pids[$v]}
  sleep 5
  c0=$(cpu_ticks "$p"); sleep 20; idle_cpu=$(awk -v d=$(($(cpu_ticks "$p") - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", 100 * d / hz / 20}')
  read -r rss committed heap nonheap fds threads < <(reading "$p" 7300)
  echo "$v,idle,0,$rss,$committed,$heap,$nonheap,$fds,$threads,$started_ms,,,$idle_cpu" >>"$csv"
  open_sessions 127.0.0.1 6433 7300
  sleep 5
  open=$(sessions 7300)
  read -r rss committed heap nonheap fds threads < <(reading "$p" 7300)
  echo "$v,open,$open,$rss,$committed,$heap,$nonheap,$fds,$threads,,$open_s,$direct_s" >>"$csv"
  close_sessions
  sleep 5
  read -r rss committed heap nonheap fds threads < <(reading "$p" 7300)
  echo "$v,closed,$(sessions 7300),$rss,$committed,$heap,$nonheap,$fds,$threads,,," >>"$csv"
  stop_patroxy "$v"
  sleep 3
done

echo "after the run: $(load_note)" | tee "$csv.notes"
/usr/bin/python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'variant':8} {'phase':7} {'sessions':>8} {'RSS MiB':>8} {'heap MiB':>9} {'live MiB':>9} {'nonheap':>8} {'fds':>6} {'threads':>7}  notes")
for r in rows:
    note = ''
    if r['phase'] == 'idle':
        note = f"start to first routed session {r['startup_ms']} ms; idle CPU {r['idle_cpu_pct']}% of a core"
        idle = r
    elif r['phase'] == 'open':
        s = int(r['sessions']) or 1
        note = (f"{(int(r['rss_kb']) - int(idle['rss_kb'])) * 1024 / s:,.0f} B RSS and "
                f"{(int(r['heap_live_kb']) - int(idle['heap_live_kb'])) * 1024 / s:,.0f} B live heap per session; opened in "
                f"{r['open_s']} s (directly: {r['direct_open_s']} s)")
    print(f"{r['variant']:8} {r['phase']:7} {r['sessions']:>8} {int(r['rss_kb']) / 1024:8.1f} {int(r['heap_committed_kb']) / 1024:9.1f} {int(r['heap_live_kb']) / 1024:9.1f} "
          f"{int(r['nonheap_kb']) / 1024:8.1f} {r['fds']:>6} {r['threads']:>7}  {note}")
PY
echo "CSV: $csv"
