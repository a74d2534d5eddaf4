#!/usr/bin/env bash
# An experiment, not a migration (the bytecode stays release 17): the same jar on JDK 17 and on
# Temurin 25, with the shipped JVM options (deploy/jvm.options), on the benchmark cluster
# (scripts/bench-lib.sh). Variants, interleaved round by round:
#   jdk17          java @deploy/jvm.options -jar (as shipped)
#   jdk17-appcds   + an AppCDS archive of the classes a training run loaded (-XX:SharedArchiveFile)
#   jdk25          Temurin 25, the same options
#   jdk25-coh      + compact object headers (-XX:+UseCompactObjectHeaders, JEP 519)
#   jdk25-aot      + an AOT cache (JEP 483/514/515: classes loaded and linked, method profiles) from a
#                  training run, with compact object headers
# A training run (for -appcds and -aot): start, a few seconds of pgbench -S -C and -S, SIGTERM; the
# archive or cache is written at exit. Per variant and round: start to first routed session (wall
# and Patroxy's CPU until then), RSS and classes loaded 10 s after it, idle CPU, then pgbench -S -C
# for BENCH_SECONDS from a cold JIT: connections and Patroxy's CPU per connection (the warm-up), RSS
# after. Prints medians; writes target/bench/jdk25-<time>.csv. Asserts nothing.
#   scripts/bench-jdk25.sh   BENCH_ROUNDS (2), BENCH_SECONDS (10), BENCH_JDK25 (/usr/lib/jvm/temurin-25-jdk-amd64),
#                            BENCH_JDK25_VARIANTS ("jdk17 jdk17-appcds jdk25 jdk25-coh jdk25-aot")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_need_root
rounds=${BENCH_ROUNDS:-2}; secs=${BENCH_SECONDS:-10}
jdk25=${BENCH_JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}
read -r -a variants <<<"${BENCH_JDK25_VARIANTS:-jdk17 jdk17-appcds jdk25 jdk25-coh jdk25-aot}"
[[ -x $jdk25/bin/java ]] || { echo "no JDK 25 at $jdk25 (BENCH_JDK25)" >&2; exit 2; }
export PGUSER=bench PGPASSWORD=bench PGDATABASE=postgres
mkdir -p "$BENCH_OUT"
csv=$BENCH_OUT/jdk25-$(date +%Y%m%d-%H%M%S).csv
bench_build
cds=$PWD/$BENCH_OUT/patroxy-jdk17.jsa aot=$PWD/$BENCH_OUT/patroxy-jdk25.aot

cleanup() {
  trap - EXIT INT TERM
  stop_all_patroxy
  [[ ${BENCH_KEEP_CLUSTER:-0} == 1 ]] || bench_cluster_down
}
trap cleanup EXIT INT TERM

# java_of VARIANT, opts_of VARIANT: the java binary and the JVM options of a variant
java_of() { [[ $1 == jdk25* ]] && echo "$jdk25/bin/java" || echo java; }
opts_of() {
  local o="@$jvm_options"
  case $1 in
    jdk17-appcds) o+=" -XX:SharedArchiveFile=$cds -Xlog:cds=off -Xlog:cds+dynamic=off" ;;
    jdk25-coh) o+=" -XX:+UseCompactObjectHeaders" ;;
    jdk25-aot) o+=" -XX:+UseCompactObjectHeaders -XX:AOTCache=$aot" ;;
  esac
  echo "$o"
}

echo "before the run: $(load_note)"
bench_cluster_up
bench_user
bench_data

