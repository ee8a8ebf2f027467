#!/usr/bin/env bash
# What a full `r1lite eval` of smollm2-135m costs on this machine (issue 23): GSM8K test and MATH-500, greedy on
# the whole set and with the default sampling settings (n 4, temperature 0.6, top-p 0.95) on the first 200
# problems, all with --max-tokens 512 and r1lite's default thread policy. The MATH-500 greedy run is interrupted
# with SIGINT once half its problems are saved and then resumed with the same command (the full-size resume check).
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

run() {  # name, then r1lite eval arguments
  local name=$1; shift
  local dir="$OUT/$name"
  mkdir -p "$dir"
  stamp start "$dir"
  python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval.log" 2>&1
  echo "rc $?" >> "$dir/timing.txt"
  stamp end "$dir"
}

run_interrupted() {  # as run, but SIGINT once $half problems are saved, then the same command again (resume)
  local name=$1 half=$2; shift 2
  local dir="$OUT/$name"
  mkdir -p "$dir"
  stamp start "$dir"
  python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval-interrupted.log" 2>&1 &
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
  python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval.log" 2>&1
  echo "rc $?" >> "$dir/timing.txt"
  stamp end "$dir"
}

run gsm8k-greedy "${COMMON[@]}" "${GREEDY[@]}" --benchmarks gsm8k
# A background job of a non-interactive shell starts with SIGINT ignored, and Python then keeps it ignored, so the
# SIGINT of run_interrupted would be lost (found while gsm8k-greedy ran; this part of the script was edited in
# place then). The interrupted run is started through a wrapper that restores SIGINT's default disposition first,
# as a process in a terminal has it when Ctrl-C reaches it.
with_sigint() { python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' "$@"; }

run_interrupted_sigint() {  # as run, but SIGINT once $half samples are saved, then the same command again (resume)
  local name=$1 half=$2; shift 2
  local dir="$OUT/$name"
  mkdir -p "$dir"
  stamp start "$dir"
  with_sigint python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval-interrupted.log" 2>&1 &
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
  python -m r1lite.cli eval "$@" --output-dir "$dir" > "$dir/eval.log" 2>&1
  echo "rc $?" >> "$dir/timing.txt"
  stamp end "$dir"
}

run_interrupted_sigint math500-greedy 250 "${COMMON[@]}" "${GREEDY[@]}" --benchmarks math500
run gsm8k-sampled-200 "${COMMON[@]}" --benchmarks gsm8k --limit 200
run math500-sampled-200 "${COMMON[@]}" --benchmarks math500 --limit 200
