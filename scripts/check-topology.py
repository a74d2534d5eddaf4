#!/usr/bin/env python3
"""Topology consistency check: the files that describe the reference cluster must agree.

The seeds' topology (zoo, pg-master, pg-slave) is described in several places:
  docker-compose.yml            containers, Patroni env, PATROXY_MEMBERS, healthchecks
  patroni/patroni.yml           scope, ZooKeeper DCS, the shared Patroni config
  patroni/local-cluster.sh      the loopback real-cluster test bed (ports, names, defaults)
  patroni/Dockerfile            which config file the image runs, healthcheck port
  monitoring/prometheus/prometheus.yml   scrape targets
  deploy/systemd/patroxy.env, deploy/kubernetes/patroxy.yaml   PATROXY_MEMBERS / PATROXY_LISTENERS examples
This script compares each of them with the reference below and with each other, and
exits 1 listing every drift. Needs python3 and PyYAML (Debian: python3-yaml).

Usage: scripts/check-topology.py [REPO_ROOT]
"""
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check-topology: PyYAML missing (apt-get install python3-yaml)")

# ----------------------------------------------------------------- the reference topology
SCOPE = "my_cluster"
ZK_SERVICE, ZK_PORT = "zoo", 2181
PG_PORT, API_PORT = 5432, 8008
STATS_PORT = 7000
# Patroni member name -> compose service / container / host name (seeds' names)
MEMBERS = {"postgresql0": "pg-master", "postgresql1": "pg-slave"}
# lab password defaults shared by compose and local-cluster.sh
PASSWORD_DEFAULTS = {
    "PATRONI_SUPERUSER_PASSWORD": "postgres",
    "PATRONI_REPLICATION_PASSWORD": "rep-pass",
    "PATRONI_REWIND_PASSWORD": "rewind-pass",
}

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
errors = []
checked = []


def err(where, msg):
    errors.append("%s: %s" % (where, msg))


def expect(where, what, actual, wanted):
    checked.append(where)
    if actual != wanted:
        err(where, "%s is %r, expected %r" % (what, actual, wanted))


def read(rel):
    path = os.path.join(root, rel)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        err(rel, "cannot read: %s" % e)
        return None


def load_yaml(rel, multi=False):
    text = read(rel)
    if text is None:
        return None
    try:
        return list(yaml.safe_load_all(text)) if multi else yaml.safe_load(text)
    except yaml.YAMLError as e:
        err(rel, "invalid YAML: %s" % e)
        return None


def host_port(value, where, what):
    m = re.fullmatch(r"\[?([^\]]+?)\]?:(\d+)", str(value).strip())
    if not m:
        err(where, "%s %r is not HOST:PORT" % (what, value))
        return None, None
    return m.group(1), int(m.group(2))


def compose_default(value):
    """'${VAR:-default}' -> 'default' (what compose uses with no environment)."""
    m = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", str(value))
    return m.group(1) if m else value


def parse_members(spec, where):
    """PATROXY_MEMBERS '[name=]host[:pgport[:apiport]],...' -> {name: (host, pg, api)}."""
    out = {}
    for item in str(spec).split(","):
        item = item.strip()
        if not item:
            continue
        name, _, addr = item.rpartition("=")
        parts = addr.split(":")
        host = parts[0]
        pg = int(parts[1]) if len(parts) > 1 and parts[1] else 5432
        api = int(parts[2]) if len(parts) > 2 and parts[2] else 8008
        name = name or host
        if name in out:
            err(where, "PATROXY_MEMBERS names %s twice" % name)
        out[name] = (host, pg, api)
    return out


def check_listeners(env, where):
    """PATROXY_LISTENERS 'NAME=[HOST:]PORT:ROLE[?QUERY][;OPTIONS],...' -> its ports, in order ([] when unset).
    With it, PATROXY_CHECK_PATH is an error at start and PATROXY_LISTEN_PORT is ignored: neither may be set."""
    spec = env.get("PATROXY_LISTENERS")
    if spec is None:
        return []
    ports = []
    for part in str(spec).split(","):
        m = re.fullmatch(r"[A-Za-z0-9_.-]+=(?:[A-Za-z0-9_.-]+:)?(\d+):[a-z-]+(?:\?[^;]*)?(?:;[^;]*)*", part.strip())
        if not m:
            err(where, "PATROXY_LISTENERS: %r is not NAME=[HOST:]PORT:ROLE[?QUERY][;OPTIONS]" % part)
            continue
        ports.append(int(m.group(1)))
    for var in ("PATROXY_CHECK_PATH", "PATROXY_LISTEN_PORT"):
        if var in env:
            err(where, "%s is set beside PATROXY_LISTENERS (each listener has its port and role)" % var)
    return ports


