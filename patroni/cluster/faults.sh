# shellcheck shell=bash
# Sourced by local-cluster.sh: faults for the tests: a hard kill, a frozen node or Patroni, a
# frozen ZooKeeper, a split brain (pause, promote behind Patroni's back) and its healing.

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

# ---------------------------------------------------------------- split brain
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
  local k keep n i p t0 t deadline others=() role ktl
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
        [[ $role == leader || $role == primary || $role == master ]]; do
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
  for i in "${others[@]}"; do rejoin "$i" "$ktl"; done
  # 7. healthy: one leader, streaming sync standby
  t=$(now_ms)
  wait_healthy
  log "heal-split: [7] healthy after $(secs_since "$t") s; total $(secs_since "$t0") s, leader $keep (timeline $ktl)"
}

rejoin() { # rejoin i TIMELINE: start node i and wait until it is a replica on TIMELINE; else reinit
  local i=$1 ktl=$2 name t deadline tl; name=$(node_name "$i"); t=$(now_ms)
  start_node "$i"
  deadline=$((SECONDS + UP_TIMEOUT / 2))
  until [[ $(http_code "$(api "$i" /replica)") == 200 ]] && tl=$(member_timeline "$i") && [[ $tl == "$ktl" ]]; do
    if ((SECONDS >= deadline)); then
      log "$name did not rejoin on timeline $ktl: patronictl reinit"
      patronictl_run reinit "$(cluster_scope)" "$name" --force --wait >&2 || die "patronictl reinit $name failed"
      deadline=$((SECONDS + UP_TIMEOUT))
      until [[ $(http_code "$(api "$i" /replica)") == 200 ]]; do
        ((SECONDS < deadline)) || die "$name not a running replica after reinit"
        sleep 0.5
      done
      break
    fi
    sleep 0.5
  done
  log "heal-split: [6] $name replica on timeline $ktl after $(secs_since "$t") s"
}
cluster_scope() { sed -n 's/^scope: *//p' "$BASE/patroni.yml" | head -n1; }

# ---------------------------------------------------------------- Patroni alone, ZooKeeper, partitions

# Patroni alone gets SIGKILL; its PostgreSQL goes on running, without anyone to demote it (a
# primary stays a primary: its commits hang in synchronous replication once its standby is gone).
kill_patroni() {
  local i=$1 name p; name=$(node_name "$i")
  p=$(patroni_pid "$i") || die "$name: Patroni is not running"
  kill -KILL "$p" 2>/dev/null || true
  wait_gone 10 "$p" || die "$name: Patroni pid $p survived SIGKILL"
  local f; f=$(node_dir "$i")/frozen.pids
  [[ ! -f $f ]] || { grep -vx "$p" "$f" >"$f.tmp" || true; mv "$f.tmp" "$f"; }
  log "$name: Patroni killed (SIGKILL pid $p; PostgreSQL $(postmaster_pid "$i" >/dev/null && echo 'left running' || echo 'not running'))"
}

# start-patroni NAME: Patroni again beside the PostgreSQL it left running (kill-patroni); it adopts
# the running postmaster (and demotes it when another member holds the leader key).
cmd_start_patroni() {
  need_root
  [[ $# -ge 1 ]] || die "start-patroni: NAME required"
  local i t0=$SECONDS role; i=$(node_index "$1")
  zk_pid >/dev/null || start_zookeeper
  ADOPT_POSTMASTER=1 start_node "$i"
  role=$(wait_running "$i")
  log "$(node_name "$i") running as $role after $((SECONDS - t0)) s (Patroni restarted beside its PostgreSQL)"
}

cmd_stop_zk() {
  need_root
  node_count >/dev/null
  zk_pid >/dev/null || die "ZooKeeper is not running"
  stop_zookeeper
  log "ZooKeeper stopped (its data kept in $BASE/zookeeper)"
}
cmd_start_zk() { need_root; node_count >/dev/null; start_zookeeper; log "ZooKeeper answering"; }

# A network partition between the local processes of one group (GID: their sockets' group) and a
# member: every packet they send to the member's PostgreSQL and REST API ports is dropped on the
# output hook, so connects time out and established connections stall (nothing is refused). The
# cluster's members and everything else still reach it. One nftables table of this cluster's own,
# inet patroxy_cluster_<B>; 'unblock' and 'down' delete it.
NFT_TABLE() { echo "patroxy_cluster_$ADDR_BASE"; }
need_nft() {
  command -v nft >/dev/null || PACKAGES=(nftables) install_packages
  command -v nft >/dev/null || die "nft (Debian's nftables) is missing and could not be installed"
  nft list tables >/dev/null || die "nft cannot list tables (no nf_tables in this kernel, or not root)"
}
cmd_block() { # block NAME GID
  need_root
  [[ $# -ge 2 ]] || die "block: NAME GID required"
  is_uint "$2" || die "block: GID must be a number (got '$2')"
  local i ip t; i=$(node_index "$1"); ip=$(node_ip "$i"); t=$(NFT_TABLE)
  need_nft
  nft -f - <<NFT || die "nft: cannot add the drop rule"
table inet $t {
  chain output {
    type filter hook output priority filter; policy accept;
  }
}
add rule inet $t output ip daddr $ip tcp dport { $PG_PORT, $API_PORT } meta skgid $2 counter drop comment "partition $1 gid $2"
NFT
  log "$1: packets from gid $2 to $ip:{$PG_PORT,$API_PORT} dropped (nft table inet $t)"
}
cmd_unblock() {
  need_root
  local t; t=$(NFT_TABLE)
  command -v nft >/dev/null || return 0
  if nft list table inet "$t" >/dev/null 2>&1; then
    log "partition healed: $(nft list table inet "$t" | grep -o 'counter packets [0-9]*' | tr '\n' ' ')dropped; table inet $t deleted"
    nft delete table inet "$t"
  fi
}

# reinit NAME: a member that does not come back by itself (e.g. Patroni shows "start failed"
# after a crash) is cloned again from the leader: patronictl reinit, then wait until it streams.
cmd_reinit() {
  need_root
  [[ $# -ge 1 ]] || die "reinit: NAME required"
  local i name t0=$SECONDS deadline; i=$(node_index "$1"); name=$(node_name "$i")
  patroni_pid "$i" >/dev/null || start_node "$i"
  log "$name: patronictl reinit"
  PATRONICTL_TIMEOUT=$UP_TIMEOUT patronictl_run reinit "$(cluster_scope)" "$name" --force --wait >&2 || die "patronictl reinit $name failed"
  deadline=$((SECONDS + UP_TIMEOUT))
  until [[ $(http_code "$(api "$i" /replica)") == 200 ]]; do
    ((SECONDS < deadline)) || die "$name not a running replica after reinit"
    sleep 0.5
  done
  log "$name: reinitialised, a running replica after $((SECONDS - t0)) s"
}
