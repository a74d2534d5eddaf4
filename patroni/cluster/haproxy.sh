# shellcheck shell=bash
# Sourced by local-cluster.sh: HAProxy 2.6 beside the cluster, with the seeds' configuration
# (patroni/haproxy.cfg.template) rendered for the cluster's addresses and nodes.

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
  if [[ -n ${HAPROXY_REPLICAS_PORT:-} ]]; then
    # Patroni's own two-listener template (confd): a replicas listener checking /replica
    ! port_busy "$ha" "$HAPROXY_REPLICAS_PORT" || die "$ha:$HAPROXY_REPLICAS_PORT is already in use (set HAPROXY_REPLICAS_PORT)"
    printf '\nlisten replicas\n    bind %s:%s\n    option httpchk GET /replica\n    http-check expect status 200\n    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions\n%s\n' \
      "$ha" "$HAPROXY_REPLICAS_PORT" "${servers%$'\n'}" >>"$d/haproxy.cfg"
  fi
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

cmd_haproxy_down() { # [quiet]
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
