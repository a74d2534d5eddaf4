#!/usr/bin/env bash
# Runs a REAL Patroni 3.0.2 / PostgreSQL 15 / ZooKeeper 3.8 cluster on loopback, from
# Debian bookworm packages, with the shared configuration patroni/patroni.yml.
# Node i = postgresql<i> at 127.0.0.(B+i): PostgreSQL :5432, Patroni REST API :8008.
# ZooKeeper (and HAProxy) at 127.0.0.(B-1), ZooKeeper on :2181. B = ${CLUSTER_ADDR_BASE:-2}
# (default: nodes 127.0.0.2.., ZooKeeper 127.0.0.1:2181); another B runs a second cluster
# side by side (with its own PATROXY_CLUSTER_DIR). Everything lives under
# ${PATROXY_CLUSTER_DIR:-/tmp/patroxy-cluster}.
# Run as root (PostgreSQL/Patroni are run as the 'postgres' user). Never kills by name:
# only pids from pid files (and their children found via /proc).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
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
# Addresses: set by addr_setup (CLUSTER_ADDR_BASE / cluster.env); these are the defaults.
ADDR_BASE=2
ZK_HOST=127.0.0.1
ZK_PORT=2181
PG_PORT=5432
API_PORT=8008
PG_BIN=/usr/lib/postgresql/15/bin
PATRONI=/usr/bin/patroni
PATRONICTL=/usr/bin/patronictl
# Debian's python3 (psycopg2, kazoo, patroni) must win over e.g. a pyenv python3.
SYS_PATH="/usr/bin:/bin:/usr/sbin:/sbin:$PG_BIN"
PACKAGES=(postgresql-15 postgresql-client-15 patroni zookeeper python3-kazoo python3-psycopg2
          python3-yaml haproxy curl jq procps util-linux)

usage() {
  cat <<EOF
Usage: $PROG COMMAND [ARGS]
Runs a real Patroni/PostgreSQL 15/ZooKeeper cluster on loopback (node i = postgresql<i>
at 127.0.0.(B+i): PostgreSQL :$PG_PORT, REST API :$API_PORT; ZooKeeper 127.0.0.(B-1):$ZK_PORT;
B = CLUSTER_ADDR_BASE, default 2: nodes 127.0.0.2.., ZooKeeper 127.0.0.1).
Commands:
  install                 apt-get install the missing Debian packages (no service starts)
  up [N]                  start ZooKeeper + N nodes (default 2) and wait until healthy
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
  switchover [CANDIDATE]  patronictl switchover --force (default candidate: sync standby)
  haproxy-up | haproxy-down   HAProxy 2.6 on 127.0.0.(B-1):\$HAPROXY_PORT (stats :\$HAPROXY_STATS_PORT)
  logs NAME|zookeeper|haproxy [LINES]  tail a log file
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
  CLUSTER_TTL/CLUSTER_LOOP_WAIT/CLUSTER_RETRY_TIMEOUT (30/10/10; need loop_wait+2*retry_timeout<=ttl),
  CLUSTER_UP_TIMEOUT (120 s), CLUSTER_STOP_TIMEOUT (60 s), HAPROXY_PORT (5433), HAPROXY_STATS_PORT (7001),
  PATRONI_SUPERUSER_PASSWORD (postgres), PATRONI_REPLICATION_PASSWORD (rep-pass),
  PATRONI_REWIND_PASSWORD (rewind-pass), CLUSTER_PROMOTE_TIMEOUT (60 s), PATRONICTL_TIMEOUT (60 s).
EOF
}

log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers
# Starts "$@" detached (own session, no inherited terminal/pipes); the process writes its own
# pid ($1) before exec, so the pid file holds the real pid whatever setsid does.
# shellcheck disable=SC2016
DETACH=(setsid -f bash -c 'echo $$ >"$1"; shift; exec "$@"' _)
# ADDR_BASE (node i at 127.0.0.(ADDR_BASE+i)) and ZK_HOST (127.0.0.(ADDR_BASE-1), also HAProxy's
# bind address): CLUSTER_ADDR_BASE, else the value recorded in $BASE/cluster.env by 'up', else 2.
# A CLUSTER_ADDR_BASE that contradicts the recorded one is an error (except for up/down).
addr_setup() { # addr_setup COMMAND
  local cmd=$1 env=${CLUSTER_ADDR_BASE:-} stored=""
  if [[ -f $BASE/cluster.env ]]; then
    stored=$(sed -n 's/^ADDR_BASE=//p' "$BASE/cluster.env")
    [[ -n $stored ]] || stored=2   # cluster.env written before CLUSTER_ADDR_BASE existed
    is_uint "$stored" || die "corrupt ADDR_BASE in $BASE/cluster.env"
  fi
  if [[ -n $env ]]; then
    { is_uint "$env" && ((env >= 2 && env <= 246)); } || die "CLUSTER_ADDR_BASE must be an integer 2..246 (got '$env')"
    if [[ -n $stored && $env != "$stored" && $cmd != up && $cmd != down ]]; then
      die "$BASE holds a cluster started with CLUSTER_ADDR_BASE=$stored, not $env (unset it or set PATROXY_CLUSTER_DIR)"
    fi
    ADDR_BASE=$env
    [[ $cmd != down || -z $stored ]] || ADDR_BASE=$stored
  else
    ADDR_BASE=${stored:-2}
  fi
  ZK_HOST="127.0.0.$((ADDR_BASE - 1))"
}
need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (PostgreSQL/Patroni are started as 'postgres')"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

node_count() {
  [[ -f $BASE/cluster.env ]] || die "no cluster in $BASE (run '$PROG up' first)"
  local n; n=$(sed -n 's/^NODES=//p' "$BASE/cluster.env")
  is_uint "$n" || die "corrupt $BASE/cluster.env"
  echo "$n"
}
node_name() { echo "postgresql$1"; }
node_ip() { echo "127.0.0.$((ADDR_BASE + $1))"; }
node_dir() { echo "$BASE/$(node_name "$1")"; }
# NAME -> index; dies on unknown names
node_index() {
  local name=$1 n
  [[ $name =~ ^postgresql([0-9]+)$ ]] || die "unknown member '$name' (expected postgresql0..)"
  n=$(node_count) || exit 1
  (( BASH_REMATCH[1] < n )) || die "unknown member '$name' (cluster has $n nodes)"
  echo "${BASH_REMATCH[1]}"
}

read_pidfile() { # prints the pid if the file holds one
  local f=$1 p
  [[ -f $f ]] || return 1
  p=$(head -n1 "$f" 2>/dev/null | tr -d '[:space:]')
  is_uint "$p" || return 1
  echo "$p"
}
# alive PID [CMDLINE_SUBSTRING]: running (not a zombie) and its cmdline contains the string
alive() {
  local pid=$1 want=${2:-} state cmd
  [[ -d /proc/$pid ]] || return 1
  state=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ $state != Z && -n $state ]] || return 1
  if [[ -n $want ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$want"* ]] || return 1
  fi
}
stopped() { [[ $(awk '/^State:/{print $2}' "/proc/$1/status" 2>/dev/null) == T ]]; }
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }

