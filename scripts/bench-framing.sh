#!/usr/bin/env bash
# Measures what following the server's message framing costs on the relay (JMH), as a ratio
# against relaying the same 16 KiB chunk without it. Prints JMH's table and the ratios; asserts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./mvnw -B -q test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
cp="target/test-classes:target/classes:$(cat target/bench.classpath)"
java -cp "$cp" org.openjdk.jmh.Main 'io.patroxy.bench.ServerFramingBench' -rf csv -rff target/bench-framing.csv "$@"
/usr/bin/python3 - <<'PY'
import csv
rows = list(csv.DictReader(open("target/bench-framing.csv")))
score = {(r["Benchmark"].rsplit(".", 1)[1], r["Param: rowBytes"]): float(r["Score"]) for r in rows}
for size in sorted({k[1] for k in score}, key=int):
    base, framed = score[("relayOnly", size)], score[("relayAndFraming", size)]
    print(f"rows of {size:>4} B: relay {base:8.1f} ns/chunk, relay+framing {framed:8.1f} ns/chunk, ratio {framed / base:5.2f}")
PY
