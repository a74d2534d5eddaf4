#!/usr/bin/env bash
# Where Patroxy's CPU goes: Patroxy under async-profiler (Maven Central's tools.profiler:async-profiler,
# CPU samples with Java, native and, where perf_events allow it, kernel frames), one workload at a time
# on the benchmark cluster (scripts/bench-lib.sh):
#   connect   pgbench -S -C, 8 clients: the per-connection path (accept, first message, server
#             connection, pipeline, timers, access log, counters, close)
#   relay     pgbench -S, 8 persistent clients: the per-read path (framing, counters, flush)
# Writes target/bench/profile-<workload>-<options>.{collapsed,svg,txt}: the stacks, a flame graph and
# a summary (by thread, leaf frames, Patroxy/Netty/logging frames inclusive).
#   scripts/bench-profile.sh    BENCH_PROFILE ("connect relay"), BENCH_SECONDS (30),
#                               BENCH_OPTIONS (bare | shipped: the JVM options; bare),
#                               BENCH_WARMUP (10 s of the workload before profiling: 0 profiles a cold JIT)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_need_root
secs=${BENCH_SECONDS:-30}; warmup=${BENCH_WARMUP:-10}; options=${BENCH_OPTIONS:-bare}
read -r -a workloads <<<"${BENCH_PROFILE:-connect relay}"
export PGUSER=bench PGPASSWORD=bench PGDATABASE=postgres
mkdir -p "$BENCH_OUT"
bench_build

ap_version=4.0
ap_jar=$HOME/.m2/repository/tools/profiler/async-profiler/$ap_version/async-profiler-$ap_version.jar
[[ -f $ap_jar ]] || ./mvnw -B -q dependency:get -Dartifact=tools.profiler:async-profiler:$ap_version
ap_lib=$BENCH_OUT/async-profiler/linux-x64/libasyncProfiler.so
[[ -f $ap_lib ]] || unzip -q -o "$ap_jar" 'linux-x64/*' -d "$BENCH_OUT/async-profiler"

attach=$BENCH_OUT/Attach.java # loads an agent library into a running JVM
cat >"$attach" <<'JAVA'
public class Attach {
    public static void main(String[] a) throws Exception {
        var vm = com.sun.tools.attach.VirtualMachine.attach(a[0]);
        try { vm.loadAgentPath(a[1], a[2]); } finally { vm.detach(); }
    }
}
JAVA

cleanup() {
  trap - EXIT INT TERM
  stop_all_patroxy
  [[ ${BENCH_KEEP_CLUSTER:-0} == 1 ]] || bench_cluster_down
}
trap cleanup EXIT INT TERM

bench_cluster_up
bench_user
bench_data

jvm=(); [[ $options == shipped ]] && jvm=("@$jvm_options")
echo "profiling ($options options); $(load_note)"
for w in "${workloads[@]}"; do
  case $w in
    connect) load=(-S -C) ;;
    relay) load=(-S) ;;
    *) echo "unknown workload $w" >&2; exit 2 ;;
  esac
  base=$BENCH_OUT/profile-$w-$options
  start_patroxy "$w" 6433 7300 "${jvm[@]}"
  if ((warmup > 0)); then
    pgbench -h 127.0.0.1 -p 6433 -n "${load[@]}" -c 8 -j 2 -T "$warmup" >/dev/null 2>&1 || true
  fi
  # attach after the warm-up (the JDK's attach API, as async-profiler's own asprof does)
  "$BENCH_JAVA" "$attach" "${patroxy_pids[$w]}" "$PWD/$ap_lib" "start,event=cpu,interval=1ms,cstack=vm"
  c0=$(cpu_ticks "${patroxy_pids[$w]}")
  out=$(pgbench -h 127.0.0.1 -p 6433 -n "${load[@]}" -c 8 -j 2 -T "$secs" 2>&1)
  c1=$(cpu_ticks "${patroxy_pids[$w]}")
  n=$(grep -oP 'number of transactions actually processed: \K[0-9]+' <<<"$out")
  "$BENCH_JAVA" "$attach" "${patroxy_pids[$w]}" "$PWD/$ap_lib" "stop,file=$PWD/$base.collapsed,collapsed"
  stop_patroxy "$w"
  /usr/bin/python3 scripts/bench-flame.py "$base.collapsed" "$base.svg" \
    "Patroxy ($options), pgbench ${load[*]} 8 clients, ${secs}s after ${warmup}s warm-up" >"$base.txt"
  {
    echo "pgbench ${load[*]}: $n transactions in ${secs}s, Patroxy CPU $(((c1 - c0) * 1000 / CLK_TCK)) ms" \
      "(with the profiler attached; $(load_note))"
  } | tee -a "$base.txt"
  echo "$base.svg, $base.txt"
done
