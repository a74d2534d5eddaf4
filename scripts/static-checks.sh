#!/usr/bin/env bash
# Static checks of the shipping files (issue #6). Installs what it needs (Debian packages
# via apt, npm linters under .tools/npm), idempotently; exits non-zero on any failure.
#   docker-compose config -q   docker-compose.yml (Debian's docker-compose 1.29, no engine needed)
#   dockerfilelint + dockerfile-utils   every Dockerfile (+ base images must carry a tag)
#   systemd-analyze verify     deploy/systemd/patroxy.service
#   promtool check config      monitoring/prometheus/prometheus.yml
#   YAML sanity                deploy/kubernetes/patroxy.yaml, Grafana provisioning
#   scripts/check-topology.py  compose vs patroni/patroni.yml vs patroni/local-cluster.sh
#   scripts/check-links.py     every link of the README and docs/ resolves
# Usage: scripts/static-checks.sh        (run as root for the installs, or with the tools present)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
TOOLS="$ROOT/.tools/npm"
NPM_PACKAGES=(dockerfilelint@1.8.0 dockerfile-utils@0.16.3)
DOCKERFILES=(patroni/Dockerfile src/main/docker/Dockerfile src/main/docker/Dockerfile.jvm
             src/main/docker/Dockerfile.native src/main/docker/Dockerfile.native-micro)
PY=/usr/bin/python3
FAILED=()

say() { printf '\n== %s\n' "$*"; }
ok() { echo "OK: $*"; }
fail() { echo "FAIL: $*" >&2; FAILED+=("$1"); }
die() { echo "static-checks: ERROR: $*" >&2; exit 2; }

# ---------------------------------------------------------------- tools
apt_install() { # apt_install PKG... (waits for a dpkg lock held by someone else)
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages $*; run as root or install them"
  local i policy_added=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then # no service may start (prometheus' postinst)
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
  fi
  for i in $(seq 1 60); do
    if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -print -quit 2>/dev/null) ]]; then
      apt-get update -qq >/dev/null 2>&1 || { sleep 5; continue; }
    fi
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/tmp/static-checks-apt.log 2>&1; then
      ((policy_added)) && rm -f /usr/sbin/policy-rc.d
      return 0
    fi
    if grep -q 'Could not get lock\|dpkg was interrupted\|Unable to acquire' /tmp/static-checks-apt.log; then
      echo "static-checks: dpkg lock held by another apt, waiting ($i/60)"; sleep 5; continue
    fi
    grep -q 'Unable to locate package' /tmp/static-checks-apt.log && apt-get update -qq >/dev/null 2>&1 && continue
    break
  done
  ((policy_added)) && rm -f /usr/sbin/policy-rc.d
  cat /tmp/static-checks-apt.log >&2
  die "apt-get install $* failed"
}

