#!/usr/bin/env bash
# The web tests, installing what they need when missing:
#   1. tidings-wasm's wasm-bindgen tests, in wasm32 under Node (bindings, the
#      simulator, the core's seeded scenarios against the native table);
#   2. the npm package (web-demo/pkg) under Node: doc examples, install by name;
#   3. the demo page in headless Chromium against the real `tidings` binary.
# Screenshots go to artifacts/browser/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tidings/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n== %s\n' "$*"; }

step "web: tools"
# wasm32 target and wasm-bindgen-cli (with wasm-bindgen-test-runner, the
# runner .cargo/config.toml names) at the version of Cargo.lock.
tools_bin=$(scripts/build-web --tools)
export PATH="$tools_bin:$PATH"
echo "wasm-bindgen: $(wasm-bindgen --version)"
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium (once, about a minute)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium chromium-driver >/dev/null
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
if [ ! -f tests/browser/node_modules/.package-lock.json ] ||
  [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  (cd tests/browser && npm ci --no-audit --no-fund)
fi
echo "playwright-core: $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')"

step "web: tidings-wasm tests in wasm32 under Node"
log="${TMPDIR:-/tmp}/tidings-wasm-test.log"
if ! cargo test --target wasm32-unknown-unknown -p tidings-wasm --locked >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "wasm tests failed; full log in $log" >&2
  exit 1
fi
grep -E '^(     Running|test result)' "$log"

step "web: build the demo and the server"
scripts/build-web
cargo build -p tidings-host --bin tidings --locked

step "web: package and browser tests"
node tests/browser/run.mjs
