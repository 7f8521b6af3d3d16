#!/usr/bin/env bash
# Idempotent set-up for building and testing ringlm (`npm run setup`).
#
#   1. System packages (Debian/Ubuntu): installs whatever is missing of the list below with apt-get,
#      as root or through non-interactive sudo. Anywhere else, or without those rights, it prints
#      exactly what to install and exits non-zero.
#   2. Node >= 20 and npm are present.
#   3. node_modules: `npm ci` (or `npm install` without a lockfile) when missing or stale.
#
# Quiet: one summary line per step; a failing command's log is shown only when it fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

LOG="$(mktemp -t ringlm-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

# Runs a command with its output captured; on failure shows the log's tail and stops.
run_quiet() {
  if ! "$@" >"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    die "failed: $*"
  fi
}

# ---- 1. system packages --------------------------------------------------------------------------
# package : what proves it is there when dpkg does not know it (a command, or a file)
REQUIRED=(
  "emscripten:em++"
  "libxsimd-dev:/usr/include/xsimd/xsimd.hpp"
  "chromium:chromium"
  "firefox-esr:firefox-esr"            # the second browser engine of the tests (driven over WebDriver BiDi)
  "ninja-build:ninja"
  "cmake:cmake"
  "g++:g++"
  "libgtest-dev:/usr/src/googletest/CMakeLists.txt"
  "clang-14:clang++-14"                # the fuzz targets (libFuzzer, ASan, UBSan)
  "libclang-rt-14-dev:clang++-14"
)

is_present() {
  local package="$1" probe="$2"
  if command -v dpkg-query >/dev/null 2>&1 &&
     [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" == "install ok installed" ]]; then
    return 0
  fi
  if [[ "$probe" == /* ]]; then [[ -e "$probe" ]]; else command -v "$probe" >/dev/null 2>&1; fi
}

missing=()
for entry in "${REQUIRED[@]}"; do
  is_present "${entry%%:*}" "${entry#*:}" || missing+=("${entry%%:*}")
done

if ((${#missing[@]} == 0)); then
  say "system packages: all present (${REQUIRED[*]%%:*})"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing system packages: ${missing[*]}
  This is not a Debian/Ubuntu system: install the equivalents of these packages
  (Emscripten 3.1.x, xsimd 8 headers, Chromium, Firefox ESR, Ninja, CMake >= 3.20, a C++17 g++, GoogleTest sources)."
  fi
  SUDO=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      die "missing system packages: ${missing[*]}
  Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    fi
  fi
  say "installing system packages: ${missing[*]} (apt-get, 1-2 minutes)"
  export DEBIAN_FRONTEND=noninteractive
  run_quiet "${SUDO[@]}" apt-get update
  run_quiet "${SUDO[@]}" apt-get install -y "${missing[@]}"
  for entry in "${REQUIRED[@]}"; do
    is_present "${entry%%:*}" "${entry#*:}" || die "apt-get ran but ${entry%%:*} is still missing"
  done
  say "system packages: installed ${missing[*]}"
fi

# ---- 2. Node and npm -----------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not installed (Node >= 20 is needed)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (it comes with Node >= 20)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node $(node --version) is too old: Node >= 20 is needed"
say "node $(node --version), npm $(npm --version)"

# ---- 3. node_modules -----------------------------------------------------------------------------
# Stale means: npm itself reports a missing or mismatched dependency, or the lockfile changed after
# the last install (npm writes node_modules/.package-lock.json on every install).
npm_is_stale() {
  [[ -d node_modules ]] || return 0
  [[ -f node_modules/.package-lock.json ]] || return 0
  [[ -f package-lock.json && package-lock.json -nt node_modules/.package-lock.json ]] && return 0
  ! npm ls --depth=0 >/dev/null 2>&1
}

if npm_is_stale; then
  if [[ -f package-lock.json ]]; then npm_cmd=(npm ci); else npm_cmd=(npm install); fi
  run_quiet "${npm_cmd[@]}" --no-audit --no-fund
  touch node_modules/.package-lock.json
  say "node_modules: ${npm_cmd[*]} done ($(npm ls --depth=0 --parseable 2>/dev/null | tail -n +2 | wc -l) direct dependencies)"
else
  say "node_modules: up to date"
fi