def check_members(spec, where):
    got = parse_members(spec, where)
    want = {name: (svc, PG_PORT, API_PORT) for name, svc in MEMBERS.items()}
    expect(where, "PATROXY_MEMBERS", got, want)


# ----------------------------------------------------------------- patroni/patroni.yml
pyml = load_yaml("patroni/patroni.yml")
if isinstance(pyml, dict):
    w = "patroni/patroni.yml"
    expect(w, "scope", pyml.get("scope"), SCOPE)
    zk = (pyml.get("zookeeper") or {}).get("hosts")
    zk_list = zk if isinstance(zk, list) else [zk] if zk else []
    expect(w, "zookeeper.hosts", [host_port(h, w, "zookeeper host") for h in zk_list], [(ZK_SERVICE, ZK_PORT)])
    for key in ("etcd", "etcd3", "consul", "kubernetes", "raft", "exhibitor"):
        if key in pyml:
            err(w, "declares a second DCS '%s' (the topology uses ZooKeeper only)" % key)
    if "name" in pyml:
        err(w, "sets 'name' (%r): the shared file must leave it to PATRONI_NAME" % pyml["name"])
    for sect in ("restapi",):
        for k in ("listen", "connect_address"):
            if (pyml.get(sect) or {}).get(k):
                err(w, "sets %s.%s: node-specific, must come from the environment" % (sect, k))
    pg = pyml.get("postgresql") or {}
    for k in ("listen", "connect_address", "data_dir"):
        if pg.get(k):
            err(w, "sets postgresql.%s: node-specific, must come from the environment" % k)
    auth = pg.get("authentication") or {}
    for role in ("superuser", "replication", "rewind"):
        if "password" in (auth.get(role) or {}):
            err(w, "has a password for %s: passwords come from PATRONI_*_PASSWORD" % role)

# ----------------------------------------------------------------- patroni/local-cluster.sh
# The dispatcher and the parts it sources (patroni/cluster/*.sh), read as one script.
LC = "patroni/local-cluster.sh"
sh = read(LC)
if sh is not None:
    w = LC
    parts_dir = os.path.join(root, "patroni", "cluster")
    sourced = re.findall(r'^source\s+"\$PARTS/([\w.-]+)"', sh, re.M)
    if not sourced:
        err(w, "sources no part from patroni/cluster/")
    on_disk = sorted(f for f in os.listdir(parts_dir) if f.endswith(".sh")) if os.path.isdir(parts_dir) else []
    for f in sorted(set(on_disk) - set(sourced)):
        err("patroni/cluster/" + f, "not sourced by %s" % LC)
    for f in sourced:
        part = read("patroni/cluster/" + f)
        if part is not None:
            sh += "\n" + part
    for f in sorted(set(re.findall(r'\$PARTS/([\w.-]+\.py)', sh))):
        if not os.path.isfile(os.path.join(parts_dir, f)):
            err(w, "runs patroni/cluster/%s, which does not exist" % f)

    def sh_var(name):
        m = re.search(r"^%s=(\S+)\s*$" % name, sh, re.M)
        if not m:
            err(w, "no top-level %s= assignment found" % name)
            return None
        v = m.group(1).strip("\"'")
        return int(v) if v.isdigit() else v

    def sh_default(name):
        m = re.search(r'^[A-Z_]+="\$\{%s:-([^}]*)\}"' % name, sh, re.M)
        if not m:
            err(w, "no default for %s found" % name)
            return None
        return m.group(1)

    expect(w, "PG_PORT", sh_var("PG_PORT"), PG_PORT)
    expect(w, "API_PORT", sh_var("API_PORT"), API_PORT)
    expect(w, "ZK_PORT", sh_var("ZK_PORT"), ZK_PORT)
    m = re.search(r'^node_name\(\)\s*\{\s*echo\s+"([A-Za-z_-]+)\$1";?\s*\}', sh, re.M)
    n = re.search(r"^cmd_up\(\)\s*\{.*?local n=\$\{1:-\$DEFAULT_NODES\}", sh, re.M | re.S)
    if not m or not n or not isinstance(sh_var("DEFAULT_NODES"), int):
        err(w, "cannot find node_name() / cmd_up's default node count (DEFAULT_NODES)")
    else:
        # 'up' with no N may run more nodes than the seeds (3, for role tests): the seeds' members
        # must be its first ones, with the seeds' names
        names = ["%s%d" % (m.group(1), i) for i in range(sh_var("DEFAULT_NODES"))]
        expect(w, "first member names of 'up' (default N)", names[:len(MEMBERS)], sorted(MEMBERS))
    if not re.search(r'^SHIPPED_YML="\$SCRIPT_DIR/patroni\.yml"', sh, re.M):
        err(w, "does not run the shared patroni/patroni.yml (SHIPPED_YML)")
    scope = re.search(r"PATRONI_SCOPE=(\S+)", sh)
    if scope and scope.group(1) != SCOPE:
        err(w, "overrides PATRONI_SCOPE=%s, expected %s" % (scope.group(1), SCOPE))
    for var, want in PASSWORD_DEFAULTS.items():
        expect(w, "default of %s" % var, sh_default(var), want)

