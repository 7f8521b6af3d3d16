#!/usr/bin/env bash
# The whole test suite (`npm test`): set-up, both builds, the test models, the native and wasm
# GoogleTest suites (through ctest), then the JavaScript tests (Node, the npm package, Chromium).
# Stops at the first failing step and exits non-zero; always ends with one summary line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p build/artifacts

started=$SECONDS
step_name=""
steps_done=0

finish() {
  local status=$?
  local elapsed=$((SECONDS - started))
  if ((status == 0)); then
    printf '\ntest: PASSED - all %d steps in %d s\n' "$steps_done" "$elapsed"
  else
    printf '\ntest: FAILED at step "%s" (exit code %d) after %d s; %d steps passed before it\n' \
      "$step_name" "$status" "$elapsed" "$steps_done" >&2
  fi
}
trap finish EXIT

step() {
  step_name="$1"
  shift
  printf '\n== test: %s\n' "$step_name"
  "$@"
  steps_done=$((steps_done + 1))
}

# Node 20's `node --test` does not expand globs itself: the shell expands this one, so only
# tests/*.test.mjs run (not helpers such as tests/reference/*.mjs or tests/browser/worker.mjs).
js_tests() {
  shopt -s nullglob
  local files=(tests/*.test.mjs)
  shopt -u nullglob
  if ((${#files[@]} == 0)); then
    echo "no tests/*.test.mjs files found" >&2
    return 1
  fi
  node --test "${files[@]}"
}

# The -DRINGLM_NATIVE_ARCH=ON build (AVX2/AVX-512 kernels, not bit-identical to wasm) is not what
# the package ships, but its kernels must still equal the scalar references: build it and run the
# native suite once more when this CPU can run it.
native_arch_ctest() {
  if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo || ! grep -qw f16c /proc/cpuinfo; then
    echo "this CPU has no AVX2+FMA+F16C: the -march=native kernels are the SSE4.1 ones already tested"
    return 0
  fi
  [[ -f build/native-arch/build.ninja ]] ||
    cmake -S . -B build/native-arch -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGLM_NATIVE_ARCH=ON >/dev/null
  ninja -C build/native-arch -j2
  ctest --test-dir build/native-arch --output-on-failure --no-tests=error
}

step "setup"        bash tools/setup.sh
step "build"        node tools/build.mjs
step "test models"  node tools/make-test-models.mjs
step "native ctest" ctest --test-dir build/native --output-on-failure --no-tests=error
step "native -march=native ctest" native_arch_ctest
step "wasm ctest"   ctest --test-dir build/wasm --output-on-failure --no-tests=error
step "wasm ctest (threads)" ctest --test-dir build/wasm-mt --output-on-failure --no-tests=error
step "fuzz regression" bash tools/fuzz.sh --runs 2000
step "js tests"     js_tests