# train NAME JAVA OPTION...: one training run; the archive/cache is written when the JVM exits
train() {
  local name=$1 t0
  BENCH_JAVA=$2
  shift 2
  t0=$(now_ns)
  start_patroxy "$name" 6433 7300 "$@"
  pgbench -h 127.0.0.1 -p 6433 -n -S -C -c 2 -j 1 -T 5 >/dev/null 2>&1 || true
  pgbench -h 127.0.0.1 -p 6433 -n -S -c 2 -j 1 -T 3 >/dev/null 2>&1 || true
  stop_patroxy "$name"
  echo "$name: training run and archive in $((($(now_ns) - t0) / 1000000)) ms"
}
for v in "${variants[@]}"; do
  case $v in
    jdk17-appcds) rm -f "$cds"; train train-appcds java "@$jvm_options" -XX:ArchiveClassesAtExit="$cds" -Xlog:cds=off -Xlog:cds+dynamic=off
      echo "  $(du -h "$cds" | cut -f1) $cds" ;;
    jdk25-aot) rm -f "$aot"; train train-aot "$jdk25/bin/java" "@$jvm_options" -XX:+UseCompactObjectHeaders -XX:AOTCacheOutput="$aot" -Xlog:aot=off -Xlog:cds=off
      echo "  $(du -h "$aot" | cut -f1) $aot" ;;
  esac
done
BENCH_JAVA=java

echo "variant,round,start_ms,start_cpu_ms,rss_idle_kb,classes,idle_cpu_pct,connections,cpu_ms_per_connection,rss_after_kb,load1" >"$csv"
for ((r = 0; r < rounds; r++)); do
  order=("${variants[@]}")
  if ((r % 2)); then for ((i = 0; i < ${#variants[@]}; i++)); do order[i]=${variants[${#variants[@]} - 1 - i]}; done; fi
  for v in "${order[@]}"; do
    BENCH_JAVA=$(java_of "$v")
    read -r -a opts <<<"$(opts_of "$v")"
    load1=$(cut -d' ' -f1 /proc/loadavg)
    start_patroxy "$v" 6433 7300 "${opts[@]}"
    p=${patroxy_pids[$v]}
    sleep 5
    c0=$(cpu_ticks "$p"); sleep 10; c1=$(cpu_ticks "$p")
    rss=$(rss_kb "$p")
    classes=$(jcmd "$p" PerfCounter.print 2>/dev/null | awk -F= '/^java.cls.loadedClasses=/ {l = $2} /^java.cls.sharedLoadedClasses=/ {s = $2} END {print l + s}')
    t0=$(cpu_ticks "$p")
    out=$(pgbench -h 127.0.0.1 -p 6433 -n -S -C -c 8 -j 2 -T "$secs" 2>&1) || true
    t1=$(cpu_ticks "$p")
    n=$(grep -oP 'number of transactions actually processed: \K[0-9]+' <<<"$out" || echo 0)
    per=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN {if (n > 0) printf "%.2f", d / hz * 1000 / n}')
    idle=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", 100 * d / hz / 10}')
    echo "$v,$((r + 1)),$started_ms,$started_cpu_ms,$rss,$classes,$idle,$n,$per,$(rss_kb "$p"),$load1" | tee -a "$csv"
    stop_patroxy "$v"
    sleep 2
  done
done
echo "after the run: $(load_note)" | tee "$csv.notes"

/usr/bin/python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
variants = list(dict.fromkeys(r['variant'] for r in rows))
med = lambda v, k: statistics.median(float(r[k]) for r in rows if r['variant'] == v and r[k] not in ('', '-'))
base = variants[0]
print(f"\nmedians; ratios to {base} in brackets")
print(f"{'variant':14} {'start ms':>9} {'start CPU ms':>16} {'RSS idle MiB':>16} {'classes':>8} {'idle CPU':>9} {'-C CPU ms/conn (first {0} s)':>30} {'RSS after MiB':>14}")
for v in variants:
    s, c, rss, cl, idle, per, after = (med(v, k) for k in ('start_ms', 'start_cpu_ms', 'rss_idle_kb', 'classes', 'idle_cpu_pct', 'cpu_ms_per_connection', 'rss_after_kb'))
    r = lambda k, x: f"({x / med(base, k):.2f})"
    print(f"{v:14} {s:9.0f} {c:8.0f} {r('start_cpu_ms', c):>7} {rss / 1024:8.1f} {r('rss_idle_kb', rss):>7} {cl:8.0f} {idle:8.1f}% {per:21.2f} {r('cpu_ms_per_connection', per):>8} {after / 1024:14.1f}")
PY
echo "CSV: $csv"