# ----------------------------------------------------------------- docker-compose.yml
compose = load_yaml("docker-compose.yml")
if isinstance(compose, dict):
    w = "docker-compose.yml"
    services = compose.get("services") or {}
    for svc in [ZK_SERVICE, *MEMBERS.values(), "patroxy"]:
        if svc not in services:
            err(w, "service %s missing" % svc)
    zoo = services.get(ZK_SERVICE) or {}
    expect(w, "zoo.container_name", zoo.get("container_name"), ZK_SERVICE)
    zimg = str(zoo.get("image", ""))
    if not re.fullmatch(r"zookeeper:3\.8(\.\d+)?", zimg):
        err(w, "zoo.image is %r, expected the official zookeeper:3.8" % zimg)
    if str(ZK_PORT) not in [str(p) for p in zoo.get("expose") or []]:
        err(w, "zoo does not expose %d" % ZK_PORT)

    def env_of(svc):
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        return {k: (None if v is None else str(v)) for k, v in env.items()}

    for name, svc_name in MEMBERS.items():
        svc = services.get(svc_name) or {}
        ws = "%s: services.%s" % (w, svc_name)
        env = env_of(svc)
        expect(ws, "container_name", svc.get("container_name"), svc_name)
        expect(ws, "hostname", svc.get("hostname"), svc_name)
        expect(ws, "PATRONI_NAME", env.get("PATRONI_NAME"), name)
        if env.get("PATRONI_SCOPE") not in (None, SCOPE):
            err(ws, "PATRONI_SCOPE is %r, expected %r" % (env["PATRONI_SCOPE"], SCOPE))
        expect(ws, "PATRONI_RESTAPI_CONNECT_ADDRESS", env.get("PATRONI_RESTAPI_CONNECT_ADDRESS"), "%s:%d" % (svc_name, API_PORT))
        expect(ws, "PATRONI_POSTGRESQL_CONNECT_ADDRESS", env.get("PATRONI_POSTGRESQL_CONNECT_ADDRESS"), "%s:%d" % (svc_name, PG_PORT))
        for var, port in (("PATRONI_RESTAPI_LISTEN", API_PORT), ("PATRONI_POSTGRESQL_LISTEN", PG_PORT)):
            _, p = host_port(env.get(var), ws, var)
            expect(ws, "%s port" % var, p, port)
        expect(ws, "PATRONI_ZOOKEEPER_HOSTS", env.get("PATRONI_ZOOKEEPER_HOSTS"), "%s:%d" % (ZK_SERVICE, ZK_PORT))
        data_dir = env.get("PATRONI_POSTGRESQL_DATA_DIR") or ""
        mounts = [str(v).split(":")[1] for v in svc.get("volumes") or [] if ":" in str(v)]
        if not any(data_dir.startswith(m.rstrip("/") + "/") for m in mounts):
            err(ws, "PATRONI_POSTGRESQL_DATA_DIR %r is not inside a mounted volume %s" % (data_dir, mounts))
        for var, want in PASSWORD_DEFAULTS.items():
            expect(ws, "default of %s" % var, compose_default(env.get(var)), want)
        exposed = sorted(int(p) for p in svc.get("expose") or [])
        expect(ws, "expose", exposed, sorted([PG_PORT, API_PORT]))
        if svc.get("ports"):
            err(ws, "publishes ports %s: Patroni nodes stay inside the compose network" % svc["ports"])
        hc = " ".join(map(str, (svc.get("healthcheck") or {}).get("test") or []))
        if ":%d/" % API_PORT not in hc:
            err(ws, "healthcheck does not probe Patroni's REST API on :%d" % API_PORT)
        deps = svc.get("depends_on") or {}
        if (deps.get(ZK_SERVICE) if isinstance(deps, dict) else None) != {"condition": "service_healthy"}:
            err(ws, "must depend on %s with condition service_healthy" % ZK_SERVICE)
        build = svc.get("build") or {}
        expect(ws, "build.dockerfile", build.get("dockerfile") if isinstance(build, dict) else None, "patroni/Dockerfile")

    px = services.get("patroxy") or {}
    ws = w + ": services.patroxy"
    penv = env_of(px)
    check_members(penv.get("PATROXY_MEMBERS"), ws + " PATROXY_MEMBERS")
    for var, want in (("PATROXY_LISTEN_PORT", str(PG_PORT)), ("PATROXY_STATS_PORT", str(STATS_PORT))):
        if var in penv:
            expect(ws, var, penv[var], want)
    # the ZooKeeper watch (issue 14) follows the same ZooKeeper and scope as Patroni
    for var, want in (("PATROXY_DCS_ZOOKEEPER", "%s:%d" % (ZK_SERVICE, ZK_PORT)), ("PATROXY_DCS_SCOPE", SCOPE)):
        expect(ws, var, penv.get(var), want)
    pg_ports = check_listeners(penv, ws) or [PG_PORT]
    targets = sorted(str(p).rsplit(":", 1)[-1] for p in px.get("ports") or [])
    expect(ws, "container ports published", targets, sorted(str(p) for p in [*pg_ports, STATS_PORT]))
    deps = px.get("depends_on") or {}
    for svc in [ZK_SERVICE, *MEMBERS.values()]:
        if (deps.get(svc) if isinstance(deps, dict) else None) != {"condition": "service_healthy"}:
            err(ws, "must depend on %s with condition service_healthy" % svc)
    build = px.get("build") or {}
    expect(ws, "build.dockerfile", build.get("dockerfile") if isinstance(build, dict) else None, "src/main/docker/Dockerfile")
    for svc_name in ("prometheus", "grafana"):
        for p in (services.get(svc_name) or {}).get("ports") or []:
            if not str(p).startswith("127.0.0.1:"):
                err("%s: services.%s" % (w, svc_name), "port %s must be published on 127.0.0.1 only" % p)

