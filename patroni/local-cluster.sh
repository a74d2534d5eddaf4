#!/usr/bin/env bash
# Runs a REAL Patroni / PostgreSQL 15 / ZooKeeper 3.8 cluster on loopback, from Debian packages
# (Patroni 3.0.2 from Debian 12; PATRONI_MAJOR=4: Patroni 4.0.x from Debian 13's package), with
# the shared configuration patroni/patroni.yml.
# Node i = postgresql<i> at 127.0.0.(B+i): PostgreSQL :5432, Patroni REST API :8008.
# ZooKeeper (and HAProxy) at 127.0.0.(B-1), ZooKeeper on :2181. B = ${CLUSTER_ADDR_BASE:-2}
# (default: nodes 127.0.0.2.., ZooKeeper 127.0.0.1:2181); another B runs a second cluster
# side by side (with its own PATROXY_CLUSTER_DIR). Everything lives under
# ${PATROXY_CLUSTER_DIR:-/tmp/patroxy-cluster}.
# Run as root (PostgreSQL/Patroni are run as the 'postgres' user). Never kills by name:
# only pids from pid files (and their children found via /proc).
#
# This file holds the settings, the usage and the commands; the work is done by the parts in
# patroni/cluster/ it sources:
#   common.sh     settings from cluster.env, the Patroni major, names, addresses, pids, helpers
#   install.sh    Debian packages; Patroni 4 from Debian 13's .deb
#   zookeeper.sh  ZooKeeper: start, stop, read one of Patroni's keys (zk_get.py)
#   nodes.sh      one node: start, wait until it runs, clean stop (patroni_yml.py writes its config)
#   state.sh      leader, healthy, status, timeline (REST API)
#   cluster.sh    up, down, add-node, switchover
#   haproxy.sh    HAProxy beside the cluster
#   faults.sh     kill, freeze, thaw, frozen or stopped ZooKeeper, Patroni alone, partitions,
#                 split brain, heal-split
#   tls.sh        the opt-in TLS cluster (CLUSTER_SSL=1): test CA, node certificates, 'cert'
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARTS="$SCRIPT_DIR/cluster"
PROG="$(basename "$0")"
SHIPPED_YML="$SCRIPT_DIR/patroni.yml"
HAPROXY_TEMPLATE="$SCRIPT_DIR/haproxy.cfg.template"

BASE="${PATROXY_CLUSTER_DIR:-/tmp/patroxy-cluster}"
TTL="${CLUSTER_TTL:-30}"
LOOP_WAIT="${CLUSTER_LOOP_WAIT:-10}"
RETRY_TIMEOUT="${CLUSTER_RETRY_TIMEOUT:-10}"
UP_TIMEOUT="${CLUSTER_UP_TIMEOUT:-120}"
STOP_TIMEOUT="${CLUSTER_STOP_TIMEOUT:-60}"
SUPERUSER_PASSWORD="${PATRONI_SUPERUSER_PASSWORD:-postgres}"
REPLICATION_PASSWORD="${PATRONI_REPLICATION_PASSWORD:-rep-pass}"
REWIND_PASSWORD="${PATRONI_REWIND_PASSWORD:-rewind-pass}"
HAPROXY_PORT="${HAPROXY_PORT:-5433}"
HAPROXY_STATS_PORT="${HAPROXY_STATS_PORT:-7001}"
PATRONI4_HOME="${PATRONI4_HOME:-/opt/patroni4}"
PATRONI4_SUITE="${PATRONI4_SUITE:-trixie}"
# 'up' with no N: a leader and two replicas, what tests of replica roles need (the seeds run 2)
DEFAULT_NODES=3
MAX_NODES=9
# Addresses: set by cluster_setup (environment / cluster.env), as is PATRONI_MAJOR; the defaults.
ADDR_BASE=2
ZK_HOST=127.0.0.1
ZK_PORT=2181
PG_PORT=5432
API_PORT=8008
PG_BIN=/usr/lib/postgresql/15/bin
# Debian's python3 (psycopg2, kazoo, patroni) must win over e.g. a pyenv python3.
SYS_PATH="/usr/bin:/bin:/usr/sbin:/sbin:$PG_BIN"

