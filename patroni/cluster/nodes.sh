# shellcheck shell=bash
# Sourced by local-cluster.sh: one node's processes. Node i = Patroni (as 'postgres', pid file
# $BASE/postgresql<i>/patroni.pid) and the PostgreSQL it runs (data/postmaster.pid).

# gen_patroni_yml DEST [i]: the shared copy (patronictl), or node i's own: its socket directory
# and, in a TLS cluster, its certificate (made here when missing)
gen_patroni_yml() {
  local -a opts=()
  if [[ -n ${2:-} ]]; then opts+=(--socket-dir "$(node_dir "$2")"); fi
  if ssl_on; then
    tls_ca
    opts+=(--ssl-ca "$(tls_dir)/ca.crt")
    if [[ -n ${2:-} ]]; then
      tls_node_cert "$2"
      opts+=(--ssl-cert "$(tls_dir)/$(node_name "$2").crt" --ssl-key "$(tls_dir)/$(node_name "$2").key")
    fi
  fi
  /usr/bin/python3 "$PARTS/patroni_yml.py" "${opts[@]}" "$SHIPPED_YML" "$1" "$TTL" "$LOOP_WAIT" "$RETRY_TIMEOUT" \
    "$ZK_HOST:$ZK_PORT"
  chmod 644 "$1"
}

node_env() { # environment of node i (Patroni's own variables)
  local i=$1 ip d; ip=$(node_ip "$i"); d=$(node_dir "$i")
  patroni_env
  cat <<ENV
HOME=/var/lib/postgresql
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
ENV
}

check_node_ports() { # check_node_ports i: dies when node i's PostgreSQL or REST API port is taken
  local ip port; ip=$(node_ip "$1")
  for port in "$PG_PORT" "$API_PORT"; do
    ! port_busy "$ip" "$port" || die "$(node_name "$1"): $ip:$port (or 0.0.0.0:$port) is already in use"
  done
}

start_node() { # start_node i (does not wait)
  local i=$1 d name; d=$(node_dir "$i"); name=$(node_name "$i")
  if patroni_pid "$i" >/dev/null; then log "$name: Patroni already running"; return 0; fi
  if postmaster_pid "$i" >/dev/null; then
    # start-patroni (ADOPT_POSTMASTER=1): Patroni adopts the PostgreSQL a kill-patroni left running
    [[ ${ADOPT_POSTMASTER:-0} == 1 ]] || die "$name: a postmaster is still running without Patroni (run '$PROG stop $name' first)"
    ! port_busy "$(node_ip "$i")" "$API_PORT" || die "$name: $(node_ip "$i"):$API_PORT is already in use"
  else
    check_node_ports "$i"
  fi
  mkdir -p "$d"; chown postgres:postgres "$d"; chmod 700 "$d"
  node_env "$i" >"$d/patroni.env"; chmod 600 "$d/patroni.env"
  [[ -f $d/patroni.yml ]] || gen_patroni_yml "$d/patroni.yml" "$i"
  rm -f "$d/frozen.pids"
  log "starting $name ($(node_ip "$i"), Patroni $PATRONI_MAJOR)"
  local -a envv; mapfile -t envv <"$d/patroni.env"
  "${DETACH[@]}" "$d/patroni.pid" \
    env -i "${envv[@]}" setpriv --reuid=postgres --regid=postgres --init-groups \
    /usr/bin/python3 "$PATRONI" "$d/patroni.yml" </dev/null >>"$d/patroni.log" 2>&1
  local t=0
  until patroni_pid "$i" >/dev/null; do
    ((t++ < 20)) || { tail_log "$d/patroni.log"; die "$name: Patroni did not start"; }
    sleep 0.25
  done
}

# wait_running i [TIMEOUT]: until node i answers /replica or /primary 200; prints its role
wait_running() {
  local i=$1 deadline=$((SECONDS + ${2:-$UP_TIMEOUT})) c1 c2
  while :; do
    c1=$(http_code "$(api "$i" /replica)"); c2=$(http_code "$(api "$i" /primary)")
    [[ $c2 == 200 ]] && { echo primary; return 0; }
    [[ $c1 == 200 ]] && { echo replica; return 0; }
    if ((SECONDS >= deadline)) || ! patroni_pid "$i" >/dev/null; then
      tail_log "$(node_dir "$i")/patroni.log" 40; die "$(node_name "$i") did not come up as replica or primary"
    fi
    sleep 0.5
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
  kill_pids_of "$i"
}

kill_pids_of() { # kill_pids_of i: SIGKILL every process of node i and wait until they are gone
  local i=$1 pids; pids=$(signal_node KILL "$i")
  # shellcheck disable=SC2086
  [[ -z $pids ]] || wait_gone 10 $pids || die "$(node_name "$i"): processes survived SIGKILL: $pids"
}

resolve_target() { # "leader" or NAME -> index
  local name=$1
  if [[ $name == leader ]]; then name=$(current_leader) || die "no leader found"; fi
  node_index "$name"
}

cmd_start() {
  need_root
  [[ $# -ge 1 ]] || die "start: NAME required"
  local i t0=$SECONDS role; i=$(node_index "$1")
  zk_pid >/dev/null || start_zookeeper
  start_node "$i"
  role=$(wait_running "$i")
  log "$(node_name "$i") running as $role after $((SECONDS - t0)) s"
}
