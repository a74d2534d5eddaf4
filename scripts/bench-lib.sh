# Shared by scripts/bench.sh and scripts/bench-idle.sh (sourced, not run): a benchmark cluster of
# its own beside anything else on the machine, Patroxy started bare or with the shipped JVM
# options, and the /proc readings the benchmarks report.
#
# The cluster: nodes 127.0.0.(B+i) with B = CLUSTER_ADDR_BASE (21), ZooKeeper and HAProxy on
# 127.0.0.(B-1), everything under PATROXY_CLUSTER_DIR (/tmp/patroxy-bench-cluster); HAProxy on
# :6434 (stats :7301). Patroxy listens on 127.0.0.1: bare on 6433 (stats 7300), shipped options
# on 6435 (stats 7302). None of it collides with run-local.sh's or the integration tests' cluster.

export CLUSTER_ADDR_BASE=${CLUSTER_ADDR_BASE:-21}
export PATROXY_CLUSTER_DIR=${PATROXY_CLUSTER_DIR:-/tmp/patroxy-bench-cluster}
export HAPROXY_PORT=${HAPROXY_PORT:-6434} HAPROXY_STATS_PORT=${HAPROXY_STATS_PORT:-7301}
BENCH_OUT=${BENCH_OUT:-target/bench}
# Patroxy's listening address (and its stats'): another loopback address keeps a run apart from
# others on a shared machine (with another CLUSTER_ADDR_BASE and PATROXY_CLUSTER_DIR)
BENCH_HOST=${BENCH_HOST:-127.0.0.1}
BENCH_JAVA=${BENCH_JAVA:-java}
cluster=patroni/local-cluster.sh
jar=target/quarkus-app/quarkus-run.jar
jvm_options=deploy/jvm.options
zk_addr=127.0.0.$((CLUSTER_ADDR_BASE - 1))
members="postgresql0=127.0.0.$CLUSTER_ADDR_BASE:5432:8008,postgresql1=127.0.0.$((CLUSTER_ADDR_BASE + 1)):5432:8008"
declare -A patroxy_pids=()
patroxy_env=()
CLK_TCK=$(getconf CLK_TCK)

bench_need_root() {
  [[ $(id -u) -eq 0 ]] || { echo "$(basename "$0"): run as root (the cluster runs PostgreSQL as postgres)" >&2; exit 2; }
}

bench_build() {
  if [[ ! -f $jar || -n $(find src pom.xml -newer "$jar" -type f -print -quit) ]]; then
    echo "building Patroxy (./mvnw package -DskipTests)" >&2
    ./mvnw -B -q package -DskipTests
  fi
}

# The machine's load, for the record: figures taken on a busy machine mean little.
load_note() {
  local idle
  # the number before "id," (a field count breaks at 100.0, which top prints as "ni,100.0 id,")
  idle=$(top -bn2 -d 0.5 | grep '^%Cpu' | tail -n1 | sed -E 's/.*[ ,]([0-9.]+) id,.*/\1/')
  printf 'load average %s, cpu idle %s%%' "$(cut -d' ' -f1-3 /proc/loadavg)" "${idle:-?}"
}

# utime + stime of a process and all its threads, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold spaces).
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
thread_count() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
now_ns() { date +%s%N; }

bench_cluster_up() { # BENCH_REUSE_CLUSTER=1: keep a benchmark cluster that is already up
  if [[ ${BENCH_REUSE_CLUSTER:-0} == 1 ]] && $cluster leader >/dev/null 2>&1 && haproxy_pid=$(cat "$PATROXY_CLUSTER_DIR/haproxy/haproxy.pid" 2>/dev/null); then
    leader_ip=$($cluster member-addr "$($cluster leader)")
    return 0
  fi
  $cluster down >/dev/null 2>&1 || true
  $cluster up 2 >/dev/null
  $cluster haproxy-up >/dev/null
  leader_ip=$($cluster member-addr "$($cluster leader)")
  haproxy_pid=$(cat "$PATROXY_CLUSTER_DIR/haproxy/haproxy.pid")
}

