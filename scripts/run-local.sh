#!/usr/bin/env bash
# Runs Patroxy for real on this machine: a local Patroni cluster (ZooKeeper 127.0.0.1:2181,
# postgresql0 on 127.0.0.2 and postgresql1 on 127.0.0.3, ports 5432/8008, the seeds' timings)
# with Patroxy in front on 127.0.0.1:5432 and its stats on 127.0.0.1:7000.
# Ctrl-C (or SIGTERM) stops Patroxy and everything the cluster script started.
#   scripts/run-local.sh [NODES]      NODES = 2 (default) or 3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
nodes=${1:-2}
[[ $nodes =~ ^[23]$ ]] || { echo "usage: $0 [2|3]" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run-local.sh: run as root: PostgreSQL is started as the postgres user" >&2; exit 2; }

jar=target/quarkus-app/quarkus-run.jar
if [[ ! -f $jar || -n $(find src pom.xml -newer "$jar" -type f -print -quit) ]]; then
  echo "run-local.sh: building Patroxy (./mvnw package)" >&2
  ./mvnw -B -q package -DskipTests
fi

patroxy_pid=
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $patroxy_pid ]] && kill -0 "$patroxy_pid" 2>/dev/null; then
    kill -TERM "$patroxy_pid" 2>/dev/null || true
    wait "$patroxy_pid" 2>/dev/null || true
  fi
  patroni/local-cluster.sh down || true
}
trap cleanup EXIT INT TERM

patroni/local-cluster.sh up "$nodes"
members=""
for ((i = 0; i < nodes; i++)); do members+="${members:+,}postgresql$i=127.0.0.$((2 + i)):5432:8008"; done

PATROXY_MEMBERS=$members PATROXY_LISTEN_HOST=127.0.0.1 PATROXY_LISTEN_PORT=5432 \
PATROXY_STATS_HOST=127.0.0.1 PATROXY_STATS_PORT=7000 \
  java @deploy/jvm.options -jar "$jar" & # the JVM options every launcher uses
patroxy_pid=$!

cat >&2 <<EOM

  Patroxy is starting in front of the cluster ($members).
  Connect:  PGPASSWORD=postgres psql -h 127.0.0.1 -p 5432 -U postgres
  Stats:    http://127.0.0.1:7000/     Cluster: patroni/local-cluster.sh status
  Try:      patroni/local-cluster.sh kill-leader   (then: patroni/local-cluster.sh start <name>)
  Stop:     Ctrl-C

EOM
wait "$patroxy_pid"
