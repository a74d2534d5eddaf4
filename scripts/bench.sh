#!/usr/bin/env bash
# What Patroxy costs beside HAProxy 2.6 (the seeds' config) and a direct connection, in one run on
# a real local cluster of its own (scripts/bench-lib.sh: nodes 127.0.0.21/22, its own directory).
# Targets: direct (the leader), haproxy, patroxy-bare (`java -jar`, no options, as the README's
# first run) and patroxy-shipped (`java @deploy/jvm.options -jar`, as the launchers run it),
# interleaved ABCD-DCBA round by round, so no target always runs on a warmer or cooler machine.
# Tests (pgbench scale BENCH_SCALE, as user `bench` with an md5 password; SCRAM's key stretching
# would hide what a proxy costs per connection):
#   connect   pgbench -S -C, 8 clients: a new connection per transaction (run first: a cold JIT counts)
#   select1/select8/select32   pgbench -S with persistent connections at 1, 8, 32 clients
#   tpcb      pgbench's TPC-B-like script, 8 clients (commits wait for the sync standby)
#   copy      COPY pgbench_accounts TO STDOUT through psql (~100 MB at scale 10), MB/s
# Per target and run: tps, average and p99 latency (pgbench's per-transaction log, sampled for
# -S), the proxy's CPU seconds per 10k transactions (connections for `connect`, per GB for `copy`)
# from /proc/PID/stat (every thread of the process), its RSS after the run. Prints medians and the
# ratios to HAProxy, the first round beside them; writes target/bench/bench-<time>.csv (one row per
# run) and, with gnuplot, a chart beside it. Asserts nothing. A full run takes about 10 minutes.
#
#   scripts/bench.sh     BENCH_ROUNDS (2: one ABCD-DCBA pair), BENCH_SECONDS (10), BENCH_SCALE (10),
#                        BENCH_TESTS ("connect select1 select8 select32 tpcb copy"),
#                        BENCH_TARGETS ("direct haproxy patroxy-bare patroxy-shipped"),
#                        BENCH_COPY_REPEAT (2 COPYs per run), BENCH_SAMPLING (0.1: -S latency log),
#                        BENCH_JVM_<target> (JVM options of any target named patroxy*, '-' as '_'; e.g.
#                        BENCH_TARGETS="haproxy patroxy-a patroxy-b" BENCH_JVM_patroxy_b="-Dx=y" for an A/B),
#                        BENCH_MAX_LOAD (1.5: warn when the 1-minute load is higher at the start),
#                        BENCH_KEEP_CLUSTER (1: leave the cluster running), BENCH_JAVA (java),
#                        BENCH_HOST (127.0.0.1: Patroxy's address; CLUSTER_ADDR_BASE, PATROXY_CLUSTER_DIR
#                        and BENCH_HOST of your own keep a run apart from another one on the machine)
#
#   scripts/bench.sh --tls   What TLS costs (issue 13): the cluster with TLS only (CLUSTER_SSL=1:
#                        ssl = on, hostssl, a test CA), every client with sslmode=require. Targets
#                        direct (TLS to the leader), haproxy (TCP mode: the server's TLS passed
#                        through), patroxy-terminate (Patroxy's certificate from the same CA, its own
#                        TLS leg to PostgreSQL, patroxy.server.tls.mode BENCH_SERVER_TLS_MODE,
#                        verify-full) and patroxy-passthrough, all Patroxy targets with the shipped
#                        JVM options; tests connect select1 select8. Ratios to direct beside those
#                        to HAProxy: TLS through Patroxy vs TLS direct.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tls=0
case ${1:-} in
  --tls) tls=1 ;;
  "") ;;
  *) echo "usage: $0 [--tls]  (settings: the BENCH_* variables at the top of $0)" >&2; exit 2 ;;
esac
((tls == 0)) || export CLUSTER_SSL=1
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_need_root

rounds=${BENCH_ROUNDS:-2}; secs=${BENCH_SECONDS:-10}; scale=${BENCH_SCALE:-10}
if ((tls)); then
  read -r -a tests <<<"${BENCH_TESTS:-connect select1 select8}"
  read -r -a targets <<<"${BENCH_TARGETS:-direct haproxy patroxy-terminate patroxy-passthrough}"
  export PGSSLMODE=require # every client asks for TLS (pgbench, psql)
