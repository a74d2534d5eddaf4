# shellcheck shell=bash
# Sourced by local-cluster.sh: messages, the cluster's settings (addresses, Patroni major), node
# names and addresses, pids (from pid files only), HTTP, SQL and patronictl helpers.

log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }
need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (PostgreSQL/Patroni are started as 'postgres')"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
cluster_env() { sed -n "s/^$1=//p" "$BASE/cluster.env"; }

# Starts "$@" detached (own session, no inherited terminal/pipes); the process writes its own
# pid ($1) before exec, so the pid file holds the real pid whatever setsid does.
# shellcheck disable=SC2016
DETACH=(setsid -f bash -c 'echo $$ >"$1"; shift; exec "$@"' _)

# The cluster's settings, from the environment, else from what 'up' recorded in $BASE/cluster.env,
# else the defaults:
#   ADDR_BASE (CLUSTER_ADDR_BASE, 2): node i at 127.0.0.(ADDR_BASE+i); ZK_HOST = 127.0.0.(ADDR_BASE-1),
#     also HAProxy's bind address;
#   PATRONI_MAJOR (3): which Patroni runs the nodes (select_patroni);
#   CLUSTER_SSL (0): 1 = TLS on every node, hostssl only (tls.sh).
# A value that contradicts the recorded one is an error, except for up, down and install ('down'
# goes by the recorded one; 'up' refuses a running cluster of other settings).
cluster_setup() { # cluster_setup COMMAND
  local cmd=$1 env_base=${CLUSTER_ADDR_BASE:-} env_major=${PATRONI_MAJOR:-} env_ssl=${CLUSTER_SSL:-} base="" major="" ssl="" free=0
  case $cmd in up | down | install) free=1 ;; esac
  if [[ -f $BASE/cluster.env ]]; then
    base=$(cluster_env ADDR_BASE); base=${base:-2}       # files written before the setting existed
    major=$(cluster_env PATRONI_MAJOR); major=${major:-3}
    is_uint "$base" || die "corrupt ADDR_BASE in $BASE/cluster.env"
    [[ $major == [34] ]] || die "corrupt PATRONI_MAJOR in $BASE/cluster.env"
    ssl=$(cluster_env SSL); ssl=${ssl:-0}
    [[ $ssl == [01] ]] || die "corrupt SSL in $BASE/cluster.env"
  fi
  if [[ -n $env_base ]]; then
    { is_uint "$env_base" && ((env_base >= 2 && env_base <= 246)); } || die "CLUSTER_ADDR_BASE must be an integer 2..246 (got '$env_base')"
    [[ -z $base || $env_base == "$base" || $free == 1 ]] ||
      die "$BASE holds a cluster started with CLUSTER_ADDR_BASE=$base, not $env_base (unset it or set PATROXY_CLUSTER_DIR)"
  fi
  if [[ -n $env_major ]]; then
    [[ $env_major == [34] ]] || die "PATRONI_MAJOR must be 3 or 4 (got '$env_major')"
    [[ -z $major || $env_major == "$major" || $free == 1 ]] ||
      die "$BASE holds a cluster started with PATRONI_MAJOR=$major, not $env_major (unset it or set PATROXY_CLUSTER_DIR)"
  fi
  if [[ -n $env_ssl ]]; then
    [[ $env_ssl == [01] ]] || die "CLUSTER_SSL must be 0 or 1 (got '$env_ssl')"
    [[ -z $ssl || $env_ssl == "$ssl" || $free == 1 ]] ||
      die "$BASE holds a cluster started with CLUSTER_SSL=$ssl, not $env_ssl (unset it or set PATROXY_CLUSTER_DIR)"
  fi
  if [[ $cmd == down ]]; then
    ADDR_BASE=${base:-${env_base:-2}}; PATRONI_MAJOR=${major:-${env_major:-3}}; CLUSTER_SSL=${ssl:-${env_ssl:-0}}
  else
    ADDR_BASE=${env_base:-${base:-2}}; PATRONI_MAJOR=${env_major:-${major:-3}}; CLUSTER_SSL=${env_ssl:-${ssl:-0}}
  fi
  ZK_HOST="127.0.0.$((ADDR_BASE - 1))"
  select_patroni
}

# PATRONI, PATRONICTL (Python scripts run by /usr/bin/python3) and PATRONI_PYTHONPATH for the
# selected major: 3 = Debian 12's package; 4 = Debian 13's package unpacked under PATRONI4_HOME
# (install.sh), run on Debian 12's Python packages, its own first on PYTHONPATH.
select_patroni() {
  if [[ $PATRONI_MAJOR == 4 ]]; then
    PATRONI=$PATRONI4_HOME/usr/bin/patroni
    PATRONICTL=$PATRONI4_HOME/usr/bin/patronictl
    PATRONI_PYTHONPATH=$PATRONI4_HOME/usr/lib/python3/dist-packages
  else
    PATRONI=/usr/bin/patroni
    PATRONICTL=/usr/bin/patronictl
    PATRONI_PYTHONPATH=""
  fi
}
# the environment the selected Patroni and patronictl run with, one VAR=value a line
patroni_env() { echo "PATH=$SYS_PATH"; [[ -z $PATRONI_PYTHONPATH ]] || echo "PYTHONPATH=$PATRONI_PYTHONPATH"; }
# patronictl against this cluster (bounded)
patronictl_run() {
  local -a envv; mapfile -t envv < <(patroni_env)
  env "${envv[@]}" timeout "${PATRONICTL_TIMEOUT:-60}" /usr/bin/python3 "$PATRONICTL" -c "$BASE/patroni.yml" "$@"
}
patroni_version() { # the selected Patroni's version ("3.0.2"), fails when it is not installed
  local -a envv; [[ -f $PATRONI ]] || return 1
  mapfile -t envv < <(patroni_env)
  env "${envv[@]}" /usr/bin/python3 "$PATRONI" --version 2>/dev/null | awk '{ print $2 }'
}

# ---------------------------------------------------------------- nodes: names, addresses
node_count() {
  [[ -f $BASE/cluster.env ]] || die "no cluster in $BASE (run '$PROG up' first)"
  local n; n=$(cluster_env NODES)
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

# ---------------------------------------------------------------- processes (pid files only)
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

port_busy() { # port_busy IP PORT -> 0 if something listens on IP:PORT or on the wildcard
  ss -ltnH 2>/dev/null | awk -v ip="$1" -v port="$2" '
    { n = split($4, a, ":"); p = a[n]; h = substr($4, 1, length($4) - length(p) - 1)
      if (p == port && (h == ip || h == "0.0.0.0" || h == "*" || h == "[::]" || h == "[::ffff:" ip "]")) f = 1 }
    END { exit !f }'
}

# ---------------------------------------------------------------- HTTP, SQL, logs, time
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-2}" "$1" 2>/dev/null || true; }
api() { echo "http://$(node_ip "$1"):$API_PORT$2"; }
# psql_at i SQL -> single value (superuser, over TCP, 3 s connect timeout, 10 s statement)
psql_at() {
  PGPASSWORD=$SUPERUSER_PASSWORD PGCONNECT_TIMEOUT=3 PGOPTIONS="-c statement_timeout=10000" \
    timeout 15 "$PG_BIN/psql" -X -qAt -h "$(node_ip "$1")" -p "$PG_PORT" -U postgres -d postgres -c "$2" 2>/dev/null
}
tail_log() { local f=$1; [[ -f $f ]] || return 0; echo "----- tail -n ${2:-30} $f" >&2; tail -n "${2:-30}" "$f" >&2 || true; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%01d' $((d / 1000)) $((d % 1000 / 100)); }