# The user the benchmarks log in as, with an md5 password (SCRAM's key stretching would hide what a
# proxy costs per connection); on the leader found by bench_cluster_up.
bench_user() {
  PGPASSWORD=postgres psql -h "$leader_ip" -U postgres -d postgres -qX >/dev/null 2>&1 <<'SQL' || true
CREATE ROLE bench LOGIN;
SET password_encryption = 'md5';
ALTER ROLE bench PASSWORD 'bench';
SQL
}

# pgbench's tables at BENCH_SCALE (10), made once per cluster and readable by the bench user.
bench_data() {
  if ! PGUSER=bench PGPASSWORD=bench psql -h "$leader_ip" -d postgres -Atqc 'select 1 from pgbench_branches limit 1' >/dev/null 2>&1; then
    PGPASSWORD=postgres pgbench -h "$leader_ip" -U postgres -i -q -s "${BENCH_SCALE:-10}" postgres >/dev/null 2>&1
    PGPASSWORD=postgres psql -h "$leader_ip" -U postgres -qX -c 'GRANT ALL ON ALL TABLES IN SCHEMA public TO bench' >/dev/null
  fi
}

bench_cluster_down() {
  $cluster haproxy-down >/dev/null 2>&1 || true
  $cluster down >/dev/null 2>&1 || true
}

# start_patroxy NAME PORT STATS_PORT [JVM OPTION...]: starts Patroxy in front of the benchmark
# cluster (with the VAR=value settings in the array patroxy_env, if any, e.g. its TLS mode) and
# waits until a session is routed through it; started_ms is then the milliseconds from the launch
# to that first routed session, started_cpu_ms the CPU Patroxy had used by then (the steadier
# figure on a busy machine). The pid is in patroxy_pids[NAME], the log under BENCH_OUT.
# Not in a command substitution: it sets these variables in the caller's shell.
start_patroxy() {
  local name=$1 port=$2 stats=$3 t0 i
  shift 3
  # taken on BENCH_HOST itself or on a wildcard address
  if ss -ltnH "sport = :$port" | awk -v h="$BENCH_HOST" '{a = $4; sub(/:[0-9]+$/, "", a)} a == h || a == "[::ffff:" h "]" || a == "0.0.0.0" || a == "*" || a == "[::]" {f = 1} END {exit !f}'; then
    echo "start_patroxy: port $port is taken (a Patroxy left from an earlier run?)" >&2
    return 1
  fi
  t0=$(now_ns)
  env PATROXY_MEMBERS="$members" PATROXY_LISTEN_HOST="$BENCH_HOST" PATROXY_LISTEN_PORT="$port" \
    PATROXY_STATS_HOST="$BENCH_HOST" PATROXY_STATS_PORT="$stats" PATROXY_MAXCONN="${BENCH_MAXCONN:-100}" \
    "${patroxy_env[@]}" \
    "$BENCH_JAVA" "$@" -jar "$jar" >"$BENCH_OUT/$name.log" 2>&1 &
  patroxy_pids[$name]=$!
  for ((i = 0; i < 1500; i++)); do
    if psql -h "$BENCH_HOST" -p "$port" -Atqc 'select 1' >/dev/null 2>&1; then
      started_ms=$((($(now_ns) - t0) / 1000000))
      started_cpu_ms=$(($(cpu_ticks "${patroxy_pids[$name]}") * 1000 / CLK_TCK))
      return 0
    fi
    kill -0 "${patroxy_pids[$name]}" 2>/dev/null || break
    sleep 0.02
  done
  echo "start_patroxy: $name routed no session (see $BENCH_OUT/$name.log)" >&2
  return 1
}

stop_patroxy() {
  local pid=${patroxy_pids[$1]:-}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  unset "patroxy_pids[$1]"
}

stop_all_patroxy() {
  local n
  for n in "${!patroxy_pids[@]}"; do stop_patroxy "$n"; done
}
