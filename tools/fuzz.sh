#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang++-14, ASan + UBSan) and runs them one after another.
#
#   tools/fuzz.sh [--runs N | --time SECONDS] [--build-only] [TARGET...]
#
#   --runs N        run each target for N inputs: CI's short regression check (seed corpus + N mutations)
#   --time SECONDS  run each target for that long: the real campaign (default: 600 s each)
#   TARGET          gguf_fuzz, tokenizer_fuzz, sampler_fuzz, state_fuzz, grammar_fuzz (default: all five)
#
# Inputs that find something are written to build/fuzz/crashes/TARGET/ and the script exits non-zero.
# New interesting inputs go to build/fuzz/corpus/TARGET/ (not checked in; the seeds in
# tests/fuzz/corpus/ are). Reproduce a crash with: build/fuzz/TARGET build/fuzz/crashes/TARGET/crash-...
# Run long campaigns under `nice -n 19`: they take a whole core.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=""
seconds=600
build_only=0
targets=()
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --time) seconds="$2"; runs=""; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(gguf_fuzz tokenizer_fuzz sampler_fuzz state_fuzz grammar_fuzz)

build=build/fuzz
if [[ ! -f $build/build.ninja ]]; then
  CXX=clang++-14 cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j 2
((build_only)) && exit 0

# The tokenizer target reads the real vocabularies.
if [[ ! -f build/models/vocab-gpt4o.gguf || ! -f build/models/vocab-gemma-spm.gguf ]]; then
  node tools/gguf/vocab-models.mjs build/models >/dev/null
fi
export RINGLM_FUZZ_MODELS="$PWD/build/models"

status=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  if [[ -n $runs ]]; then
    limit=(-runs="$runs")
    what="$runs runs"
    # libFuzzer writes new inputs into the first corpus folder it is given: a scratch folder, so a
    # regression run never adds files to the checked-in seeds.
    rm -rf "$build/regression/$t" && mkdir -p "$build/regression/$t"
    work=("$build/regression/$t")
  else
    limit=(-max_total_time="$seconds")
    what="$seconds s"
    work=("$build/corpus/$t")
  fi
  echo "== fuzz: $t ($what)"
  log="$build/$t.log"
  if "$build/$t" "${limit[@]}" -timeout=30 -rss_limit_mb=3072 -print_final_stats=1 \
      -artifact_prefix="$build/crashes/$t/" "${work[@]}" "tests/fuzz/corpus/${t%_fuzz}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -2 || true
  else
    status=1
    echo "fuzz: $t FAILED; the end of $log:" >&2
    tail -40 "$log" >&2
  fi
done
exit $status
