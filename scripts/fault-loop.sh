#!/usr/bin/env bash
# The fault loop (issue 15): CYCLES faults in a row (20 by default) on a real two-node cluster
# (patroni/local-cluster.sh), each done to the leader of the moment, under continuous clients
# through Patroxy (a writer on a kept connection, a writer with a new connection per write, a
# reader): SIGKILL of the leader, SIGSTOP of the leader, a clean stop, Patroni alone killed
# (PostgreSQL left running), ZooKeeper stopped for longer than the ttl, a partition between
# Patroxy and the leader (nftables drops what Patroxy sends to it), a switchover - in turn.
# Each cycle is checked (every acknowledged write on the leader, none by a former leader, no
# session left on a member down or no longer leading past fall x (timeout + interval)) and
# measured (write gap, new leader's 200 -> first routed write); a table and the totals are
# printed and kept under target/fault-loop/. The driver is FaultLoopIT (src/test/java/io/patroxy/it),
# run by Maven's failsafe; CI runs it with 3 cycles.
#
# Usage: scripts/fault-loop.sh [CYCLES]      (as root; Debian, like scripts/test.sh)
# Environment: FAULTS (all; or e.g. kill,partition,switchover), CLUSTER_ADDR_BASE (31: nodes at
#   127.0.0.32/33, ZooKeeper and Patroxy at 127.0.0.31), PATROXY_CLUSTER_DIR (/tmp/patroxy-fault-loop),
#   PATRONI_MAJOR (3; 4: Debian 13's Patroni 4), MVN_OFFLINE (1: ./mvnw -o).
# Everything it starts is stopped on exit (by pid; the cluster by its pid files; the nftables table
# of the partition with it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CYCLES=${1:-20}
FAULTS=${FAULTS:-all}
ADDR_BASE=${CLUSTER_ADDR_BASE:-31}
CLUSTER_DIR=${PATROXY_CLUSTER_DIR:-/tmp/patroxy-fault-loop}
MAJOR=${PATRONI_MAJOR:-3}
OUT=target/fault-loop
LOG=$OUT/fault-loop-$(date -u +%Y%m%dT%H%M%SZ).log

die() { echo "fault-loop.sh: ERROR: $*" >&2; exit 1; }
[[ $CYCLES =~ ^[1-9][0-9]*$ ]] || die "CYCLES must be a positive integer (got '$CYCLES')"
[[ $(id -u) -eq 0 ]] || die "run as root (the cluster runs PostgreSQL and Patroni as 'postgres'; a partition needs nftables)"
# the partition needs nft: install Debian's nftables now (with the cluster's packages), or stop here
PATRONI_MAJOR=$MAJOR PATROXY_CLUSTER_DIR=$CLUSTER_DIR patroni/local-cluster.sh install
command -v nft >/dev/null || die "nft (Debian's nftables) is missing and could not be installed"
nft list tables >/dev/null || die "nft does not work here (no nf_tables in this kernel?)"

mkdir -p "$OUT"
mvn_pid=""
cleanup() {
  local rc=$?
  if [[ -n $mvn_pid ]] && kill -0 "$mvn_pid" 2>/dev/null; then
    kill -TERM "$mvn_pid" 2>/dev/null || true   # failsafe's fork then ends, and with it Patroxy (its shutdown hook)
    wait "$mvn_pid" 2>/dev/null || true
  fi
  # a Patroxy left behind by a fork that was killed: the java on the loop's port, started from this tree's jar
  local p
  for p in $(ss -ltnpH "src 127.0.0.$((ADDR_BASE - 1)):6440" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "$PWD/target/quarkus-app/quarkus-run.jar"; then kill -KILL "$p" || true; fi
  done
  # Patroni's and ZooKeeper's logs are kept beside the table, then the cluster goes (and the partition's table with it)
  if [[ -d $CLUSTER_DIR ]]; then
    mkdir -p "$LOG.cluster"
    for p in "$CLUSTER_DIR"/postgresql*/patroni.log "$CLUSTER_DIR"/zookeeper/zookeeper.log; do
      [[ -f $p ]] && cp "$p" "$LOG.cluster/$(basename "$(dirname "$p")").log"
    done
  fi
  PATROXY_CLUSTER_DIR=$CLUSTER_DIR CLUSTER_ADDR_BASE=$ADDR_BASE patroni/local-cluster.sh down >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

offline=(); [[ ${MVN_OFFLINE:-1} == 1 ]] && offline=(-o)
echo "fault-loop.sh: $CYCLES cycles of $FAULTS on 127.0.0.$((ADDR_BASE + 1)).. ($CLUSTER_DIR), Patroni $MAJOR; log $LOG"
./mvnw -B "${offline[@]}" verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=FaultLoopIT \
  -Dpatroni4.skip=true -Dpatroxy.faults.cycles="$CYCLES" -Dpatroxy.faults="$FAULTS" -Dpatroxy.it.patroni="$MAJOR" \
  -Dpatroxy.it.addr-base="$ADDR_BASE" -Dpatroxy.it.cluster-dir="$CLUSTER_DIR" >"$LOG" 2>&1 &
mvn_pid=$!
tail -n +1 -f --pid="$mvn_pid" "$LOG" | grep --line-buffered -E '^(FAULTLOOP|FIGURES)' || true
rc=0; wait "$mvn_pid" || rc=$?
mvn_pid=""
# the table once more, alone (the last header and the rows after it) with the totals
awk '/^FAULTLOOP +# /{ buf = "" } /^FAULTLOOP/{ buf = buf $0 "\n" } /^FIGURES fault loop:/{ tot = $0 } END { printf "%s%s\n", buf, tot }' \
  "$LOG" >"$OUT/table.txt"
echo; cat "$OUT/table.txt"
((rc == 0)) || die "the fault loop failed (exit $rc); see $LOG, the cluster's logs in $LOG.cluster/ and target/failsafe-reports"
echo "fault-loop.sh: passed; table in $OUT/table.txt"