# ----------------------------------------------------------------- patroni/Dockerfile
df = read("patroni/Dockerfile")
if df is not None:
    w = "patroni/Dockerfile"
    copy = re.search(r"^COPY\s+patroni/patroni\.yml\s+(\S+)", df, re.M)
    if not copy:
        err(w, "does not COPY the shared patroni/patroni.yml")
    elif not re.search(r'^CMD\s+\[\s*"patroni",\s*"%s"\s*\]' % re.escape(copy.group(1)), df, re.M):
        err(w, "CMD does not run patroni with %s" % copy.group(1))
    if not re.search(r"^HEALTHCHECK .*127\.0\.0\.1:%d/" % API_PORT, df, re.M | re.S):
        err(w, "HEALTHCHECK does not probe the REST API on :%d" % API_PORT)
    expose = re.search(r"^EXPOSE\s+(.*)$", df, re.M)
    expect(w, "EXPOSE", sorted(map(int, expose.group(1).split())) if expose else None, sorted([PG_PORT, API_PORT]))
    if re.search(r"(?i)PASSWORD\s*=", df):
        err(w, "sets a password: it would be baked into an image layer")

# ----------------------------------------------------------------- Patroxy images
for rel in ("src/main/docker/Dockerfile", "src/main/docker/Dockerfile.jvm",
            "src/main/docker/Dockerfile.native", "src/main/docker/Dockerfile.native-micro"):
    text = read(rel)
    if text is None:
        continue
    for line in re.findall(r"^EXPOSE\s+(.*)$", text, re.M):
        expect(rel, "EXPOSE", sorted(map(int, line.split())), sorted([PG_PORT, STATS_PORT]))
    # every runtime stage (not the build-* stages) must end as a non-root user; a final
    # stage that is only "FROM run-${BUILD}" inherits the selected stage's user
    stages = re.split(r"^FROM\s+", text, flags=re.M)[1:]
    for st in stages:
        head = st.split("\n", 1)[0]
        name = re.search(r"(?i)\sAS\s+(\S+)", head)
        if name and name.group(1).startswith("build"):
            continue
        if re.fullmatch(r"run-\$\{?\w+\}?", head.split()[0]) and not st.split("\n", 1)[1].strip("\n# "):
            continue
        users = re.findall(r"^USER\s+(\S+)", st, re.M)
        if not users or users[-1] in ("0", "root"):
            err(rel, "image stage %r does not end as a non-root USER" % head.strip())

