#!/usr/bin/env bash
# Churn and idle scale through Patroxy, on a cluster of its own, with pass/fail checks:
#   1. CHURN_CONNECTIONS (10,000) connections opened and closed (pgbench -C, an md5 login and a
#      SELECT each), none failing;
#   2. CHURN_IDLE (2,000) idle sessions held at once, with PATROXY_MAXCONN = CHURN_IDLE: one more
#      client is refused with PostgreSQL's own error (psql prints it), the held ones unharmed;
#   3. after each, Patroxy's file descriptors, threads and live heap (after a full GC) return to
#      their baseline (taken after a warm-up), and no session is left open.
# PostgreSQL's max_connections is raised through Patroni (edit-config + restart) for the idle sessions.
# Exits non-zero when a check fails. Figures: target/churn/churn-<time>.txt (docs/reliability.md).
#   scripts/churn.sh    CHURN_CONNECTIONS (10000), CHURN_IDLE (2000), CHURN_CLIENTS (8, pgbench -C clients),
#                       CHURN_KEEP_CLUSTER=1 (leave the cluster up), CHURN_JVM (JVM options; default: deploy/jvm.options
#                       with -Xmx256m, as docs/deploy.md advises for thousands of sessions)
# Its cluster: CLUSTER_ADDR_BASE (81), PATROXY_CLUSTER_DIR (/tmp/patroxy-it-soak); Patroxy on 127.0.0.1:6533, stats 7500.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CLUSTER_ADDR_BASE=${CLUSTER_ADDR_BASE:-81}
export PATROXY_CLUSTER_DIR=${PATROXY_CLUSTER_DIR:-/tmp/patroxy-it-soak}
export HAPROXY_PORT=${HAPROXY_PORT:-6534} HAPROXY_STATS_PORT=${HAPROXY_STATS_PORT:-7501}
export BENCH_OUT=${BENCH_OUT:-target/churn}
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_need_root
conns=${CHURN_CONNECTIONS:-10000}
idle=${CHURN_IDLE:-2000}
clients=${CHURN_CLIENTS:-8}
port=6533 stats=7500
export PGUSER=bench PGPASSWORD=bench PGDATABASE=postgres BENCH_MAXCONN=$idle
mkdir -p "$BENCH_OUT"
out=$BENCH_OUT/churn-$(date +%Y%m%d-%H%M%S).txt
work=$(mktemp -d /tmp/patroxy-churn.XXXXXX)
failures=0
bench_build
ulimit -n $((4 * idle + 4096)) # pgbench holds one descriptor per client; Patroxy two per session

