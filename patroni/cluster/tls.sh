# shellcheck shell=bash
# Sourced by local-cluster.sh: the opt-in TLS cluster (CLUSTER_SSL=1). A test CA of the cluster's
# own and one server certificate per node, made with openssl under $BASE/tls:
#   ca.crt, ca.key                     the CA (CN "Patroxy test CA", 30 days)
#   postgresql<i>.crt, .key            node i: SAN IP:127.0.0.(B+i) and DNS:postgresql<i>; owned
#                                      by postgres, key 0600 (PostgreSQL refuses a laxer key)
#   NAME.crt, NAME.key                 any other certificate 'cert NAME ADDR...' issues (Patroxy's)
# Every node runs with ssl = on and those files; pg_hba has only 'hostssl' lines for TCP (client
# sessions, replication and pg_rewind alike: nothing reaches PostgreSQL in plaintext over TCP; the
# unix socket keeps 'local'). Patroni's own connections (superuser, replication, rewind) verify the
# member they reach against the CA (sslmode=verify-full): patroni_yml.py writes all of it into each
# node's copy of patroni/patroni.yml, which the shipped file does not carry.

tls_dir() { echo "$BASE/tls"; }
ssl_on() { [[ ${CLUSTER_SSL:-0} == 1 ]]; }

tls_ca() { # makes the CA once
  local d; d=$(tls_dir)
  [[ -f $d/ca.crt && -f $d/ca.key ]] && return 0
  command -v openssl >/dev/null || die "openssl not installed (run '$PROG install')"
  mkdir -p "$d"; chmod 755 "$d"
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 30 -keyout "$d/ca.key" -out "$d/ca.crt" \
    -subj "/CN=Patroxy test CA $(node_ip 0 | tr . -)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "openssl: the test CA failed"; }
  chmod 600 "$d/ca.key"; chmod 644 "$d/ca.crt"
}

# tls_issue NAME OWNER SAN...: NAME.crt / NAME.key signed by the CA (SAN entries: IP:a.b.c.d or
# DNS:name; an address without a prefix is taken as IP), the key 0600 owned by OWNER.
tls_issue() {
  local name=$1 owner=$2 d san="" s; shift 2
  d=$(tls_dir)
  tls_ca
  for s in "$@"; do
    [[ $s == *:* ]] || s="IP:$s"
    san+="${san:+,}$s"
  done
  [[ -n $san ]] || die "cert $name: at least one address or DNS name"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" -subj "/CN=$name" \
    >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "openssl: the key of $name failed"; }
  openssl x509 -req -sha256 -days 30 -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/$name.crt" -extfile <(printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' "$san") \
    >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "openssl: signing $name failed"; }
  rm -f "$d/$name.csr"
  chown "$owner" "$d/$name.key" "$d/$name.crt"; chmod 600 "$d/$name.key"; chmod 644 "$d/$name.crt"
}

tls_node_cert() { # node i's server certificate (made once)
  local i=$1 name; name=$(node_name "$i")
  [[ -f $(tls_dir)/$name.crt ]] || tls_issue "$name" postgres:postgres "IP:$(node_ip "$i")" "DNS:$name"
}

# cert NAME ADDR|DNS:NAME...: a certificate from the cluster's CA for something beside the cluster
# (Patroxy in front of it); prints the certificate's, the key's and the CA's paths, one a line.
cmd_cert() {
  need_root
  [[ $# -ge 2 ]] || die "cert: NAME and at least one address required"
  local name=$1; shift
  ssl_on || die "cert: the cluster in $BASE runs without TLS (up it with CLUSTER_SSL=1)"
  [[ $name =~ ^[A-Za-z0-9_.-]+$ && $name != ca && $name != postgresql[0-9]* ]] || die "cert: bad name '$name'"
  tls_issue "$name" root:root "$@"
  printf '%s\n' "$(tls_dir)/$name.crt" "$(tls_dir)/$name.key" "$(tls_dir)/ca.crt"
}
