#!/usr/bin/env bash
# The long fuzzing run (Jazzer, coverage-guided): each target until FUZZ_RUNS inputs (1,000,000)
# or FUZZ_MAX_TIME (60m), one JVM each; prints the inputs and seconds per target and in all.
#   FirstMessageFuzzTest#clientFirstBytes    the client's first bytes through FrontendHandler + Handshake
#   FirstMessageFuzzTest#firstMessageParser  pgwire FirstMessage alone
#   ServerFramingFuzzTest#framing...         pgwire ServerFraming against a reference walk, any chunks
# A finding fails the run; Jazzer saves the input under src/test/resources/<package>/<Test>Inputs/<method>/,
# where every build replays it as a unit test (commit it with the fix). The corpus grows in .cifuzz-corpus/.
#   scripts/fuzz.sh [TARGET...]   FUZZ_RUNS, FUZZ_MAX_TIME
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${FUZZ_RUNS:-1000000}
max_time=${FUZZ_MAX_TIME:-60m}
targets=("$@")
((${#targets[@]})) || targets=(FirstMessageFuzzTest#clientFirstBytes FirstMessageFuzzTest#firstMessageParser
  ServerFramingFuzzTest#framingAgreesWithAReferenceWalkWhateverTheChunks)
mkdir -p target/fuzz
./mvnw -B -o -q test-compile
total=0 status=0
summary=()
for t in "${targets[@]}"; do
  log=target/fuzz/${t//#/-}.log
  echo "fuzzing $t: up to $runs inputs or $max_time (log: $log)"
  if ! JAZZER_FUZZ=1 JAZZER_MAX_EXECUTIONS=$runs JAZZER_MAX_DURATION=$max_time \
    ./mvnw -B -o surefire:test -Dtest="$t" >"$log" 2>&1; then
    status=1
    echo "  FINDING or error: see $log (the input is under src/test/resources/io/patroxy/*/*Inputs/)"
  fi
  done_line=$(grep -a -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  n=$(awk '{print $2}' <<<"$done_line")
  s=$(awk '{print $5}' <<<"$done_line")
  cov=$(grep -a -E '^#[0-9]+.*(DONE|pulse|NEW)' "$log" | tail -1 | grep -o 'cov: [0-9]*' || true)
  summary+=("$t: ${n:-0} inputs in ${s:-?} s (${cov:-cov ?})")
  total=$((total + ${n:-0}))
done
printf '%s\n' "${summary[@]}"
echo "fuzz.sh: $total inputs in all; $( ((status == 0)) && echo 'no finding' || echo 'FINDINGS: see the logs')"
exit $status
