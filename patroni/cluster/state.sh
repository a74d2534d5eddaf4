# shellcheck shell=bash
# Sourced by local-cluster.sh: what the cluster looks like, from Patroni's REST API (and pid
# files): leader, healthy, status, timeline. Patroni 3 and 4 name things differently: the
# leader's role is "master" in 3's /patroni and "primary" in 4's (both say "leader" in /cluster);
# a replica's state is "running" in 3's /cluster and "streaming" in 4's. Everything here accepts
# both.

# jq test for the member holding the leader key in /cluster
IS_LEADER='(.role == "leader" or .role == "primary" or .role == "master")'

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
  local l; l=$(cluster_json | jq -r ".members[] | select($IS_LEADER) | .name" | head -n1) || true
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
  local n i leader="" replicas=0 sync=0 streaming
  n=$(node_count)
  for ((i = 0; i < n; i++)); do
    patroni_pid "$i" >/dev/null || continue
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
    streaming=$(psql_at "$leader" "select count(*) from pg_stat_replication where state = 'streaming'") || streaming=0
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

print_status() {
  local n i p pm st
  n=$(node_count)
  echo "== $BASE (nodes=$n ttl=$(cluster_env TTL) loop_wait=$(cluster_env LOOP_WAIT) retry_timeout=$(cluster_env RETRY_TIMEOUT) patroni=$(patroni_version || echo "$PATRONI_MAJOR (missing)")$(ssl_on && echo " tls=hostssl, CA $(tls_dir)/ca.crt"))"
  if p=$(zk_pid) && stopped "$p"; then
    echo "zookeeper   pid $p  $ZK_HOST:$ZK_PORT  FROZEN (SIGSTOP; 'thaw-zk')"
  elif p=$(zk_pid); then
    echo "zookeeper   pid $p  $ZK_HOST:$ZK_PORT  $(zk_ok && echo imok || echo 'NOT ANSWERING')"
    PATRONICTL_TIMEOUT=20 patronictl_run list 2>&1 || echo "(patronictl list failed)"
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
      "$( [[ $p == - ]] || curl -s --max-time 2 "$(api "$i" /patroni)" |
          jq -r '"role=\(.role) state=\(.state)\(if .replication_state then "/" + .replication_state else "" end) tl=\(.timeline // "-")"' 2>/dev/null || true)"
  done
  if p=$(haproxy_pid); then
    local ha; ha=$(sed -n 's/^HAPROXY_ADDR=//p' "$BASE/haproxy/ports" 2>/dev/null)
    echo "haproxy     pid $p  ${ha:-127.0.0.1}:$(sed -n 's/^HAPROXY_PORT=//p' "$BASE/haproxy/ports" 2>/dev/null) stats :$(sed -n 's/^HAPROXY_STATS_PORT=//p' "$BASE/haproxy/ports" 2>/dev/null)"
  fi
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
