# shellcheck shell=bash
# Sourced by local-cluster.sh: the cluster's ZooKeeper (one server, ZK_HOST:ZK_PORT, under
# $BASE/zookeeper): start, stop, health, and reading Patroni's keys.

zk_ok() { [[ $( (exec 3<>"/dev/tcp/$ZK_HOST/$ZK_PORT" && echo ruok >&3 && timeout 2 cat <&3) 2>/dev/null) == imok ]]; }

start_zookeeper() {
  local d=$BASE/zookeeper
  if zk_pid >/dev/null; then log "ZooKeeper already running"; return 0; fi
  ! port_busy "$ZK_HOST" "$ZK_PORT" || die "port $ZK_HOST:$ZK_PORT is already in use by something else"
  mkdir -p "$d/data"
  cat >"$d/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$d/data
clientPort=$ZK_PORT
clientPortAddress=$ZK_HOST
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
CFG
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

stop_zookeeper() {
  local p
  p=$(zk_pid) || return 0
  kill -TERM "$p" 2>/dev/null || true
  wait_gone 20 "$p" || { kill -KILL "$p" 2>/dev/null || true; wait_gone 10 "$p" || die "ZooKeeper pid $p survived SIGKILL"; }
}

# zk_key KEY: value of Patroni's /<namespace>/<scope>/KEY in ZooKeeper (empty when missing)
zk_key() {
  timeout 20 /usr/bin/python3 "$PARTS/zk_get.py" "$BASE/patroni.yml" "$ZK_HOST:$ZK_PORT" "$1"
}
sync_key_leader() { # leader named in the /sync key ('' if none); fails if ZooKeeper cannot be read
  local v; v=$(zk_key sync) || return 1
  [[ -z $v ]] && return 0
  jq -r '.leader // empty' <<<"$v"
}
