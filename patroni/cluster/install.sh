# shellcheck shell=bash
# Sourced by local-cluster.sh: the Debian packages the cluster runs on and, for PATRONI_MAJOR=4,
# Debian 13's Patroni 4 unpacked beside them.

PACKAGES=(postgresql-15 postgresql-client-15 patroni zookeeper python3-kazoo python3-psycopg2
          python3-yaml haproxy curl jq procps util-linux openssl nftables)
# What Patroni 4 imports, from Debian 12 (Debian 12's patroni package depends on them too).
PATRONI4_PYTHON_PACKAGES=(python3-click python3-dateutil python3-prettytable python3-psutil
                          python3-urllib3 python3-cdiff)
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

missing_packages() {
  local p all=("${PACKAGES[@]}")
  [[ $PATRONI_MAJOR != 4 ]] || all+=("${PATRONI4_PYTHON_PACKAGES[@]}")
  for p in "${all[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
missing_anything() { [[ -n $(missing_packages) ]] || ! patroni_version >/dev/null; }

cmd_install() {
  need_root
  install_packages
  [[ $PATRONI_MAJOR != 4 ]] || install_patroni4
}

install_packages() {
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

# The URI this machine's own apt sources fetch its Debian release from.
debian_mirror() {
  local codename; codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  # shellcheck disable=SC2016
  apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
    awk -v c="$codename" '$1 == c { print $2; exit }'
}

# Patroni 4 = Debian 13 (trixie)'s patroni package, unpacked into PATRONI4_HOME with no change to
# this machine's apt sources nor to dpkg's database: a throw-away apt directory lists trixie from
# the mirror the machine's sources already use (the Release file checked against Debian's archive
# keyring), 'apt-get download' fetches the .deb, 'dpkg-deb -x' unpacks it. It runs on Debian 12's
# python3 and Python packages (select_patroni puts its own directory first on PYTHONPATH).
install_patroni4() {
  local v tmp mirror deb new=$PATRONI4_HOME.new
  if v=$(patroni_version) && [[ $v == 4.* ]]; then log "Patroni $v present in $PATRONI4_HOME"; return 0; fi
  need_root
  mirror=$(debian_mirror)
  [[ -n $mirror ]] || die "cannot tell this machine's Debian mirror (apt-get indextargets)"
  [[ -f $DEBIAN_KEYRING ]] || die "missing $DEBIAN_KEYRING (apt-get install debian-archive-keyring)"
  tmp=$(mktemp -d /tmp/patroni4-apt.XXXXXX)
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/sources.list.d"
  echo "deb [signed-by=$DEBIAN_KEYRING] $mirror $PATRONI4_SUITE main" >"$tmp/sources.list"
  local -a apt=(apt-get -q -o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=$tmp/sources.list.d"
                -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
  log "fetching Debian $PATRONI4_SUITE's patroni package into $PATRONI4_HOME"
  if ! "${apt[@]}" update >"$tmp/apt.log" 2>&1 || ! (cd "$tmp" && "${apt[@]}" download patroni >>"$tmp/apt.log" 2>&1); then
    cat "$tmp/apt.log" >&2; rm -rf "$tmp"
    die "cannot download Debian $PATRONI4_SUITE's patroni package"
  fi
  deb=$(find "$tmp" -maxdepth 1 -name 'patroni_*.deb' -print -quit)
  rm -rf "$new"
  dpkg-deb -x "$deb" "$new" || { rm -rf "$tmp" "$new"; die "dpkg-deb -x $deb failed"; }
  dpkg-deb -f "$deb" Version >"$new/DEBIAN-VERSION"
  rm -rf "$tmp"
  v=$(PYTHONPATH=$new/usr/lib/python3/dist-packages /usr/bin/python3 "$new/usr/bin/patroni" --version 2>&1) || v="fails: $v"
  [[ $v == "patroni 4."* ]] || { rm -rf "$new"; die "the unpacked Patroni does not run on this machine's python3: $v"; }
  rm -rf "$PATRONI4_HOME"; mv "$new" "$PATRONI4_HOME"
  log "$v (Debian $(cat "$PATRONI4_HOME/DEBIAN-VERSION")) in $PATRONI4_HOME"
}
