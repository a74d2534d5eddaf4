# shellcheck shell=bash
# Sourced by local-cluster.sh: the cluster as a whole: up, down, add-node, switchover.

set_cluster_env() { sed -i "s/^$1=.*/$1=$2/" "$BASE/cluster.env"; }

anything_alive() {
  local n i
  zk_pid >/dev/null && return 0
  haproxy_pid >/dev/null && return 0
  n=$(node_count)
  for ((i = 0; i < n; i++)); do [[ -n $(node_pids "$i") ]] && return 0; done
  return 1
}

cmd_up() {
  need_root
  local n=${1:-$DEFAULT_NODES} i v t0=$SECONDS
  if ! is_uint "$n" || ((n < 1 || n > MAX_NODES)); then die "up: N must be 1..$MAX_NODES (got '$n')"; fi
  ((ADDR_BASE + n - 1 <= 254)) || die "CLUSTER_ADDR_BASE=$ADDR_BASE leaves no room for $n nodes below 127.0.0.255"
  for v in TTL LOOP_WAIT RETRY_TIMEOUT; do is_uint "${!v}" || die "CLUSTER_$v must be an integer"; done
  ((LOOP_WAIT + 2 * RETRY_TIMEOUT <= TTL)) ||
    die "Patroni requires loop_wait + 2*retry_timeout <= ttl (got $LOOP_WAIT + 2*$RETRY_TIMEOUT > $TTL)"
  # Patroni 4 (not 3.0.2) refuses ttl < 20 and retry_timeout < 3 (and would raise them at run time)
  [[ $PATRONI_MAJOR != 4 ]] || ((TTL >= 20 && RETRY_TIMEOUT >= 3)) ||
    die "Patroni 4 requires ttl >= 20 and retry_timeout >= 3 (got CLUSTER_TTL=$TTL CLUSTER_RETRY_TIMEOUT=$RETRY_TIMEOUT)"
  [[ -f $SHIPPED_YML ]] || die "missing $SHIPPED_YML"
  if [[ -f $BASE/cluster.env ]]; then
    local have; have=$(node_count)
    if anything_alive; then
      local was_base was_major was_ssl
      was_base=$(cluster_env ADDR_BASE); was_major=$(cluster_env PATRONI_MAJOR); was_ssl=$(cluster_env SSL)
      [[ ${was_base:-2} == "$ADDR_BASE" && ${was_major:-3} == "$PATRONI_MAJOR" && ${was_ssl:-0} == "$CLUSTER_SSL" ]] ||
        die "a cluster is running in $BASE with CLUSTER_ADDR_BASE=${was_base:-2} PATRONI_MAJOR=${was_major:-3} CLUSTER_SSL=${was_ssl:-0} (not $ADDR_BASE, $PATRONI_MAJOR, $CLUSTER_SSL); '$PROG down' it first"
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
  ! missing_anything || cmd_install
  for ((i = 0; i < n; i++)); do check_node_ports "$i"; done
  mkdir -p "$BASE"; chmod 755 "$BASE"
  printf 'NODES=%s\nTTL=%s\nLOOP_WAIT=%s\nRETRY_TIMEOUT=%s\nADDR_BASE=%s\nPATRONI_MAJOR=%s\nSSL=%s\n' \
    "$n" "$TTL" "$LOOP_WAIT" "$RETRY_TIMEOUT" "$ADDR_BASE" "$PATRONI_MAJOR" "$CLUSTER_SSL" >"$BASE/cluster.env"
  gen_patroni_yml "$BASE/patroni.yml"   # shared copy (patronictl)
  for ((i = 0; i < n; i++)); do
    mkdir -p "$(node_dir "$i")"; gen_patroni_yml "$(node_dir "$i")/patroni.yml" "$i"
  done
  start_zookeeper
  # validate the generated configuration as Patroni sees it for node 0
  local -a envv; mapfile -t envv < <(node_env 0)
  local out
  out=$(env -i "${envv[@]}" /usr/bin/python3 "$PATRONI" --validate-config "$(node_dir 0)/patroni.yml" 2>&1) ||
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
  cmd_unblock   # a partition of this cluster's (nftables table) goes with it
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
    kill_pids_of "$i"
  done
  stop_zookeeper
  if ((keep)); then log "stopped; kept $BASE"; else rm -rf "$BASE"; log "stopped; removed $BASE"; fi
}

# add-node: a new member joins the running cluster: node N (the next address), cloned from the
# leader by Patroni (pg_basebackup), waited for until the cluster is healthy again; prints its
# name. If it does not come up as a replica it is removed again.
cmd_add_node() {
  need_root
  local n i name d t0=$SECONDS role
  n=$(node_count); i=$n; name=$(node_name "$i"); d=$(node_dir "$i")
  ((n < MAX_NODES)) || die "add-node: the cluster has $n nodes already (at most $MAX_NODES)"
  ((ADDR_BASE + i <= 254)) || die "add-node: no room for $name below 127.0.0.255 (CLUSTER_ADDR_BASE=$ADDR_BASE)"
  zk_ok || die "add-node: ZooKeeper $ZK_HOST:$ZK_PORT does not answer (it joins a running cluster)"
  current_leader >/dev/null || die "add-node: the cluster has no leader to clone from"
  check_node_ports "$i"
  rm -rf "$d"; mkdir -p "$d"; gen_patroni_yml "$d/patroni.yml" "$i"
  set_cluster_env NODES $((n + 1))
  if ! role=$(start_node "$i" && wait_running "$i"); then
    log "$name did not join: removing it"
    kill_pids_of "$i"; rm -rf "$d"; set_cluster_env NODES "$n"
    die "add-node failed"
  fi
  wait_healthy
  log "$name joined as $role in $((SECONDS - t0)) s"
  if haproxy_pid >/dev/null; then
    log "NOTE: the running HAProxy does not know $name ('haproxy-down; haproxy-up' renders it again)"
  fi
  echo "$name"
}

cmd_switchover() {
  local leader cand json
  json=$(cluster_json) || die "no member answers /cluster"
  leader=$(jq -r ".members[] | select($IS_LEADER) | .name" <<<"$json" | head -n1)
  [[ -n $leader ]] || die "no leader"
  cand=${1:-}
  if [[ -z $cand ]]; then
    cand=$(jq -r '.members[] | select(.role == "sync_standby") | .name' <<<"$json" | head -n1)
    [[ -n $cand ]] || cand=$(jq -r --arg l "$leader" '.members[] | select(.name != $l) | .name' <<<"$json" | head -n1)
  fi
  [[ -n $cand && $cand != "$leader" ]] || die "no switchover candidate"
  node_index "$cand" >/dev/null
  log "switchover $leader -> $cand"
  # --leader: Patroni 3.0.2 also takes --master, Patroni 4 only --leader/--primary
  PATRONICTL_TIMEOUT=60 patronictl_run switchover --leader "$leader" --candidate "$cand" --force >&2 ||
    die "patronictl switchover failed"
  local deadline=$((SECONDS + UP_TIMEOUT)) ci; ci=$(node_index "$cand")
  until [[ $(http_code "$(api "$ci" /primary)") == 200 ]]; do
    ((SECONDS < deadline)) || die "$cand did not become primary"
    sleep 0.5
  done
  echo "$cand"
}
