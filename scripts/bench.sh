#!/usr/bin/env bash
# Speed and memory of Patroxy beside HAProxy 2.6 (the seeds' config) and a direct connection, in one
# run, on the real local cluster: pgbench select-only, with persistent connections and with a new
# connection per transaction (-C), the three targets interleaved round by round. Prints medians and
# ratios, and the resident memory of Patroxy and HAProxy after the load. Asserts nothing.
#   scripts/bench.sh            BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CLIENTS (8)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $(id -u) -eq 0 ]] || { echo "bench.sh: run as root (the cluster runs PostgreSQL as postgres)" >&2; exit 2; }
rounds=${BENCH_ROUNDS:-3}; secs=${BENCH_SECONDS:-10}; clients=${BENCH_CLIENTS:-8}
export PATROXY_CLUSTER_DIR=${PATROXY_CLUSTER_DIR:-/tmp/patroxy-bench-cluster} HAPROXY_PORT=5433 HAPROXY_STATS_PORT=7001
export PGPASSWORD=postgres PGUSER=postgres PGDATABASE=postgres
cluster=patroni/local-cluster.sh
jar=target/quarkus-app/quarkus-run.jar
[[ -f $jar ]] || ./mvnw -B -q package -DskipTests

patroxy_pid=
cleanup() {
  [[ -n $patroxy_pid ]] && kill -TERM "$patroxy_pid" 2>/dev/null && wait "$patroxy_pid" 2>/dev/null || true
  $cluster haproxy-down >/dev/null 2>&1 || true
  $cluster down >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

$cluster up 2 >/dev/null
$cluster haproxy-up >/dev/null
PATROXY_MEMBERS=postgresql0=127.0.0.2:5432:8008,postgresql1=127.0.0.3:5432:8008 PATROXY_LISTEN_HOST=127.0.0.1 \
PATROXY_LISTEN_PORT=6433 PATROXY_STATS_HOST=127.0.0.1 PATROXY_STATS_PORT=7300 PATROXY_MAXCONN=200 \
  java -Xms64m -Xmx256m -jar "$jar" >target/bench-patroxy.log 2>&1 &
patroxy_pid=$!
for _ in $(seq 1 120); do psql -h 127.0.0.1 -p 6433 -Atc 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
leader_ip=$($cluster member-addr "$($cluster leader)")
pgbench -h "$leader_ip" -i -q -s 10 >/dev/null 2>&1

declare -A host=([direct]=$leader_ip [haproxy]=127.0.0.1 [patroxy]=127.0.0.1)
declare -A port=([direct]=5432 [haproxy]=5433 [patroxy]=6433)
declare -A tps lat
order=(direct haproxy patroxy)
for mode in persistent connect; do
  flag=""; [[ $mode == connect ]] && flag="-C"
  for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < 3; k++)); do
      t=${order[$(((r + k) % 3))]} # rotate who goes first, so no target always runs on a warmer machine
      out=$(pgbench -h "${host[$t]}" -p "${port[$t]}" -S -n $flag -c "$clients" -j 2 -T "$secs" 2>&1)
      tps[$mode,$t]+="$(grep -oP 'tps = \K[0-9.]+' <<<"$out" | head -1) "
      lat[$mode,$t]+="$(grep -oP 'latency average = \K[0-9.]+' <<<"$out") "
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "pgbench -S, $clients clients, ${secs}s x $rounds rounds per target, interleaved (medians)"
printf '%-11s %-8s %12s %12s %14s %14s\n' mode target tps latency_ms tps/direct tps/haproxy
for mode in persistent connect; do
  d=$(median <<<"${tps[$mode,direct]}"); h=$(median <<<"${tps[$mode,haproxy]}")
  for t in direct haproxy patroxy; do
    v=$(median <<<"${tps[$mode,$t]}"); l=$(median <<<"${lat[$mode,$t]}")
    printf '%-11s %-8s %12.0f %12.3f %14.3f %14.3f\n' "$mode" "$t" "$v" "$l" "$(bc -l <<<"$v/$d")" "$(bc -l <<<"$v/$h")"
  done
done
hpid=$(cat "$PATROXY_CLUSTER_DIR/haproxy/haproxy.pid")
printf 'resident memory after the load: patroxy %s KiB, haproxy %s KiB\n' \
  "$(ps -o rss= -p "$patroxy_pid" | tr -d ' ')" "$(ps -o rss= -p "$hpid" | tr -d ' ')"
