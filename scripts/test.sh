#!/usr/bin/env bash
# Runs every test of Patroxy, installing what they need on a fresh Debian machine (as root):
#   1. Debian packages: PostgreSQL 15, Patroni 3.0.2, ZooKeeper 3.8, HAProxy 2.6, nftables, and Debian 13's
#      Patroni 4.0.x unpacked into /opt/patroni4 (PATRONI_MAJOR=4 patroni/local-cluster.sh install),
#      a JDK 17 and Chromium (the stats page's browser test);
#   2. static checks of the Docker, Compose, systemd, Prometheus and Kubernetes files (scripts/static-checks.sh);
#   3. ./mvnw -B verify: unit and Quarkus tests, then the packaged jar against a real local
#      Patroni 3 cluster (failover, switchover, rejoin, hung leader, split brain) beside HAProxy, three
#      faults in a row under continuous clients (FaultLoopIT; scripts/fault-loop.sh runs 20), then
#      the scenarios where Patroni's own behaviour matters again on Patroni 4 (docs/testing.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $(id -u) -eq 0 ]] || { echo "test.sh: run as root: the real-cluster tests start PostgreSQL as the postgres user" >&2; exit 2; }

apt_ready=0
need_pkg() { # need_pkg PACKAGE...: installs those not installed yet, with no service started
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  if ((apt_ready == 0)); then apt-get update -qq; apt_ready=1; fi
  echo "test.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

command -v javac >/dev/null 2>&1 || need_pkg openjdk-17-jdk-headless
need_pkg chromium fonts-dejavu-core
PATRONI_MAJOR=4 patroni/local-cluster.sh install   # the packages for both majors, Patroni 4 in /opt/patroni4
scripts/static-checks.sh
exec ./mvnw -B verify "$@"