# ----------------------------------------------------------------- Prometheus
prom = load_yaml("monitoring/prometheus/prometheus.yml")
if isinstance(prom, dict):
    w = "monitoring/prometheus/prometheus.yml"
    jobs = {j.get("job_name"): j for j in prom.get("scrape_configs") or []}

    def targets(job):
        return sorted(t for sc in (jobs.get(job) or {}).get("static_configs") or [] for t in sc.get("targets") or [])

    expect(w, "patroxy targets", targets("patroxy"), ["patroxy:%d" % STATS_PORT])
    expect(w, "patroni targets", targets("patroni"), sorted("%s:%d" % (s, API_PORT) for s in MEMBERS.values()))
    member_labels = sorted(((sc.get("labels") or {}).get("member"), tuple(sc.get("targets") or []))
                           for sc in (jobs.get("patroni") or {}).get("static_configs") or [])
    expect(w, "patroni member labels", member_labels,
           sorted((n, ("%s:%d" % (s, API_PORT),)) for n, s in MEMBERS.items()))

# ----------------------------------------------------------------- deploy examples
env_file = read("deploy/systemd/patroxy.env")
if env_file is not None:
    m = re.search(r"^PATROXY_MEMBERS=(.*)$", env_file, re.M)
    if not m:
        err("deploy/systemd/patroxy.env", "no PATROXY_MEMBERS line")
    else:
        check_members(m.group(1).strip(), "deploy/systemd/patroxy.env PATROXY_MEMBERS")
    check_listeners(dict(re.findall(r"^(PATROXY_[A-Z_]+)=(.*)$", env_file, re.M)), "deploy/systemd/patroxy.env")
k8s = load_yaml("deploy/kubernetes/patroxy.yaml", multi=True)
if k8s:
    w = "deploy/kubernetes/patroxy.yaml"
    envs = [e for doc in k8s if doc and doc.get("kind") == "Deployment"
            for c in doc["spec"]["template"]["spec"]["containers"] for e in c.get("env") or []
            if e.get("name") == "PATROXY_MEMBERS"]
    if len(envs) != 1:
        err(w, "expected one PATROXY_MEMBERS env in the Deployment, found %d" % len(envs))
    else:
        check_members(envs[0].get("value"), w + " PATROXY_MEMBERS")
    for doc in k8s:
        if not doc or doc.get("kind") != "Deployment":
            continue
        for c in doc["spec"]["template"]["spec"]["containers"]:
            cenv = {e.get("name"): e.get("value") for e in c.get("env") or []}
            pg_ports = check_listeners(cenv, w) or [PG_PORT]
            expect(w, "containerPorts", sorted(p.get("containerPort") for p in c.get("ports") or []),
                   sorted([*pg_ports, STATS_PORT]))
    service_ports = sorted(p.get("targetPort") for doc in k8s if doc and doc.get("kind") == "Service"
                           for p in doc["spec"].get("ports") or [])
    container_port_names = sorted(p.get("name") for doc in k8s if doc and doc.get("kind") == "Deployment"
                                  for c in doc["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or [])
    expect(w, "Service targetPorts (the container's port names)", service_ports, container_port_names)

# ----------------------------------------------------------------- verdict
if errors:
    print("check-topology: FAILED - the topology descriptions drifted apart:", file=sys.stderr)
    for e in errors:
        print("  - " + e, file=sys.stderr)
    print("check-topology: %d problem(s). Reference: members %s, PostgreSQL :%d, REST API :%d, "
          "scope %s, ZooKeeper %s:%d." % (len(errors), MEMBERS, PG_PORT, API_PORT, SCOPE, ZK_SERVICE, ZK_PORT),
          file=sys.stderr)
    sys.exit(1)
print("check-topology: OK - %d checks over %d files agree: members %s, PostgreSQL :%d, REST API :%d, "
      "scope %s, ZooKeeper %s:%d" % (len(checked), len(set(c.split(":")[0] for c in checked)),
                                     ", ".join("%s=%s" % kv for kv in MEMBERS.items()),
                                     PG_PORT, API_PORT, SCOPE, ZK_SERVICE, ZK_PORT))