usage() {
  cat <<USAGE
Usage: $PROG COMMAND [ARGS]
Runs a real Patroni/PostgreSQL 15/ZooKeeper cluster on loopback (node i = postgresql<i>
at 127.0.0.(B+i): PostgreSQL :$PG_PORT, REST API :$API_PORT; ZooKeeper 127.0.0.(B-1):$ZK_PORT;
B = CLUSTER_ADDR_BASE, default 2: nodes 127.0.0.2.., ZooKeeper 127.0.0.1).
Commands:
  install                 apt-get install the missing Debian packages (no service starts);
                          with PATRONI_MAJOR=4 also Patroni 4 into \$PATRONI4_HOME
  up [N]                  start ZooKeeper + N nodes (default $DEFAULT_NODES) and wait until healthy
  add-node                a new member (the next address) joins the running cluster as a
                          replica; waits until healthy; prints its name
  down [--keep]           stop everything started here (pid files only); rm base dir unless --keep
  status                  patronictl list + process liveness
  wait [TIMEOUT]          wait until leader + all running replicas streaming (+ sync standby)
  leader                  print the leader's member name (from the REST API /cluster)
  wait-leader [--not NAME] [TIMEOUT]   wait until a member answers /primary 200; print it
  member-addr NAME        print the member's IP (127.0.0.(B+i))
  members                 print all member names, one per line
  kill-leader | kill NAME hard kill (SIGKILL) Patroni, postmaster and its children
  stop-leader | stop NAME clean stop (SIGTERM Patroni, wait for it and the postmaster)
  start NAME              start a stopped/killed node again and wait until it runs
  freeze NAME | thaw NAME SIGSTOP / SIGCONT Patroni, postmaster and its children
  freeze-patroni NAME | thaw-patroni NAME  SIGSTOP / SIGCONT the Patroni process alone (pid file):
                          its REST API stops answering (checks time out), PostgreSQL keeps serving
  kill-patroni NAME       SIGKILL of Patroni alone: its PostgreSQL goes on running, unmanaged
  start-patroni NAME      Patroni again beside the PostgreSQL kill-patroni left running (adopts it)
  reinit NAME             patronictl reinit: clone a member that does not come back from the leader
  stop-zk | start-zk      stop ZooKeeper (SIGTERM; its data kept) / start it again
  block NAME GID          network partition: drop (nftables, output hook) every packet that
                          sockets of group GID send to NAME's PostgreSQL and REST API ports -
                          connects time out; table inet patroxy_cluster_<B>, installs nftables
  unblock                 delete that table (also done by 'down')
  switchover [CANDIDATE]  patronictl switchover --force (default candidate: sync standby)
  haproxy-up | haproxy-down   HAProxy 2.6 on 127.0.0.(B-1):\$HAPROXY_PORT (stats :\$HAPROXY_STATS_PORT);
                          with HAPROXY_REPLICAS_PORT also Patroni's 'listen replicas' (/replica) there
  logs NAME|zookeeper|haproxy [LINES]  tail a log file
  cert NAME ADDR|DNS:NAME...  (TLS cluster) a certificate from the cluster's test CA for something
                          beside it (Patroxy), SAN = the addresses given; prints the certificate's,
                          the key's and the CA's paths
Split brain (for tests):
  pause | resume          patronictl pause|resume --wait (maintenance mode on/off)
  promote NAME            pg_ctl promote a replica behind Patroni's back (as postgres), wait
                          until pg_is_in_recovery() is false there
  freeze-zk | thaw-zk     SIGSTOP / SIGCONT ZooKeeper (pid file; thaw waits until it answers)
  timeline NAME           the member's timeline (REST API /patroni, else from PostgreSQL)
  http NAME PATH          HTTP status of GET http://<member>:$API_PORT/PATH (000 = no answer)
  heal-split NAME_TO_KEEP end a split brain keeping NAME's data: thaw ZooKeeper, stop the other
                          nodes, NAME takes the leader key, resume, repair the /sync key,
                          start the others (Patroni pg_rewinds them; patronictl reinit as a
                          fallback), wait until healthy. Timings per step on stderr.
  Recipe: up 2; pause; promote postgresql1; freeze-zk -> once Patroni's DCS calls fail (~5 s
  with ttl 10/retry_timeout 4) both members answer /primary 200 (timelines 1 and 2) for as
  long as ZooKeeper stays frozen; heal-split NAME.
  Without heal-split: thaw-zk + resume lets Patroni keep whichever primary grabs the leader key
  first (the other is pg_rewound), but /sync may stay stale: no sync standby until
  synchronous_mode is switched off and on (patronictl edit-config -s synchronous_mode=...).
Environment: PATROXY_CLUSTER_DIR (base dir, default /tmp/patroxy-cluster),
  CLUSTER_ADDR_BASE (2; 2..246): nodes at 127.0.0.(B+i), ZooKeeper/HAProxy at 127.0.0.(B-1).
    'up' records it in the base dir, later commands use that (a different value is an error).
    Second cluster beside the default one, e.g.: CLUSTER_ADDR_BASE=21
    PATROXY_CLUSTER_DIR=/tmp/patroxy-sb HAPROXY_PORT=5533 HAPROXY_STATS_PORT=7201 (ZooKeeper
    127.0.0.20:2181, nodes 127.0.0.21..; every port is bound on the cluster's own addresses),
  CLUSTER_SSL (0 or 1; 0): 1 = a TLS cluster: a test CA and a certificate per node (SAN = its
    address) under \$BASE/tls, made with openssl; ssl = on, pg_hba 'hostssl' only over TCP (clients,
    replication and pg_rewind), Patroni's own connections sslmode=verify-full. Recorded by 'up'.
  PATRONI_MAJOR (3 or 4; 3): 3 = Debian 12's Patroni 3.0.2; 4 = Debian 13 (trixie)'s Patroni
    4.0.x, unpacked from its .deb into PATRONI4_HOME (/opt/patroni4) by 'install' or 'up'
    (no apt source of the machine is changed; PATRONI4_SUITE, trixie) and run on Debian 12's
    python3. Recorded by 'up' like CLUSTER_ADDR_BASE.
  CLUSTER_TTL/CLUSTER_LOOP_WAIT/CLUSTER_RETRY_TIMEOUT (30/10/10; need loop_wait+2*retry_timeout<=ttl),
  CLUSTER_UP_TIMEOUT (120 s), CLUSTER_STOP_TIMEOUT (60 s), HAPROXY_PORT (5433), HAPROXY_STATS_PORT (7001), HAPROXY_REPLICAS_PORT (unset),
  PATRONI_SUPERUSER_PASSWORD (postgres), PATRONI_REPLICATION_PASSWORD (rep-pass),
  PATRONI_REWIND_PASSWORD (rewind-pass), CLUSTER_PROMOTE_TIMEOUT (60 s), PATRONICTL_TIMEOUT (60 s).
USAGE
}

