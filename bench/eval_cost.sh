#!/usr/bin/env bash
# What a full `r1lite eval` of smollm2-135m costs on this machine (issue 23): GSM8K test and MATH-500, greedy on
# the whole set and with the default sampling settings (n 4, temperature 0.6, top-p 0.95) on the first 200
# problems, with --max-tokens 512; and issue 23's own command (--max-tokens 256) on the whole GSM8K test set.
# Thread policy: r1lite's default, except the last two runs (see there). The MATH-500 greedy run is interrupted
# with SIGINT once half its problems are saved and then resumed with the same command (the full-size resume check).
# The table: python bench/eval_cost_table.py runs/eval-cost --results results
#
#   flock /work/coord/heavy.lock bash bench/eval_cost.sh runs/eval-cost > runs/eval-cost.log 2>&1 &
#
# Each run's output dir holds results.json, samples.jsonl, its log and timing.txt (uptime before and after).
set -u
OUT=${1:-runs/eval-cost}
mkdir -p "$OUT"
COMMON=(--model smollm2-135m --max-tokens 512)
GREEDY=(--n 1 --temperature 0)

stamp() { echo "$1 $(date -u +%FT%TZ) $(uptime)" >> "$2/timing.txt"; }

run() {  # name, then r1lite eval arguments (CPUS=LIST pins the run to those cores)
  local name=$1; shift
  local dir="$OUT/$name"
  mkdir -p "$dir"
  stamp start "$dir"
  ${CPUS:+taskset -c "$CPUS"} python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval.log" 2>&1
  echo "rc $?" >> "$dir/timing.txt"
  stamp end "$dir"
}

run gsm8k-greedy "${COMMON[@]}" "${GREEDY[@]}" --benchmarks gsm8k
# A background job of a non-interactive shell starts with SIGINT ignored, and Python then keeps it ignored, so a
# plain `kill -INT` would be lost. The interrupted run is started through a one-line wrapper that restores SIGINT's
# default disposition and execs the evaluation (same pid), as a process in a terminal has it when Ctrl-C reaches it.
# (In the measured run the wrapper was a shell function, so $! was its subshell and the SIGINT was sent by hand.)
RESTORE_SIGINT='import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])'

run_interrupted_sigint() {  # as run, but SIGINT once $half samples are saved, then the same command again (resume)
  local name=$1 half=$2; shift 2
  local dir="$OUT/$name"
  mkdir -p "$dir"
  stamp start "$dir"
  python -c "$RESTORE_SIGINT" python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval-interrupted.log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$dir/samples.jsonl" ] && [ "$(wc -l < "$dir/samples.jsonl")" -ge "$half" ]; then
      kill -INT "$pid"; echo "sigint $(date -u +%FT%TZ) at $(wc -l < "$dir/samples.jsonl") samples" >> "$dir/timing.txt"
      break
    fi
    sleep 2
  done
  wait "$pid"; echo "rc $? (interrupted run)" >> "$dir/timing.txt"
  echo "kept $(wc -l < "$dir/samples.jsonl") samples" >> "$dir/timing.txt"
  stamp resume "$dir"
  ${CPUS:+taskset -c "$CPUS"} python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval.log" 2>&1
  echo "rc $?" >> "$dir/timing.txt"
  stamp end "$dir"
}

run_interrupted_sigint math500-greedy 250 "${COMMON[@]}" "${GREEDY[@]}" --benchmarks math500
run gsm8k-sampled-200 "${COMMON[@]}" --benchmarks gsm8k --limit 200
# The last two, as they ran on 2026-12-06 from 06:07 UTC with nothing else of the project's on the machine: issue
# 23's command on the whole GSM8K test set (1319 x 4, --max-tokens 256) and MATH-500's first 200 with the default
# sampling, in two 1-thread lanes (GSM8K on core 1, MATH-500 on core 0; together ~1.5x the tokens/s of one
# 2-thread run); when MATH-500 ends, GSM8K is stopped (SIGTERM keeps its samples) and resumed with both cores.
# (GSM8K's first 10 minutes ran alone at --threads 2 before the lanes were set up: one more stop and resume.)
G=$OUT/gsm8k-issue-command-full
GSM8K_CMD=(--model smollm2-135m --benchmarks gsm8k --max-tokens 256)
gsm_part() {  # threads, cpus, part name
  mkdir -p "$G"
  if [ -f "$G/timing.txt" ]; then stamp resume "$G"; else stamp start "$G"; fi
  taskset -c "$2" python -m r1lite.cli eval "${GSM8K_CMD[@]}" --threads "$1" --output-dir "$G" > "$G/eval-$3.log" 2>&1
  echo "rc $?" >> "$G/timing.txt"
}
gsm_part 1 1 lane &
LANE=$!
CPUS=0 run math500-sampled-200 "${COMMON[@]}" --benchmarks math500 --limit 200 --threads 1
PID=$(pgrep -f "^python -m r1lite.cli eval .*gsm8k-issue-command-full" || true)
if [ -n "$PID" ]; then
  echo "sigint $(date -u +%FT%TZ) at $(wc -l < "$G/samples.jsonl") samples (SIGTERM)" >> "$G/timing.txt"
  kill -TERM "$PID"
fi
wait "$LANE"
echo "kept $(wc -l < "$G/samples.jsonl") samples" >> "$G/timing.txt"
if [ -n "$PID" ]; then gsm_part 2 0,1 both; fi
stamp end "$G"