cleanup() {
  trap - EXIT INT TERM
  [[ -n ${load_pid:-} ]] && kill -TERM "$load_pid" 2>/dev/null || true
  stop_all_patroxy
  [[ ${CHURN_KEEP_CLUSTER:-0} == 1 ]] || bench_cluster_down
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
say() { echo "$*" | tee -a "$out"; }
check() { # check WHAT OK(0/1) DETAIL
  if [[ $2 == 1 ]]; then say "PASS $1: $3"; else say "FAIL $1: $3"; failures=$((failures + 1)); fi
}

say "churn.sh $(date -u +%FT%TZ): $conns connections opened and closed, $idle idle sessions; $(load_note)"
bench_cluster_up
export PGPASSWORD=postgres
psql -h "$leader_ip" -U postgres -qX >/dev/null 2>&1 <<'SQL' || true
CREATE ROLE bench LOGIN;
SET password_encryption = 'md5';
ALTER ROLE bench PASSWORD 'bench';
SQL
want=$((idle + 100))
have=$(psql -h "$leader_ip" -U postgres -Atqc 'show max_connections')
if ((have < want)); then
  say "raising PostgreSQL's max_connections from $have to $want (Patroni's dynamic configuration, restart)"
  ctl=(timeout 300 /usr/bin/patronictl -c "$PATROXY_CLUSTER_DIR/patroni.yml")
  "${ctl[@]}" edit-config -q -p max_connections=$want --force >/dev/null
  scope=$(sed -n 's/^scope: *//p' "$PATROXY_CLUSTER_DIR/patroni.yml")
  for m in $($cluster members | grep -vx "$($cluster leader)") "$($cluster leader)"; do # the replica first
    "${ctl[@]}" restart "$scope" "$m" --force >/dev/null
  done
  $cluster wait >/dev/null 2>&1
  leader_ip=$($cluster member-addr "$($cluster leader)")
fi
export PGPASSWORD=bench
echo 'SELECT 1;' >"$work/select1.sql"
echo '\sleep 1800 s' >"$work/idle.sql"

metric() { curl -s "http://127.0.0.1:$stats/metrics" | awk -v m="^$1" -v f="$2" '$0 ~ m && index($0, f) {s += $NF} END {printf "%d", s}'; }
open_sessions() { curl -s "http://127.0.0.1:$stats/stats.json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["frontend"]["current"])' 2>/dev/null || echo -1; }
# reading -> "fds threads heap_live_kb rss_kb": a full GC first, so the heap is what is kept alive
reading() {
  jcmd "$pid" GC.run >/dev/null 2>&1 || true
  echo "$(fd_count "$pid") $(thread_count "$pid") $(($(metric jvm_memory_used_bytes 'area="heap"') / 1024)) $(rss_kb "$pid")"
}
settle() { # waits until no session is open (at most 60 s)
  local i
  for ((i = 0; i < 600; i++)); do (($(open_sessions) == 0)) && return 0; sleep 0.1; done
  return 1
}
compare() { # compare PHASE: the reading now against the baseline
  local f t h r
  settle || check "$1: sessions closed" 0 "$(open_sessions) still open after 60 s"
  sleep 2
  read -r f t h r < <(reading)
  say "  $1: fds $f, threads $t, live heap $((h / 1024)) MiB, RSS $((r / 1024)) MiB"
  check "$1: file descriptors back to the baseline" $((f <= base_fds + 4)) "$f (baseline $base_fds)"
  check "$1: threads back to the baseline" $((t <= base_threads + 2)) "$t (baseline $base_threads)"
  check "$1: live heap back to the baseline" $((h <= base_heap + 4096)) "$((h / 1024)) MiB (baseline $((base_heap / 1024)) MiB, 4 MiB allowed)"
}

read -r -a jvm <<<"${CHURN_JVM:-@$jvm_options -Xmx256m}"
start_patroxy churn "$port" "$stats" "${jvm[@]}"
pid=${patroxy_pids[churn]}
# warm-up: the first connections load classes, start the stats server's threads, size the pools
(cd "$work" && pgbench -h 127.0.0.1 -p "$port" -n -C -c 4 -j 2 -t 100 -f select1.sql >/dev/null 2>&1)
curl -s "http://127.0.0.1:$stats/metrics" >/dev/null
settle
sleep 2
read -r base_fds base_threads base_heap base_rss < <(reading)
say "  baseline (after a warm-up of 400 connections): fds $base_fds, threads $base_threads, live heap $((base_heap / 1024)) MiB, RSS $((base_rss / 1024)) MiB"

# 1. churn
refused0=$(metric patroxy_refused_connections_total '')
t0=$(now_ns)
if (cd "$work" && pgbench -h 127.0.0.1 -p "$port" -n -C -c "$clients" -j 2 -t $((conns / clients)) -f select1.sql >"$work/churn.out" 2>&1); then ok=1; else ok=0; fi
secs=$(awk -v ns=$(($(now_ns) - t0)) 'BEGIN {printf "%.1f", ns / 1e9}')
done_tx=$(awk '/number of transactions actually processed/ {split($NF, a, "/"); print a[1]}' "$work/churn.out")
failed_tx=$(awk '/number of failed transactions/ {print $5}' "$work/churn.out")
check "churn: $((conns / clients * clients)) connections opened and closed" $((ok == 1 && ${done_tx:-0} == conns / clients * clients)) \
  "${done_tx:-0} done, ${failed_tx:-?} failed, in $secs s ($(awk -v n="${done_tx:-0}" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') connections/s)"
compare "after the churn"

# 2. idle sessions, maxconn full
t0=$(now_ns)
(cd "$work" && exec pgbench -h 127.0.0.1 -p "$port" -n -c "$idle" -j 2 -t 1 -f idle.sql >"$work/idle.out" 2>&1) &
load_pid=$!
for ((i = 0; i < 3000; i++)); do (($(open_sessions) >= idle)) && break; kill -0 "$load_pid" 2>/dev/null || break; sleep 0.2; done
open=$(open_sessions)
secs=$(awk -v ns=$(($(now_ns) - t0)) 'BEGIN {printf "%.1f", ns / 1e9}')
check "idle: $idle sessions held" $((open == idle)) "$open open after $secs s"
read -r f t h r < <(reading)
say "  with $open idle sessions: fds $f, threads $t, live heap $((h / 1024)) MiB, RSS $((r / 1024)) MiB ($(((r - base_rss) * 1024 / (open > 0 ? open : 1))) B RSS and $(((h - base_heap) * 1024 / (open > 0 ? open : 1))) B heap per session)"
if refusal=$(psql -h 127.0.0.1 -p "$port" -Atc 'select 1' 2>&1); then refused=0; else refused=1; fi
say "  psql with maxconn full: $refusal"
check "maxconn: one more client is refused with PostgreSQL's error" \
  "$((refused == 1 && $(grep -c "FATAL:  sorry, too many clients already: Patroxy's maxconn of $idle is reached" <<<"$refusal") == 1))" "exit $refused"
check "maxconn: the held sessions are unharmed" "$(( $(open_sessions) == idle && $(kill -0 "$load_pid" 2>/dev/null && echo 1 || echo 0) ))" "$(open_sessions) open"
kill -TERM "$load_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true
load_pid=
compare "after the idle sessions"
refused1=$(metric patroxy_refused_connections_total '')
say "  refused for maxconn, counted: $((refused1 - refused0))"

say "$(load_note)"
if ((failures > 0)); then say "churn.sh: $failures check(s) FAILED (figures: $out)"; exit 1; fi
say "churn.sh: every check passed (figures: $out)"