else
  read -r -a tests <<<"${BENCH_TESTS:-connect select1 select8 select32 tpcb copy}"
  read -r -a targets <<<"${BENCH_TARGETS:-direct haproxy patroxy-bare patroxy-shipped}"
fi
copy_repeat=${BENCH_COPY_REPEAT:-2}; sampling=${BENCH_SAMPLING:-0.1}
export PGUSER=bench PGPASSWORD=bench PGDATABASE=postgres

mkdir -p "$BENCH_OUT"
stamp=$(date +%Y%m%d-%H%M%S)
kind=""; ((tls == 0)) || kind=tls- # not $( ((tls)) && …): under set -e a false test there ends the script
csv=$BENCH_OUT/bench-$kind$stamp.csv
work=$(mktemp -d /tmp/patroxy-bench.XXXXXX)
bench_build

cleanup() {
  trap - EXIT INT TERM
  stop_all_patroxy
  [[ ${BENCH_KEEP_CLUSTER:-0} == 1 ]] || bench_cluster_down
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

before=$(load_note)
echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ {print $2}') GiB;" \
  "$("$BENCH_JAVA" -version 2>&1 | head -1); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(pgbench --version)"
echo "before the run: $before"
((tls == 0)) || echo "TLS: a TLS-only cluster (hostssl), every client sslmode=require"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="${BENCH_MAX_LOAD:-1.5}" 'BEGIN {exit !(l > m)}'; then
  echo "WARNING: the machine is busy (load above ${BENCH_MAX_LOAD:-1.5}): the figures will be noisy; see top -bn1" >&2
fi

bench_cluster_up
if ((tls)); then
  mapfile -t tls_files < <($cluster cert patroxy "$BENCH_HOST" 2>/dev/null) # certificate, key, CA
  [[ ${#tls_files[@]} == 3 ]] || { echo "bench.sh: no certificate for Patroxy from the cluster's CA" >&2; exit 1; }
fi
bench_user
export PGPASSWORD=postgres
pgbench -h "$leader_ip" -U postgres -i -q -s "$scale" >/dev/null 2>&1
psql -h "$leader_ip" -U postgres -qX -c 'GRANT ALL ON ALL TABLES IN SCHEMA public TO bench' -c 'VACUUM ANALYZE' >/dev/null
export PGPASSWORD=bench

declare -A host=([direct]=$leader_ip [haproxy]=$zk_addr) port=([direct]=5432 [haproxy]=$HAPROXY_PORT)
declare -A pid=([haproxy]=$haproxy_pid)
declare -A startup_ms idle_rss
n=0
for t in "${targets[@]}"; do
  [[ $t == patroxy* ]] || continue
  # JVM options of a Patroxy target: BENCH_JVM_<name, - as _> (patroxy-shipped: the shipped file)
  var=BENCH_JVM_${t//-/_}; default=""; [[ $t == patroxy-shipped || $tls == 1 ]] && default="@$jvm_options"
  read -r -a opts <<<"${!var-$default}"
  patroxy_env=()
  case $t in
    patroxy-terminate*)
      ((tls)) || { echo "bench.sh: $t needs --tls" >&2; exit 2; }
      patroxy_env=(PATROXY_TLS_MODE=terminate PATROXY_TLS_CERT_FILE="${tls_files[0]}" PATROXY_TLS_KEY_FILE="${tls_files[1]}"
                   PATROXY_SERVER_TLS_MODE="${BENCH_SERVER_TLS_MODE:-verify-full}" PATROXY_SERVER_TLS_CA_FILE="${tls_files[2]}") ;;
    patroxy-passthrough*) patroxy_env=(PATROXY_TLS_MODE=passthrough) ;;
  esac
  host[$t]=$BENCH_HOST; port[$t]=$((6433 + 2 * n)) # 6433, 6435, ... (HAProxy has 6434)
  start_patroxy "$t" "${port[$t]}" $((7300 + 2 * n)) "${opts[@]}"
  [[ ${#patroxy_env[@]} == 0 ]] || echo "$t: ${patroxy_env[*]}"
  pid[$t]=${patroxy_pids[$t]}; startup_ms[$t]=$started_ms
  echo "$t: java ${opts[*]} -jar $jar on :${port[$t]}, first routed session after $started_ms ms"
  n=$((n + 1))
done
sleep 5 # let the start-up settle before the idle reading
for t in "${!pid[@]}"; do idle_rss[$t]=$(rss_kb "${pid[$t]}"); done
copy_bytes=$(psql -h "$leader_ip" -Atqc 'COPY pgbench_accounts TO STDOUT' | wc -c)

p99() { # p99 of the latency column (µs) of pgbench's per-transaction logs, in ms
  cat "$@" 2>/dev/null | awk '{print $3}' | sort -n | awk '{a[NR] = $1} END {if (NR) printf "%.3f", a[int(NR * 0.99 + 0.5) < 1 ? 1 : int(NR * 0.99 + 0.5)] / 1000}'
}

# run_one TEST TARGET -> "tps lat_avg_ms lat_p99_ms units" (units: transactions, connections or bytes)
run_one() {
  local test=$1 t=$2 out opts=() clients=8 log=$work/log i t0 t1
  rm -f "$log".*
  case $test in
    connect) opts=(-S -C -l --log-prefix="$log") ;;
    select*) clients=${test#select}; opts=(-S -l --sampling-rate="$sampling" --log-prefix="$log") ;;
    tpcb) opts=(-l --log-prefix="$log") ;;
    copy)
      t0=$(now_ns)
      for ((i = 0; i < copy_repeat; i++)); do
        psql -h "${host[$t]}" -p "${port[$t]}" -Atqc 'COPY pgbench_accounts TO STDOUT' >/dev/null
      done
      t1=$(now_ns)
      awk -v b="$copy_bytes" -v n="$copy_repeat" -v ns=$((t1 - t0)) \
        'BEGIN {printf "%.1f %.1f - %d\n", b * n / 1e6 / (ns / 1e9), ns / 1e6 / n, b * n}'
      return ;;
  esac
  out=$(cd "$work" && pgbench -h "${host[$t]}" -p "${port[$t]}" -n "${opts[@]}" -c "$clients" -j $((clients < 2 ? 1 : 2)) -T "$secs" 2>&1) ||
    { echo "pgbench failed against $t: $out" >&2; return 1; }
  local tps lat n
  tps=$(grep -oP 'tps = \K[0-9.]+' <<<"$out" | head -1)
  lat=$(grep -oP 'latency average = \K[0-9.]+' <<<"$out")
  n=$(grep -oP 'number of transactions actually processed: \K[0-9]+' <<<"$out")
  echo "$tps $lat $(p99 "$log".*) $n"
}

echo "test,round,slot,target,clients,seconds,tps,lat_avg_ms,lat_p99_ms,units,proxy_cpu_s,cpu_s_per_10k,rss_kb,load1" >"$csv"
echo "targets: ${targets[*]}; rounds: $rounds x ${secs}s (ABCD-DCBA); scale $scale; COPY $((copy_bytes / 1000000)) MB x $copy_repeat"
for test in "${tests[@]}"; do
  for ((r = 0; r < rounds; r++)); do
    order=("${targets[@]}")
    if ((r % 2)); then for ((i = 0; i < ${#targets[@]}; i++)); do order[i]=${targets[${#targets[@]} - 1 - i]}; done; fi
    for ((k = 0; k < ${#order[@]}; k++)); do
      t=${order[k]}
      p=${pid[$t]:-}; c0=0; [[ -n $p ]] && c0=$(cpu_ticks "$p")
      load1=$(cut -d' ' -f1 /proc/loadavg)
      read -r tps lat p99v units < <(run_one "$test" "$t")
      cpu=""; per=""; rss=""
      if [[ -n $p ]]; then
        cpu=$(awk -v d=$(($(cpu_ticks "$p") - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", d / hz}')
        # per 10k transactions / connections; per GB for COPY
        per=$(awk -v c="$cpu" -v u="$units" -v copy=$([[ $test == copy ]] && echo 1 || echo 0) \
          'BEGIN {if (u > 0) printf "%.3f", copy ? c / (u / 1e9) : c / (u / 1e4)}')
        rss=$(rss_kb "$p")
      fi
      clients=8; [[ $test == select* ]] && clients=${test#select}; [[ $test == copy ]] && clients=1
      echo "$test,$((r + 1)),$((k + 1)),$t,$clients,$secs,$tps,$lat,$p99v,$units,$cpu,$per,$rss,$load1" >>"$csv"
      printf '  %-8s round %d  %-15s %10s %s  lat %s ms  p99 %s ms  cpu %s s (%s per %s)  rss %s KiB\n' "$test" $((r + 1)) "$t" \
        "$tps" "$([[ $test == copy ]] && echo MB/s || echo tps)" "$lat" "$p99v" "${cpu:--}" "${per:--}" \
        "$([[ $test == copy ]] && echo GB || echo 10k)" "${rss:--}"
    done
  done
done
after=$(load_note)

{
  echo "# $(date -Is) $(nproc) cores; before: $before; after: $after$( ((tls == 0)) || echo "; TLS: hostssl-only cluster, clients sslmode=require")"
  for t in "${!pid[@]}"; do
    echo "# $t: rss idle ${idle_rss[$t]} KiB, after the load $(rss_kb "${pid[$t]}") KiB${startup_ms[$t]:+, start to first routed session ${startup_ms[$t]} ms}"
  done
} >"$csv.notes"

/usr/bin/python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def med(xs):
    xs = [float(x) for x in xs if x not in ('', '-')]
    return statistics.median(xs) if xs else None
def fmt(v, p=0):
    return '-' if v is None else f'{v:.{p}f}'
tests, targets = [], []
for r in rows:
    if r['test'] not in tests: tests.append(r['test'])
    if r['target'] not in targets: targets.append(r['target'])
print('\nmedians over the rounds (first round in brackets); ratios to direct and to haproxy: tps (MB/s for copy); to haproxy: proxy CPU per unit')
print(f"{'test':9} {'target':20} {'tps|MB/s':>10} {'lat ms':>8} {'p99 ms':>8} {'cpu/10k':>16} {'rss MiB':>8} {'tps÷dir':>7} {'tps÷ha':>7} {'cpu÷ha':>14}")
for test in tests:
    by = {t: [r for r in rows if r['test'] == test and r['target'] == t] for t in targets}
    ha = by.get('haproxy') or []
    ha_tps, ha_cpu = med(r['tps'] for r in ha), med(r['cpu_s_per_10k'] for r in ha)
    dir_tps = med(r['tps'] for r in by.get('direct') or [])
    for t in targets:
        rs = by[t]
        if not rs: continue
        tps, cpu = med(r['tps'] for r in rs), med(r['cpu_s_per_10k'] for r in rs)
        first = next((r for r in rs if r['round'] == '1'), rs[0])
        rss = med(r['rss_kb'] for r in rs)
        cpu_s = '-' if cpu is None else f"{cpu:.3f} ({float(first['cpu_s_per_10k']):.3f})"
        tr = '-' if not (ha_tps and tps) else f'{tps / ha_tps:.2f}'
        dr = '-' if not (dir_tps and tps) else f'{tps / dir_tps:.2f}'
        cr = '-'
        if ha_cpu and cpu is not None and t != 'haproxy':
            cr = f"{cpu / ha_cpu:.2f} ({float(first['cpu_s_per_10k']) / ha_cpu:.2f})"
        print(f"{test:9} {t:20} {fmt(tps, 1):>10} {fmt(med(r['lat_avg_ms'] for r in rs), 3):>8} "
              f"{fmt(med(r['lat_p99_ms'] for r in rs), 3):>8} {cpu_s:>16} {fmt(rss and rss / 1024, 0):>8} {dr:>7} {tr:>7} {cr:>14}")
print('cpu/10k: proxy CPU seconds per 10k transactions (connect: per 10k connections; copy: per GB)')
PY
cat "$csv.notes"
echo "CSV: $csv"

if command -v gnuplot >/dev/null; then
  # one bar group per test: tps (MB/s for copy) of each target relative to direct
  /usr/bin/python3 - "$csv" "$work/chart.dat" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tests = list(dict.fromkeys(r['test'] for r in rows)); targets = list(dict.fromkeys(r['target'] for r in rows))
with open(sys.argv[2], 'w') as f:
    f.write('test ' + ' '.join(targets) + '\n')
    for test in tests:
        m = {t: statistics.median(float(r['tps']) for r in rows if r['test'] == test and r['target'] == t) for t in targets}
        base = m.get('direct') or max(m.values())
        f.write(test + ' ' + ' '.join(f'{m[t] / base:.3f}' for t in targets) + '\n')
PY
  gnuplot <<EOF 2>/dev/null && echo "chart: ${csv%.csv}.png"
set terminal pngcairo size 900,450
set output '${csv%.csv}.png'
set title 'pgbench through each target, relative to a direct connection (median of the rounds)'
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1
set yrange [0:*]; set grid ytics; set key outside right
plot for [i=2:$((${#targets[@]} + 1))] '$work/chart.dat' using i:xtic(1) title columnhead
EOF
fi