zk_pid() { local p; p=$(read_pidfile "$BASE/zookeeper/zookeeper.pid") && alive "$p" ZooKeeperServerMain && echo "$p"; }
patroni_pid() { local p d; d=$(node_dir "$1"); p=$(read_pidfile "$d/patroni.pid") && alive "$p" "$d/patroni.yml" && echo "$p"; }
postmaster_pid() { local p d; d=$(node_dir "$1"); p=$(read_pidfile "$d/data/postmaster.pid") && alive "$p" "$d/data" && echo "$p"; }
haproxy_pid() { local p; p=$(read_pidfile "$BASE/haproxy/haproxy.pid") && alive "$p" "$BASE/haproxy/haproxy.cfg" && echo "$p"; }

# all pids of node i: Patroni, its children (pg_basebackup/pg_rewind/helpers), postmaster, its children
node_pids() {
  local i=$1 p pm
  {
    if p=$(patroni_pid "$i"); then echo "$p"; children "$p"; fi
    if pm=$(postmaster_pid "$i"); then echo "$pm"; children "$pm"; fi
  } | awk 'NF' | sort -un
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-2}" "$1" 2>/dev/null || true; }
api() { echo "http://$(node_ip "$1"):$API_PORT$2"; }

port_busy() { # port_busy IP PORT -> 0 if something listens on IP:PORT or on the wildcard
  ss -ltnH 2>/dev/null | awk -v ip="$1" -v port="$2" '
    { n = split($4, a, ":"); p = a[n]; h = substr($4, 1, length($4) - length(p) - 1)
      if (p == port && (h == ip || h == "0.0.0.0" || h == "*" || h == "[::]" || h == "[::ffff:" ip "]")) f = 1 }
    END { exit !f }'
}

tail_log() { local f=$1; [[ -f $f ]] || return 0; echo "----- tail -n ${2:-30} $f" >&2; tail -n "${2:-30}" "$f" >&2 || true; }

# ---------------------------------------------------------------- install
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
cmd_install() {
  need_root
  local missing; mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then log "all packages present"; return 0; fi
  log "installing: ${missing[*]}"
  # Prevent Debian from starting services (postgresql@15-main, haproxy, ...) while installing.
  local prc=/usr/sbin/policy-rc.d backup=""
  if [[ -e $prc ]]; then backup=$(mktemp); cp -p "$prc" "$backup"; fi
  printf '#!/bin/sh\n# temporary, written by %s install\nexit 101\n' "$PROG" >"$prc"
  chmod 755 "$prc"
  local rc=0
  (
    export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then apt-get update -q; fi
    apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" ||
      { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}"; }
  ) || rc=$?
  if [[ -n $backup ]]; then cp -p "$backup" "$prc"; rm -f "$backup"; else rm -f "$prc"; fi
  ((rc == 0)) || die "apt-get install failed (rc=$rc)"
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "still missing after install: ${missing[*]}"
  log "install done"
}

# ---------------------------------------------------------------- configs
gen_patroni_yml() { # gen_patroni_yml DEST [SOCKET_DIR]
  # Per-run copy of the shipped file with the timing overrides and the ZooKeeper address;
  # per node also its own unix_socket_directories (Patroni has no env variable for it).
  /usr/bin/python3 - "$SHIPPED_YML" "$1" "$TTL" "$LOOP_WAIT" "$RETRY_TIMEOUT" "$ZK_HOST:$ZK_PORT" "${2:-}" <<'PY'
import sys, yaml
src, dst, ttl, loop_wait, retry, zk, sock = sys.argv[1:]
with open(src) as f:
    c = yaml.safe_load(f)
dcs = c['bootstrap']['dcs']
dcs['ttl'], dcs['loop_wait'], dcs['retry_timeout'] = int(ttl), int(loop_wait), int(retry)
c['zookeeper'] = {'hosts': [zk]}
if sock:
    c['postgresql'].setdefault('parameters', {})['unix_socket_directories'] = sock
with open(dst, 'w') as f:
    f.write('# GENERATED by local-cluster.sh from %s - do not edit\n' % src)
    yaml.safe_dump(c, f, default_flow_style=False, sort_keys=False)
PY
  chmod 644 "$1"
}

node_env() { # environment of node i (Patroni's own variables)
  local i=$1 ip d; ip=$(node_ip "$i"); d=$(node_dir "$i")
  cat <<EOF
HOME=/var/lib/postgresql
PATH=$SYS_PATH
LANG=C.UTF-8
LC_ALL=C.UTF-8
PATRONI_NAME=$(node_name "$i")
PATRONI_RESTAPI_LISTEN=$ip:$API_PORT
PATRONI_RESTAPI_CONNECT_ADDRESS=$ip:$API_PORT
PATRONI_POSTGRESQL_LISTEN=$ip:$PG_PORT
PATRONI_POSTGRESQL_CONNECT_ADDRESS=$ip:$PG_PORT
PATRONI_POSTGRESQL_DATA_DIR=$d/data
PATRONI_POSTGRESQL_PGPASS=$d/pgpass
PATRONI_ZOOKEEPER_HOSTS=$ZK_HOST:$ZK_PORT
PATRONI_SUPERUSER_PASSWORD=$SUPERUSER_PASSWORD
PATRONI_REPLICATION_PASSWORD=$REPLICATION_PASSWORD
PATRONI_REWIND_PASSWORD=$REWIND_PASSWORD
EOF
}

# ---------------------------------------------------------------- ZooKeeper
zk_ok() { [[ $( (exec 3<>"/dev/tcp/$ZK_HOST/$ZK_PORT" && echo ruok >&3 && timeout 2 cat <&3) 2>/dev/null) == imok ]]; }

