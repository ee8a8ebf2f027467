#!/usr/bin/env bash
# vLLM-CPU engine dtype, fp32 vs bf16, alone on the machine, twice, at 1 and 2 threads (issue 25's open question).
set -u
O=runs/dtype-quiet
for rep in 1 2; do
  for t in 1 2; do
    echo "start rep$rep t$t $(date -u +%FT%TZ) $(uptime)" >> $O/timing.txt
    python bench/generation.py --prompts 8 --threads $t --samplers vllm_fp32,vllm_bf16 --json $O/p8-t$t-rep$rep.json > $O/p8-t$t-rep$rep.log 2>&1
    echo "rc $? $(date -u +%FT%TZ)" >> $O/timing.txt
  done
  echo "start rep$rep p32 t2 $(date -u +%FT%TZ) $(uptime)" >> $O/timing.txt
  python bench/generation.py --prompts 32 --threads 2 --samplers vllm_fp32,vllm_bf16 --json $O/p32-t2-rep$rep.json > $O/p32-t2-rep$rep.log 2>&1
  echo "rc $? $(date -u +%FT%TZ)" >> $O/timing.txt
done