need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v promtool >/dev/null || need+=(prometheus)
command -v systemd-analyze >/dev/null || need+=(systemd)
[[ -x /usr/bin/java ]] || need+=(openjdk-17-jre-headless) # the unit's ExecStart must exist
"$PY" -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if ((${#need[@]})); then echo "static-checks: installing ${need[*]}"; apt_install "${need[@]}"; fi

if [[ ! -x $TOOLS/node_modules/.bin/dockerfilelint || ! -x $TOOLS/node_modules/.bin/dockerfile-utils ]]; then
  command -v npm >/dev/null || apt_install npm
  echo "static-checks: installing ${NPM_PACKAGES[*]} under .tools/npm"
  mkdir -p "$TOOLS"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$TOOLS" "${NPM_PACKAGES[@]}" >/dev/null ||
    die "npm install ${NPM_PACKAGES[*]} failed"
fi
DFL="$TOOLS/node_modules/.bin/dockerfilelint"
DFU="$TOOLS/node_modules/.bin/dockerfile-utils"

# ---------------------------------------------------------------- compose
say "docker-compose config -q (docker-compose $(docker-compose version --short 2>/dev/null), empty environment)"
if out=$(env -i PATH="$PATH" HOME="${HOME:-/root}" docker-compose -f docker-compose.yml config -q 2>&1) && [[ -z $out ]]; then
  ok "docker-compose.yml is valid"
else
  echo "$out" >&2; fail "docker-compose config"
fi

# ---------------------------------------------------------------- Dockerfiles
say "Dockerfile lint (dockerfilelint $("$DFL" --version 2>/dev/null), dockerfile-utils)"
for f in "${DOCKERFILES[@]}"; do
  [[ -f $f ]] || { fail "missing $f"; continue; }
  cfg=()
  [[ $f == src/main/docker/Dockerfile ]] && cfg=(-c scripts/lint/multistage)
  if out=$("$DFL" "${cfg[@]}" "$f" 2>&1); then ok "dockerfilelint $f"; else echo "$out" >&2; fail "dockerfilelint $f"; fi
  if out=$("$DFU" lint "$f" 2>&1) && [[ -z $out ]]; then ok "dockerfile-utils lint $f"; else echo "$out" >&2; fail "dockerfile-utils $f"; fi
  # every base image that is not an earlier stage must be pinned to a tag or digest
  stages=$(sed -nE 's/^FROM[[:space:]]+[^[:space:]]+[[:space:]]+[Aa][Ss][[:space:]]+([^[:space:]]+).*/\1/p' "$f")
  while read -r img; do
    [[ -z $img ]] && continue
    base=${img%%\$*}
    grep -qxF "$img" <<<"$stages" && continue
    [[ -n $base && $base != "$img" ]] && grep -q "^$base" <<<"$stages" && continue # run-${BUILD}
    [[ $img == *@sha256:* || ${img##*/} == *:* ]] && [[ ${img##*:} != latest ]] ||
      fail "$f: base image '$img' has no pinned tag"
  done < <(sed -nE 's/^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?([^[:space:]]+).*/\2/p' "$f")
done

# ---------------------------------------------------------------- systemd
say "systemd-analyze verify deploy/systemd/patroxy.service ($(systemd-analyze --version | head -n1))"
# Verified as shipped: ExecStart=/usr/bin/java must exist (it does, or was installed above).
# Any warning (unknown key, bad value) counts as a failure: verify itself only exits 1 on errors.
if out=$(systemd-analyze verify deploy/systemd/patroxy.service 2>&1) && [[ -z $out ]]; then
  ok "patroxy.service verifies cleanly"
  systemd-analyze security --offline=true deploy/systemd/patroxy.service 2>/dev/null | tail -n1 || true
else
  echo "$out" >&2; fail "systemd-analyze verify"
fi
grep -q '^User=patroxy$' deploy/systemd/patroxy.service || fail "patroxy.service must run as User=patroxy"
grep -q '^EnvironmentFile=/etc/patroxy/patroxy.env$' deploy/systemd/patroxy.service || fail "patroxy.service EnvironmentFile"
grep -qE '^PATROXY_MEMBERS=.+' deploy/systemd/patroxy.env || fail "deploy/systemd/patroxy.env has no PATROXY_MEMBERS"

# ---------------------------------------------------------------- Prometheus
say "promtool check config monitoring/prometheus/prometheus.yml ($(promtool --version 2>&1 | head -n1))"
if out=$(promtool check config monitoring/prometheus/prometheus.yml 2>&1); then echo "$out"; ok "prometheus.yml"; else echo "$out" >&2; fail "promtool check config"; fi

# ---------------------------------------------------------------- YAML sanity
say "YAML sanity: deploy/kubernetes/patroxy.yaml, Grafana provisioning"
if "$PY" - <<'PY'
import sys, yaml
errs = []
docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/patroxy.yaml")) if d is not None]
kinds = {d.get("kind"): d for d in docs}
for d in docs:
    for k in ("apiVersion", "kind", "metadata"):
        if k not in d:
            errs.append("k8s document without %s" % k)
dep, svc = kinds.get("Deployment"), kinds.get("Service")
if not dep or not svc:
    errs.append("k8s: need a Deployment and a Service, got %s" % sorted(kinds))
else:
    spec = dep["spec"]
    if spec.get("replicas") != 2:
        errs.append("Deployment replicas must be 2")
    if spec["selector"]["matchLabels"] != spec["template"]["metadata"]["labels"]:
        errs.append("Deployment selector does not match the pod labels")
    if svc["spec"]["selector"] != spec["template"]["metadata"]["labels"]:
        errs.append("Service selector does not match the pod labels")
    c = spec["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # more PostgreSQL ports come with PATROXY_LISTENERS (check-topology.py matches them)
    if ports.get("postgresql") != 5432 or ports.get("stats") != 7000:
        errs.append("container ports %s: need postgresql 5432 and stats 7000" % ports)
    for probe, path in (("readinessProbe", "/q/health/ready"), ("livenessProbe", "/q/health/live")):
        g = (c.get(probe) or {}).get("httpGet") or {}
        if g.get("path") != path or ports.get(g.get("port"), g.get("port")) != 7000:
            errs.append("%s must be httpGet %s on 7000, is %s" % (probe, path, g))
    for p in svc["spec"]["ports"]:
        if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
            errs.append("Service targetPort %s is not a container port" % p.get("targetPort"))
for f in ("monitoring/grafana/provisioning/datasources/prometheus.yml",
          "monitoring/grafana/provisioning/dashboards/patroxy.yml"):
    d = yaml.safe_load(open(f))
    if d.get("apiVersion") != 1 or not (d.get("datasources") or d.get("providers")):
        errs.append("%s: not a Grafana provisioning file" % f)
for e in errs:
    print("  - " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY
then ok "kubernetes manifest and Grafana provisioning parse and hang together"; else fail "YAML sanity"; fi

# ---------------------------------------------------------------- topology
say "scripts/check-topology.py"
if "$PY" scripts/check-topology.py; then :; else fail "check-topology"; fi

# ---------------------------------------------------------------- documentation links
say "scripts/check-links.py"
if "$PY" scripts/check-links.py; then :; else fail "check-links"; fi

# ---------------------------------------------------------------- file size
# issue 10: no file of the product (src/main, patroni/) over 400 lines; split it by concern instead
say "file size (src/main, patroni/: at most 400 lines each)"
long=$(git ls-files src/main patroni | while read -r f; do n=$(wc -l <"$f"); ((n <= 400)) || echo "$f ($n lines)"; done)
if [[ -z $long ]]; then ok "no file over 400 lines"; else echo "$long" >&2; fail "file size"; fi

# ---------------------------------------------------------------- verdict
echo
if ((${#FAILED[@]})); then
  echo "static-checks: FAILED (${#FAILED[@]}): ${FAILED[*]}" >&2
  exit 1
fi
echo "static-checks: all passed"