start_zookeeper() {
  local d=$BASE/zookeeper
  if zk_pid >/dev/null; then log "ZooKeeper already running"; return 0; fi
  ! port_busy "$ZK_HOST" "$ZK_PORT" || die "port $ZK_HOST:$ZK_PORT is already in use by something else"
  mkdir -p "$d/data"
  cat >"$d/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$d/data
clientPort=$ZK_PORT
clientPortAddress=$ZK_HOST
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
EOF
  log "starting ZooKeeper on $ZK_HOST:$ZK_PORT"
  # setsid + full redirection: nothing keeps the caller's terminal/pipes open.
  "${DETACH[@]}" "$d/zookeeper.pid" \
    java -Xmx128m -Xms16m -XX:+UseSerialGC -Dzookeeper.admin.enableServer=false \
    -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
    org.apache.zookeeper.server.ZooKeeperServerMain "$d/zoo.cfg" </dev/null >"$d/zookeeper.log" 2>&1
  local t=0
  until zk_ok; do
    ((t++ < 60)) || { tail_log "$d/zookeeper.log"; die "ZooKeeper did not answer 'ruok' within 30 s"; }
    if ((t > 4)) && ! zk_pid >/dev/null; then tail_log "$d/zookeeper.log"; die "ZooKeeper exited"; fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------- nodes
start_node() { # start_node i (does not wait)
  local i=$1 d name ip; d=$(node_dir "$i"); name=$(node_name "$i"); ip=$(node_ip "$i")
  if patroni_pid "$i" >/dev/null; then log "$name: Patroni already running"; return 0; fi
  if postmaster_pid "$i" >/dev/null; then die "$name: a postmaster is still running without Patroni (run '$PROG stop $name' first)"; fi
  local port; for port in "$PG_PORT" "$API_PORT"; do
    ! port_busy "$ip" "$port" || die "$name: $ip:$port (or 0.0.0.0:$port) is already in use"
  done
  mkdir -p "$d"; chown postgres:postgres "$d"; chmod 700 "$d"
  node_env "$i" >"$d/patroni.env"; chmod 600 "$d/patroni.env"
  [[ -f $d/patroni.yml ]] || gen_patroni_yml "$d/patroni.yml" "$d"
  rm -f "$d/frozen.pids"
  log "starting $name ($ip)"
  local -a envv; mapfile -t envv <"$d/patroni.env"
  "${DETACH[@]}" "$d/patroni.pid" \
    env -i "${envv[@]}" setpriv --reuid=postgres --regid=postgres --init-groups \
    "$PATRONI" "$d/patroni.yml" </dev/null >>"$d/patroni.log" 2>&1
  local t=0
  until patroni_pid "$i" >/dev/null; do
    ((t++ < 20)) || { tail_log "$d/patroni.log"; die "$name: Patroni did not start"; }
    sleep 0.25
  done
}

signal_node() { # signal_node SIG i -> signals every process of node i, prints them
  local sig=$1 i=$2 pids
  pids=$(node_pids "$i" | tr '\n' ' ')
  [[ -n ${pids// /} ]] || return 0
  # shellcheck disable=SC2086
  kill "-$sig" $pids 2>/dev/null || true
  echo "$pids"
}

wait_gone() { # wait_gone TIMEOUT_S PID... -> 0 when all are gone
  local deadline=$((SECONDS + $1)) p left; shift
  while :; do
    left=0
    for p in "$@"; do alive "$p" && left=1; done
    ((left == 0)) && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

kill_node() {
  local i=$1 name pids; name=$(node_name "$i")
  pids=$(signal_node KILL "$i")
  [[ -n $pids ]] || { log "$name: not running"; return 0; }
  # one more sweep: children forked while we were signalling
  signal_node KILL "$i" >/dev/null
  # shellcheck disable=SC2086
  wait_gone 10 $pids || die "$name: processes survived SIGKILL: $pids"
  rm -f "$(node_dir "$i")/frozen.pids"
  log "$name: killed (pids $pids)"
}

stop_node() { # clean stop: SIGTERM Patroni, wait for it and its postmaster; escalate after STOP_TIMEOUT
  local i=$1 name p pm pids; name=$(node_name "$i")
  thaw_node "$i" quiet
  p=$(patroni_pid "$i") || p=""
  pm=$(postmaster_pid "$i") || pm=""
  if [[ -z $p && -z $pm ]]; then log "$name: not running"; return 0; fi
  if [[ -n $p ]]; then
    kill -TERM "$p" 2>/dev/null || true
    # Patroni stops PostgreSQL before it exits - except in maintenance mode (paused), where it
    # leaves it running: then the postmaster gets a fast shutdown below.
    if wait_gone "$STOP_TIMEOUT" "$p" && { [[ -z $pm ]] || wait_gone 2 "$pm"; }; then
      log "$name: stopped"; return 0
    fi
  fi
  if pm=$(postmaster_pid "$i"); then # postmaster without Patroni: fast shutdown
    kill -INT "$pm" 2>/dev/null || true
    wait_gone 20 "$pm" && { log "$name: stopped (PostgreSQL outlived Patroni - paused? - fast shutdown)"; return 0; }
  fi
  log "$name: did not stop in time, sending SIGKILL"
  pids=$(signal_node KILL "$i")
  # shellcheck disable=SC2086
  [[ -z $pids ]] || wait_gone 10 $pids || die "$name: processes survived SIGKILL: $pids"
}

freeze_node() {
  local i=$1 name pids; name=$(node_name "$i")
  pids=$(signal_node STOP "$i")
  [[ -n $pids ]] || die "$name: not running"
  echo "$pids" >>"$(node_dir "$i")/frozen.pids"
  log "$name: frozen (SIGSTOP pids $pids)"
}
thaw_node() {
  local i=$1 quiet=${2:-} f pids="" p; f=$(node_dir "$i")/frozen.pids
  [[ -f $f ]] && pids=$(tr '\n' ' ' <"$f")
  pids+=" $(node_pids "$i" | tr '\n' ' ')"
  for p in $pids; do if alive "$p"; then kill -CONT "$p" 2>/dev/null || true; fi; done
  rm -f "$f"
  [[ -n $quiet ]] || log "$(node_name "$i"): thawed (SIGCONT)"
}

# Patroni alone (its pid file, not the postmaster nor any child): the REST API accepts TCP
# connections (the kernel's backlog) but never answers, as a hung Patroni does, while PostgreSQL
# keeps serving. The pid goes into frozen.pids like freeze_node's, so thaw/stop/down thaw it too.
freeze_patroni() {
  local i=$1 name p; name=$(node_name "$i")
  p=$(patroni_pid "$i") || die "$name: Patroni is not running"
  postmaster_pid "$i" >/dev/null || log "WARNING: $name: PostgreSQL is not running"
  kill -STOP "$p" || die "$name: cannot SIGSTOP Patroni pid $p"
  echo "$p" >>"$(node_dir "$i")/frozen.pids"
  log "$name: Patroni frozen (SIGSTOP pid $p; PostgreSQL left running)"
}
thaw_patroni() {
  local i=$1 name p; name=$(node_name "$i")
  p=$(patroni_pid "$i") || die "$name: Patroni is not running"
  kill -CONT "$p" || die "$name: cannot SIGCONT Patroni pid $p"
  # frozen.pids may list the postmaster too (a whole-node freeze): thaw-patroni thaws Patroni only
  local f; f=$(node_dir "$i")/frozen.pids
  if [[ -f $f ]]; then
    grep -vx "$p" "$f" >"$f.tmp" || true
    if [[ -s $f.tmp ]]; then mv "$f.tmp" "$f"; else rm -f "$f" "$f.tmp"; fi
  fi
  log "$name: Patroni thawed (SIGCONT pid $p)"
}

# ---------------------------------------------------------------- cluster state
cluster_json() { # /cluster from the first member that answers
  local n i out; n=$(node_count)
  for ((i = 0; i < n; i++)); do
    if out=$(curl -sf --max-time 2 "$(api "$i" /cluster)" 2>/dev/null) && [[ -n $out ]]; then
      echo "$out"; return 0
    fi
  done
  return 1
}
current_leader() {
  local l; l=$(cluster_json | jq -r '.members[] | select(.role == "leader" or .role == "master") | .name' | head -n1) || true
  [[ -n $l ]] || return 1
  echo "$l"
}
primary_member() { # the member whose REST API says 200 on /primary
  local n i; n=$(node_count)
  for ((i = 0; i < n; i++)); do
    [[ $(http_code "$(api "$i" /primary)") == 200 ]] && { node_name "$i"; return 0; }
  done
  return 1
}

# healthy: exactly one /primary 200, every started node /replica 200, leader streams to all of
# them, and (N>1, synchronous_mode) one of them is /sync 200. Prints the reason when not.
healthy() {
  local n i leader="" replicas=0 sync=0 started=0 streaming
  n=$(node_count)
  for ((i = 0; i < n; i++)); do
    patroni_pid "$i" >/dev/null || continue
    started=$((started + 1))
    if [[ $(http_code "$(api "$i" /primary)") == 200 ]]; then
      [[ -z $leader ]] || { echo "two primaries"; return 1; }
      leader=$i
    elif [[ $(http_code "$(api "$i" /replica)") == 200 ]]; then
      replicas=$((replicas + 1))
      [[ $(http_code "$(api "$i" /sync)") == 200 ]] && sync=$((sync + 1))
    else
      echo "$(node_name "$i") neither primary nor running replica"; return 1
    fi
  done
  [[ -n $leader ]] || { echo "no leader yet"; return 1; }
  if ((replicas > 0)); then
    streaming=$(PGPASSWORD=$SUPERUSER_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -qAt \
      -h "$(node_ip "$leader")" -p "$PG_PORT" -U postgres -d postgres \
      -c "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null) || streaming=0
    ((streaming >= replicas)) || { echo "leader streams to $streaming of $replicas replicas"; return 1; }
    ((sync >= 1)) || { echo "no synchronous standby yet"; return 1; }
  fi
  return 0
}
wait_healthy() {
  local timeout=${1:-$UP_TIMEOUT} deadline why=""
  deadline=$((SECONDS + timeout))
  until why=$(healthy); do
    if ((SECONDS >= deadline)); then
      local n i; n=$(node_count)
      for ((i = 0; i < n; i++)); do tail_log "$(node_dir "$i")/patroni.log" 15; done
      die "cluster not healthy after ${timeout}s: $why"
    fi
    sleep 0.5
  done
}

print_status() {
  local n i p pm st
  n=$(node_count)
  echo "== $BASE (nodes=$n ttl=$(sed -n 's/^TTL=//p' "$BASE/cluster.env") loop_wait=$(sed -n 's/^LOOP_WAIT=//p' "$BASE/cluster.env") retry_timeout=$(sed -n 's/^RETRY_TIMEOUT=//p' "$BASE/cluster.env"))"
  if p=$(zk_pid) && stopped "$p"; then
    echo "zookeeper   pid $p  $ZK_HOST:$ZK_PORT  FROZEN (SIGSTOP; 'thaw-zk')"
  elif p=$(zk_pid); then
    echo "zookeeper   pid $p  $ZK_HOST:$ZK_PORT  $(zk_ok && echo imok || echo 'NOT ANSWERING')"
    PATH=$SYS_PATH timeout 20 "$PATRONICTL" -c "$BASE/patroni.yml" list 2>&1 || echo "(patronictl list failed)"
  else
    echo "zookeeper   DOWN"
  fi
  for ((i = 0; i < n; i++)); do
    p=$(patroni_pid "$i") || p=-
    pm=$(postmaster_pid "$i") || pm=-
    st=running
    [[ $p == - && $pm == - ]] && st=down
    [[ $p != - ]] && stopped "$p" && st=FROZEN
    printf '%-12s %-10s patroni pid %-8s postmaster pid %-8s %s:%s api :%s  %s\n' \
      "$(node_name "$i")" "$st" "$p" "$pm" "$(node_ip "$i")" "$PG_PORT" "$API_PORT" \
      "$( [[ $p == - ]] || curl -s --max-time 2 "$(api "$i" /patroni)" | jq -r '"role=\(.role) state=\(.state) tl=\(.timeline // "-")"' 2>/dev/null || true)"
  done
  if p=$(haproxy_pid); then
    local ha; ha=$(sed -n 's/^HAPROXY_ADDR=//p' "$BASE/haproxy/ports" 2>/dev/null)
    echo "haproxy     pid $p  ${ha:-127.0.0.1}:$(sed -n 's/^HAPROXY_PORT=//p' "$BASE/haproxy/ports" 2>/dev/null) stats :$(sed -n 's/^HAPROXY_STATS_PORT=//p' "$BASE/haproxy/ports" 2>/dev/null)"
  fi
}

anything_alive() {
  local n i
  zk_pid >/dev/null && return 0
  haproxy_pid >/dev/null && return 0
  n=$(node_count)
  for ((i = 0; i < n; i++)); do [[ -n $(node_pids "$i") ]] && return 0; done
  return 1
}

# ---------------------------------------------------------------- commands
cmd_up() {
  need_root
  local n=${1:-2} i t0=$SECONDS
  if ! is_uint "$n" || ((n < 1 || n > 9)); then die "up: N must be 1..9 (got '$n')"; fi
  ((ADDR_BASE + n - 1 <= 254)) || die "CLUSTER_ADDR_BASE=$ADDR_BASE leaves no room for $n nodes below 127.0.0.255"
  for v in TTL LOOP_WAIT RETRY_TIMEOUT; do is_uint "${!v}" || die "CLUSTER_$v must be an integer"; done
  ((LOOP_WAIT + 2 * RETRY_TIMEOUT <= TTL)) ||
    die "Patroni requires loop_wait + 2*retry_timeout <= ttl (got $LOOP_WAIT + 2*$RETRY_TIMEOUT > $TTL)"
  [[ -f $SHIPPED_YML ]] || die "missing $SHIPPED_YML"
  if [[ -f $BASE/cluster.env ]]; then
    local have; have=$(node_count)
    if anything_alive; then
      local was; was=$(sed -n 's/^ADDR_BASE=//p' "$BASE/cluster.env"); was=${was:-2}
      [[ $was == "$ADDR_BASE" ]] ||
        die "a cluster is running in $BASE with CLUSTER_ADDR_BASE=$was (not $ADDR_BASE); '$PROG down' it first"
      local all=1
      zk_pid >/dev/null || all=0
      for ((i = 0; i < have; i++)); do patroni_pid "$i" >/dev/null || all=0; done
      if ((all == 1 && have == n)); then
        log "cluster with $n nodes already up in $BASE - reusing it"
        wait_healthy; print_status; return 0
      fi
      die "a cluster ($have nodes) is (partly) running in $BASE; run '$PROG down' first (or 'start NAME')"
    fi
    log "removing stale $BASE (nothing running)"
    rm -rf "$BASE"
  elif [[ -e $BASE ]] && [[ -n $(ls -A "$BASE" 2>/dev/null) ]]; then
    die "$BASE exists, is not empty and was not created by $PROG; set PATROXY_CLUSTER_DIR"
  fi
  [[ -z $(missing_packages) ]] || cmd_install
  for ((i = 0; i < n; i++)); do
    local port; for port in "$PG_PORT" "$API_PORT"; do
      ! port_busy "$(node_ip "$i")" "$port" || die "$(node_ip "$i"):$port (or 0.0.0.0:$port) is already in use"
    done
  done
  mkdir -p "$BASE"; chmod 755 "$BASE"
  printf 'NODES=%s\nTTL=%s\nLOOP_WAIT=%s\nRETRY_TIMEOUT=%s\nADDR_BASE=%s\n' \
    "$n" "$TTL" "$LOOP_WAIT" "$RETRY_TIMEOUT" "$ADDR_BASE" >"$BASE/cluster.env"
  gen_patroni_yml "$BASE/patroni.yml"   # shared copy (patronictl)
  for ((i = 0; i < n; i++)); do
    mkdir -p "$(node_dir "$i")"; gen_patroni_yml "$(node_dir "$i")/patroni.yml" "$(node_dir "$i")"
  done
  start_zookeeper
  # validate the generated configuration as Patroni sees it for node 0
  local -a envv; mapfile -t envv < <(node_env 0)
  local out
  out=$(env -i "${envv[@]}" "$PATRONI" --validate-config "$(node_dir 0)/patroni.yml" 2>&1) ||
    die "patroni --validate-config failed: $out"
  # node 0 first, so that postgresql0 deterministically becomes the first leader (like pg-master)
  start_node 0
  local deadline=$((SECONDS + UP_TIMEOUT))
  until [[ $(http_code "$(api 0 /primary)") == 200 ]]; do
    if ((SECONDS >= deadline)) || ! patroni_pid 0 >/dev/null; then
      tail_log "$(node_dir 0)/patroni.log" 40; die "postgresql0 did not become leader"
    fi
    sleep 0.5
  done
  for ((i = 1; i < n; i++)); do start_node "$i"; done
  wait_healthy $((deadline - SECONDS > 5 ? deadline - SECONDS : 5))
  log "cluster up in $((SECONDS - t0)) s"
  print_status
}

cmd_down() {
  need_root
  local keep=0 a
  for a in "$@"; do case $a in --keep) keep=1 ;; *) die "down: unknown option $a" ;; esac; done
  if [[ ! -f $BASE/cluster.env ]]; then
    [[ -e $BASE ]] && ((keep == 0)) && [[ -z $(ls -A "$BASE" 2>/dev/null) ]] && rmdir "$BASE"
    log "nothing to stop in $BASE"; return 0
  fi
  local n i p pids=""
  n=$(node_count)
  cmd_haproxy_down quiet
  # a frozen ZooKeeper would make every Patroni shutdown hang on the DCS
  if p=$(zk_pid) && stopped "$p"; then kill -CONT "$p" 2>/dev/null || true; fi
  # Patroni first (SIGTERM: it stops its PostgreSQL, unless paused), all nodes in parallel
  for ((i = 0; i < n; i++)); do
    thaw_node "$i" quiet
    if p=$(patroni_pid "$i"); then kill -TERM "$p" 2>/dev/null || true; pids+=" $p"; fi
  done
  # shellcheck disable=SC2086
  if [[ -n ${pids// /} ]] && ! wait_gone "$STOP_TIMEOUT" $pids; then
    log "some Patroni processes did not stop within ${STOP_TIMEOUT}s"
  fi
  # postmasters left behind (Patroni paused or SIGKILLed): fast shutdown, then SIGKILL
  for ((i = 0; i < n; i++)); do
    if p=$(postmaster_pid "$i"); then
      kill -INT "$p" 2>/dev/null || true
      wait_gone 20 "$p" || true
    fi
    pids=$(signal_node KILL "$i")
    # shellcheck disable=SC2086
    [[ -z $pids ]] || wait_gone 10 $pids || die "$(node_name "$i"): processes survived SIGKILL: $pids"
  done
  if p=$(zk_pid); then
    kill -TERM "$p" 2>/dev/null || true
    wait_gone 20 "$p" || { kill -KILL "$p" 2>/dev/null || true; wait_gone 10 "$p" || die "ZooKeeper pid $p survived SIGKILL"; }
  fi
  if ((keep)); then log "stopped; kept $BASE"; else rm -rf "$BASE"; log "stopped; removed $BASE"; fi
}

cmd_haproxy_up() {
  need_root
  local n i d=$BASE/haproxy servers=""
  n=$(node_count)
  if haproxy_pid >/dev/null; then log "HAProxy already running"; return 0; fi
  [[ -f $HAPROXY_TEMPLATE ]] || die "missing $HAPROXY_TEMPLATE"
  command -v haproxy >/dev/null || die "haproxy not installed (run '$PROG install')"
  local ha=$ZK_HOST   # the template binds 127.0.0.1; rendered with the cluster's own address
  ! port_busy "$ha" "$HAPROXY_PORT" || die "$ha:$HAPROXY_PORT is already in use (set HAPROXY_PORT)"
  ! port_busy "$ha" "$HAPROXY_STATS_PORT" || die "$ha:$HAPROXY_STATS_PORT is already in use (set HAPROXY_STATS_PORT)"
  mkdir -p "$d"
  for ((i = 0; i < n; i++)); do
    servers+="    server $(node_name "$i") $(node_ip "$i"):$PG_PORT maxconn 100 check port $API_PORT"$'\n'
  done
  awk -v port="$HAPROXY_PORT" -v stats="$HAPROXY_STATS_PORT" -v addr="$ha" -v servers="${servers%$'\n'}" '
    /^@SERVERS@$/ { print servers; next }
    /^[ \t]*bind[ \t]/ { sub(/127\.0\.0\.1:/, addr ":") }
    { gsub(/@HAPROXY_PORT@/, port); gsub(/@HAPROXY_STATS_PORT@/, stats); print }' \
    "$HAPROXY_TEMPLATE" >"$d/haproxy.cfg"
  grep -Eq "^[[:space:]]*bind[[:space:]]+${ha//./\\.}:$HAPROXY_PORT\b" "$d/haproxy.cfg" ||
    die "$HAPROXY_TEMPLATE: no 'bind 127.0.0.1:@HAPROXY_PORT@' line to render"
  printf 'HAPROXY_ADDR=%s\nHAPROXY_PORT=%s\nHAPROXY_STATS_PORT=%s\n' "$ha" "$HAPROXY_PORT" "$HAPROXY_STATS_PORT" >"$d/ports"
  haproxy -c -q -f "$d/haproxy.cfg" >"$d/haproxy.log" 2>&1 || { tail_log "$d/haproxy.log"; die "invalid $d/haproxy.cfg"; }
  "${DETACH[@]}" "$d/haproxy.pid" \
    haproxy -db -f "$d/haproxy.cfg" </dev/null >>"$d/haproxy.log" 2>&1
  local t=0
  until port_busy "$ha" "$HAPROXY_PORT" && haproxy_pid >/dev/null; do
    ((t++ < 40)) || { tail_log "$d/haproxy.log"; die "HAProxy did not start"; }
    sleep 0.25
  done
  # HAProxy starts every server UP; wait (bounded) until its checks agree with Patroni: exactly
  # the leader UP, so that a test does not get routed to a replica during the first checks.
  local leader up deadline=$((SECONDS + 20))
  while :; do
    leader=$(primary_member) || leader=""
    up=$(curl -s --max-time 2 "http://$ha:$HAPROXY_STATS_PORT/;csv" |
      awk -F, '$1 == "postgres" && $2 != "FRONTEND" && $2 != "BACKEND" && $18 ~ /^UP/ { print $2 }' | tr '\n' ' ')
    [[ -n $leader && $up == "$leader " ]] && break
    if ((SECONDS >= deadline)); then log "WARNING: HAProxy servers UP: '${up}', leader: '${leader}'"; break; fi
    sleep 0.5
  done
  log "HAProxy up: $ha:$HAPROXY_PORT (stats http://$ha:$HAPROXY_STATS_PORT/), pid $(haproxy_pid), UP: ${up:-none}"
}

cmd_haproxy_down() {
  local p
  [[ -d $BASE/haproxy ]] || { [[ -n ${1:-} ]] || log "HAProxy not running"; return 0; }
  if p=$(haproxy_pid); then
    kill -TERM "$p" 2>/dev/null || true   # -db: SIGTERM = hard stop, SIGUSR1 = soft
    wait_gone 10 "$p" || { kill -KILL "$p" 2>/dev/null || true; wait_gone 5 "$p" || die "HAProxy pid $p survived SIGKILL"; }
    [[ -n ${1:-} ]] || log "HAProxy stopped"
  else
    [[ -n ${1:-} ]] || log "HAProxy not running"
  fi
  rm -f "$BASE/haproxy/haproxy.pid"
}

resolve_target() { # "leader" or NAME -> index
  local name=$1
  if [[ $name == leader ]]; then name=$(current_leader) || die "no leader found"; fi
  node_index "$name"
}

cmd_start() {
  need_root
  [[ $# -ge 1 ]] || die "start: NAME required"
  local i name t0=$SECONDS d deadline c1 c2; i=$(node_index "$1"); name=$(node_name "$i"); d=$(node_dir "$i")
  zk_pid >/dev/null || start_zookeeper
  start_node "$i"
  deadline=$((SECONDS + UP_TIMEOUT))
  while :; do
    c1=$(http_code "$(api "$i" /replica)"); c2=$(http_code "$(api "$i" /primary)")
    [[ $c1 == 200 || $c2 == 200 ]] && break
    if ((SECONDS >= deadline)) || ! patroni_pid "$i" >/dev/null; then
      tail_log "$d/patroni.log" 40; die "$name did not come up as replica or primary"
    fi
    sleep 0.5
  done
  log "$name running as $([[ $c2 == 200 ]] && echo primary || echo replica) after $((SECONDS - t0)) s"
}

cmd_switchover() {
  local leader cand json
  json=$(cluster_json) || die "no member answers /cluster"
  leader=$(jq -r '.members[] | select(.role == "leader" or .role == "master") | .name' <<<"$json" | head -n1)
  [[ -n $leader ]] || die "no leader"
  cand=${1:-}
  if [[ -z $cand ]]; then
    cand=$(jq -r '.members[] | select(.role == "sync_standby") | .name' <<<"$json" | head -n1)
    [[ -n $cand ]] || cand=$(jq -r --arg l "$leader" '.members[] | select(.name != $l) | .name' <<<"$json" | head -n1)
  fi
  [[ -n $cand && $cand != "$leader" ]] || die "no switchover candidate"
  node_index "$cand" >/dev/null
  log "switchover $leader -> $cand"
  PATH=$SYS_PATH timeout 60 "$PATRONICTL" -c "$BASE/patroni.yml" switchover --master "$leader" --candidate "$cand" --force >&2 ||
    die "patronictl switchover failed"
  local deadline=$((SECONDS + UP_TIMEOUT)) ci; ci=$(node_index "$cand")
  until [[ $(http_code "$(api "$ci" /primary)") == 200 ]]; do
    ((SECONDS < deadline)) || die "$cand did not become primary"
    sleep 0.5
  done
  echo "$cand"
}

cmd_wait_leader() {
  local not="" timeout=$UP_TIMEOUT l deadline
  while [[ $# -gt 0 ]]; do
    case $1 in --not) not=$2; shift 2 ;; *) timeout=$1; shift ;; esac
  done
  deadline=$((SECONDS + timeout))
  while :; do
    if l=$(primary_member) && [[ $l != "$not" ]]; then echo "$l"; return 0; fi
    ((SECONDS < deadline)) || die "no new leader within ${timeout}s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- split-brain tooling
# Run patronictl against this cluster (bounded).
patronictl_run() { PATH=$SYS_PATH timeout "${PATRONICTL_TIMEOUT:-60}" "$PATRONICTL" -c "$BASE/patroni.yml" "$@"; }
# psql_at i SQL -> single value (superuser, over TCP, 3 s connect timeout, 10 s statement)
psql_at() {
  PGPASSWORD=$SUPERUSER_PASSWORD PGCONNECT_TIMEOUT=3 PGOPTIONS="-c statement_timeout=10000" \
    timeout 15 "$PG_BIN/psql" -X -qAt -h "$(node_ip "$1")" -p "$PG_PORT" -U postgres -d postgres -c "$2" 2>/dev/null
}
is_paused() { [[ $(cluster_json | jq -r '.pause // false' 2>/dev/null) == true ]]; }

cmd_pause_resume() { # pause|resume: maintenance mode on/off, waiting until every member applied it
  local what=$1 t0=$SECONDS out
  node_count >/dev/null
  zk_ok || die "$what: ZooKeeper $ZK_HOST:$ZK_PORT does not answer (thaw-zk first?)"
  if out=$(patronictl_run "$what" --wait 2>&1); then
    log "$what: done in $((SECONDS - t0)) s"
  elif [[ $out == *"already paused"* || $out == *"not paused"* ]]; then
    log "$what: nothing to do (${out//$'\n'/ })"
  else
    die "patronictl $what --wait failed: ${out//$'\n'/ }"
  fi
}

# promote NAME: pg_ctl promote behind Patroni's back (as postgres). Measured with Patroni 3.0.2
# (paused cluster): the promoted node says "PAUSE: continue to run as primary without lock" and
# answers /primary 503 while the DCS works (the old leader holds the key), 200 as soon as the DCS
# fails. Freeze ZooKeeper less than ~loop_wait after the promotion and the old primary keeps
# synchronous_standby_names = the promoted node: its commits then hang in SyncRep (committed
# locally, never acknowledged) until the split is healed.
cmd_promote() {
  need_root
  [[ $# -ge 1 ]] || die "promote: NAME required"
  local i name d rec t0=$SECONDS deadline timeout=${CLUSTER_PROMOTE_TIMEOUT:-60}
  i=$(node_index "$1"); name=$(node_name "$i"); d=$(node_dir "$i")
  postmaster_pid "$i" >/dev/null || die "$name: PostgreSQL is not running"
  rec=$(psql_at "$i" "select pg_is_in_recovery()") || die "$name: PostgreSQL does not answer on $(node_ip "$i"):$PG_PORT"
  [[ $rec == t ]] || die "$name is not in recovery (already a primary)"
  is_paused || log "WARNING: the cluster is not paused; Patroni will fight this promotion"
  log "$name: pg_ctl promote -D $d/data"
  env -i PATH="$SYS_PATH" LANG=C.UTF-8 HOME=/var/lib/postgresql \
    setpriv --reuid=postgres --regid=postgres --init-groups \
    "$PG_BIN/pg_ctl" promote -D "$d/data" -w -t "$timeout" >&2 || die "$name: pg_ctl promote failed"
  deadline=$((SECONDS + timeout))
  until [[ $(psql_at "$i" "select pg_is_in_recovery()") == f ]]; do
    ((SECONDS < deadline)) || die "$name: still in recovery ${timeout}s after pg_ctl promote"
    sleep 0.2
  done
  log "$name: promoted (out of recovery) in $((SECONDS - t0)) s"
}

cmd_freeze_zk() {
  need_root
  local p; node_count >/dev/null
  p=$(zk_pid) || die "ZooKeeper is not running"
  kill -STOP "$p" || die "cannot SIGSTOP ZooKeeper pid $p"
  log "ZooKeeper frozen (SIGSTOP pid $p)"
}
cmd_thaw_zk() {
  need_root
  local p t0=$SECONDS; node_count >/dev/null
  p=$(zk_pid) || die "ZooKeeper is not running"
  kill -CONT "$p" || die "cannot SIGCONT ZooKeeper pid $p"
  until zk_ok; do
    ((SECONDS - t0 < 30)) || die "ZooKeeper (pid $p) does not answer 'ruok' 30 s after SIGCONT"
    sleep 0.2
  done
  log "ZooKeeper thawed (SIGCONT pid $p), answering after $((SECONDS - t0)) s"
}

member_timeline() { # i -> timeline: Patroni's view (/patroni), else PostgreSQL's own
  local i=$1 tl
  tl=$(curl -sf --max-time 3 "$(api "$i" /patroni)" 2>/dev/null | jq -r '.timeline // empty' 2>/dev/null) || tl=""
  if ! is_uint "$tl"; then
    # a primary's current WAL file name starts with its timeline; a standby: last restartpoint
    tl=$(psql_at "$i" "select case when pg_is_in_recovery() then (select timeline_id from pg_control_checkpoint())
                       else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end") || tl=""
  fi
  is_uint "$tl" || return 1
  echo "$tl"
}
cmd_timeline() {
  [[ $# -ge 1 ]] || die "timeline: NAME required"
  local i; i=$(node_index "$1")
  member_timeline "$i" || die "$1: timeline unknown (neither the REST API nor PostgreSQL answers)"
}
cmd_http() { # http NAME PATH -> status code of GET http://<member>:8008/PATH (000: no answer)
  [[ $# -ge 2 ]] || die "http: NAME PATH required"
  local i code; i=$(node_index "$1")
  code=$(http_code "$(api "$i" "/${2#/}")" 3)
  echo "${code:-000}"
}

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%01d' $((d / 1000)) $((d % 1000 / 100)); }
cluster_scope() { sed -n 's/^scope: *//p' "$BASE/patroni.yml" | head -n1; }
cluster_env() { sed -n "s/^$1=//p" "$BASE/cluster.env"; }

# zk_key KEY: value of Patroni's /<namespace>/<scope>/KEY in ZooKeeper (empty when missing)
zk_key() {
  timeout 20 /usr/bin/python3 - "$BASE/patroni.yml" "$ZK_HOST:$ZK_PORT" "$1" <<'PY'
import logging, sys, yaml
from kazoo.client import KazooClient
logging.basicConfig(level=logging.CRITICAL)
c = yaml.safe_load(open(sys.argv[1]))
path = '/%s/%s/%s' % ((c.get('namespace') or '/service').strip('/'), c['scope'], sys.argv[3])
zk = KazooClient(hosts=sys.argv[2], timeout=5)
zk.start(timeout=5)
try:
    if zk.exists(path):
        sys.stdout.write(zk.get(path)[0].decode())
finally:
    zk.stop()
    zk.close()
PY
}
sync_key_leader() { # leader named in the /sync key ('' if none); fails if ZooKeeper cannot be read
  local v; v=$(zk_key sync) || return 1
  [[ -z $v ]] && return 0
  jq -r '.leader // empty' <<<"$v"
}

# Patroni 3.0.2 only rewrites the /sync key when it PROMOTES a replica. A member that already
# runs as primary and then takes the leader key (split brain healed) finds /sync naming
# another leader and loops on "Synchronous replication key updated by someone else": no sync
# standby, ever. Turning synchronous_mode off empties /sync; on again, the leader rewrites it.
fix_sync_key() { # fix_sync_key LEADER_NAME
  local leader=$1 li sk mode deadline
  li=$(node_index "$leader") || exit 1
  mode=$(curl -sf --max-time 3 "$(api "$li" /config)" | jq -r '.synchronous_mode // false') ||
    die "$leader: cannot read the dynamic configuration (/config)"
  [[ $mode == true ]] || return 0
  sk=$(sync_key_leader) || die "cannot read the /sync key from ZooKeeper"
  [[ -n $sk && $sk != "$leader" ]] || return 0
  log "/sync names leader '$sk', not $leader: synchronous_mode off and on again"
  patronictl_run edit-config -q -s synchronous_mode=false --force >/dev/null ||
    die "patronictl edit-config -s synchronous_mode=false failed"
  deadline=$((SECONDS + 4 * LOOP_WAIT + 20))
  until sk=$(sync_key_leader) && [[ -z $sk ]]; do
    if ((SECONDS >= deadline)); then
      patronictl_run edit-config -q -s synchronous_mode=true --force >/dev/null || true
      die "/sync still names '$sk' after synchronous_mode=false"
    fi
    sleep 0.5
  done
  patronictl_run edit-config -q -s synchronous_mode=true --force >/dev/null ||
    die "patronictl edit-config -s synchronous_mode=true failed (synchronous_mode is OFF now!)"
}

# heal-split KEEP: end a split brain (two primaries, cluster paused, ZooKeeper maybe frozen)
# keeping KEEP's data: ZooKeeper is thawed, the other nodes stopped, KEEP takes the leader
# key, maintenance mode ends, /sync is repaired, and the other nodes start again: Patroni
# pg_rewinds them onto KEEP's timeline (patronictl reinit if that does not work out).
cmd_heal_split() {
  need_root
  [[ $# -ge 1 ]] || die "heal-split: NAME_TO_KEEP required"
  local k keep n i p t0 t deadline others=() role tl ktl
  k=$(node_index "$1") || exit 1; keep=$(node_name "$k"); n=$(node_count)
  LOOP_WAIT=$(cluster_env LOOP_WAIT); TTL=$(cluster_env TTL)
  { patroni_pid "$k" >/dev/null && postmaster_pid "$k" >/dev/null; } || die "$keep: Patroni and PostgreSQL must both run"
  [[ $(psql_at "$k" "select pg_is_in_recovery()") == f ]] || die "$keep is not a primary (nothing to keep)"
  t0=$(now_ms)
  thaw_node "$k" quiet   # a frozen Patroni (freeze-patroni) could not take the leader key
  # 1. ZooKeeper back first: the other nodes' Patroni can then close their ZooKeeper sessions
  #    when they stop (their ephemeral leader key goes at once, not a session timeout later).
  #    Paused, nobody promotes or demotes anything meanwhile.
  t=$(now_ms)
  if p=$(zk_pid) && stopped "$p"; then cmd_thaw_zk; fi
  zk_pid >/dev/null || die "ZooKeeper is not running"
  deadline=$((SECONDS + 30))
  until zk_ok; do ((SECONDS < deadline)) || die "ZooKeeper does not answer"; sleep 0.2; done
  log "heal-split: [1] ZooKeeper answering after $(secs_since "$t") s"
  # 2. stop the other nodes: Patroni, then (paused: left running) their PostgreSQL
  t=$(now_ms)
  for ((i = 0; i < n; i++)); do
    ((i == k)) && continue
    others+=("$i"); stop_node "$i"
  done
  log "heal-split: [2] other nodes stopped in $(secs_since "$t") s"
  # 3. KEEP takes the leader key (at once, or when a stopped node's session times out)
  t=$(now_ms); deadline=$((SECONDS + 3 * TTL + 30))
  until role=$(cluster_json | jq -r --arg k "$keep" '.members[] | select(.name == $k) | .role' 2>/dev/null) &&
        [[ $role == leader || $role == master ]]; do
    if ((SECONDS >= deadline)); then tail_log "$(node_dir "$k")/patroni.log" 20; die "$keep did not take the leader key (role: ${role:-?})"; fi
    sleep 0.5
  done
  log "heal-split: [3] $keep holds the leader key after $(secs_since "$t") s"
  # 4. end maintenance mode
  t=$(now_ms)
  if is_paused; then cmd_pause_resume resume; fi
  log "heal-split: [4] resumed in $(secs_since "$t") s"
  # 5. /sync
  t=$(now_ms)
  fix_sync_key "$keep"
  log "heal-split: [5] /sync checked/repaired in $(secs_since "$t") s"
  # 6. the others rejoin as replicas of KEEP's timeline (pg_rewind by Patroni; else reinit)
  ktl=$(member_timeline "$k") || die "$keep: timeline unknown"
  for i in "${others[@]}"; do
    t=$(now_ms)
    start_node "$i"
    deadline=$((SECONDS + UP_TIMEOUT / 2))
    until [[ $(http_code "$(api "$i" /replica)") == 200 ]] && tl=$(member_timeline "$i") && [[ $tl == "$ktl" ]]; do
      if ((SECONDS >= deadline)); then
        log "$(node_name "$i") did not rejoin on timeline $ktl: patronictl reinit"
        patronictl_run reinit "$(cluster_scope)" "$(node_name "$i")" --force --wait >&2 ||
          die "patronictl reinit $(node_name "$i") failed"
        deadline=$((SECONDS + UP_TIMEOUT))
        until [[ $(http_code "$(api "$i" /replica)") == 200 ]]; do
          ((SECONDS < deadline)) || die "$(node_name "$i") not a running replica after reinit"
          sleep 0.5
        done
        break
      fi
      sleep 0.5
    done
    log "heal-split: [6] $(node_name "$i") replica on timeline $ktl after $(secs_since "$t") s"
  done
  # 7. healthy: one leader, streaming sync standby
  t=$(now_ms)
  wait_healthy
  log "heal-split: [7] healthy after $(secs_since "$t") s; total $(secs_since "$t0") s, leader $keep (timeline $ktl)"
}

main() {
  local cmd=${1:-help}; shift || true
  case $cmd in help | -h | --help) ;; *) addr_setup "$cmd" ;; esac
  case $cmd in
    install) cmd_install ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) print_status ;;
    wait) wait_healthy "${1:-$UP_TIMEOUT}"; log "cluster healthy" ;;
    leader) node_count >/dev/null; current_leader || die "no leader found" ;;
    wait-leader) cmd_wait_leader "$@" ;;
    member-addr) [[ $# -ge 1 ]] || die "member-addr: NAME required"; local i; i=$(node_index "$1"); node_ip "$i" ;;
    members) local n i; n=$(node_count); for ((i = 0; i < n; i++)); do node_name "$i"; done ;;
    kill-leader) need_root; local i; i=$(resolve_target leader); kill_node "$i"; node_name "$i" ;;
    kill) need_root; [[ $# -ge 1 ]] || die "kill: NAME required"; local i; i=$(resolve_target "$1"); kill_node "$i" ;;
    stop-leader) need_root; local i; i=$(resolve_target leader); stop_node "$i"; node_name "$i" ;;
    stop) need_root; [[ $# -ge 1 ]] || die "stop: NAME required"; local i; i=$(resolve_target "$1"); stop_node "$i" ;;
    start) cmd_start "$@" ;;
    freeze) need_root; [[ $# -ge 1 ]] || die "freeze: NAME required"; local i; i=$(resolve_target "$1"); freeze_node "$i" ;;
    thaw) need_root; [[ $# -ge 1 ]] || die "thaw: NAME required"; local i; i=$(node_index "$1"); thaw_node "$i" ;;
    freeze-patroni) need_root; [[ $# -ge 1 ]] || die "freeze-patroni: NAME required"; local i; i=$(node_index "$1"); freeze_patroni "$i" ;;
    thaw-patroni) need_root; [[ $# -ge 1 ]] || die "thaw-patroni: NAME required"; local i; i=$(node_index "$1"); thaw_patroni "$i" ;;
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
    logs)
      [[ $# -ge 1 ]] || die "logs: NAME|zookeeper|haproxy required"
      case $1 in
        zookeeper) tail -n "${2:-50}" "$BASE/zookeeper/zookeeper.log" ;;
        haproxy) tail -n "${2:-50}" "$BASE/haproxy/haproxy.log" ;;
        *) local i; i=$(node_index "$1"); tail -n "${2:-50}" "$(node_dir "$i")/patroni.log" ;;
      esac ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