# shellcheck source=cluster/common.sh
source "$PARTS/common.sh"
# shellcheck source=cluster/install.sh
source "$PARTS/install.sh"
# shellcheck source=cluster/zookeeper.sh
source "$PARTS/zookeeper.sh"
# shellcheck source=cluster/nodes.sh
source "$PARTS/nodes.sh"
# shellcheck source=cluster/state.sh
source "$PARTS/state.sh"
# shellcheck source=cluster/cluster.sh
source "$PARTS/cluster.sh"
# shellcheck source=cluster/haproxy.sh
source "$PARTS/haproxy.sh"
# shellcheck source=cluster/faults.sh
source "$PARTS/faults.sh"
# shellcheck source=cluster/tls.sh
source "$PARTS/tls.sh"

need_name() { [[ $# -ge 2 ]] || die "$1: NAME required"; }

main() {
  local cmd=${1:-help} i n; shift || true
  case $cmd in help | -h | --help) ;; *) cluster_setup "$cmd" ;; esac
  case $cmd in
    install) cmd_install ;;
    up) cmd_up "$@" ;;
    add-node) cmd_add_node ;;
    down) cmd_down "$@" ;;
    status) print_status ;;
    wait) wait_healthy "${1:-$UP_TIMEOUT}"; log "cluster healthy" ;;
    leader) node_count >/dev/null; current_leader || die "no leader found" ;;
    wait-leader) cmd_wait_leader "$@" ;;
    member-addr) need_name "$cmd" "$@"; i=$(node_index "$1"); node_ip "$i" ;;
    members) n=$(node_count); for ((i = 0; i < n; i++)); do node_name "$i"; done ;;
    kill-leader) need_root; i=$(resolve_target leader); kill_node "$i"; node_name "$i" ;;
    kill) need_root; need_name "$cmd" "$@"; i=$(resolve_target "$1"); kill_node "$i" ;;
    stop-leader) need_root; i=$(resolve_target leader); stop_node "$i"; node_name "$i" ;;
    stop) need_root; need_name "$cmd" "$@"; i=$(resolve_target "$1"); stop_node "$i" ;;
    start) cmd_start "$@" ;;
    freeze) need_root; need_name "$cmd" "$@"; i=$(resolve_target "$1"); freeze_node "$i" ;;
    thaw) need_root; need_name "$cmd" "$@"; i=$(node_index "$1"); thaw_node "$i" ;;
    kill-patroni) need_root; need_name "$cmd" "$@"; i=$(resolve_target "$1"); kill_patroni "$i" ;;
    start-patroni) cmd_start_patroni "$@" ;;
    reinit) cmd_reinit "$@" ;;
    stop-zk) cmd_stop_zk ;;
    start-zk) cmd_start_zk ;;
    block) cmd_block "$@" ;;
    unblock) cmd_unblock ;;
    freeze-patroni) need_root; need_name "$cmd" "$@"; i=$(node_index "$1"); freeze_patroni "$i" ;;
    thaw-patroni) need_root; need_name "$cmd" "$@"; i=$(node_index "$1"); thaw_patroni "$i" ;;
    switchover) cmd_switchover "$@" ;;
    pause | resume) cmd_pause_resume "$cmd" ;;
    promote) cmd_promote "$@" ;;
    freeze-zk) cmd_freeze_zk ;;
    thaw-zk) cmd_thaw_zk ;;
    timeline) cmd_timeline "$@" ;;
    http) cmd_http "$@" ;;
    heal-split) cmd_heal_split "$@" ;;
    haproxy-up) cmd_haproxy_up ;;
    haproxy-down) cmd_haproxy_down ;;
    cert) cmd_cert "$@" ;;
    logs)
      [[ $# -ge 1 ]] || die "logs: NAME|zookeeper|haproxy required"
      case $1 in
        zookeeper) tail -n "${2:-50}" "$BASE/zookeeper/zookeeper.log" ;;
        haproxy) tail -n "${2:-50}" "$BASE/haproxy/haproxy.log" ;;
        *) i=$(node_index "$1"); tail -n "${2:-50}" "$(node_dir "$i")/patroni.log" ;;
      esac ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
