#!/usr/bin/env bash
# The runtime matrix (#12): the packed tarball, installed in a scratch consumer
# project as users get it, runs scenario.mjs (RFC vectors, QR in every format,
# the whole service flow with TOTP, recovery codes, locks, email recovery,
# three software security keys, step-up and remembered devices) on the system
# Node (20 in CI), the oldest Node that package.json `engines` allows (20.19.0
# for ">=20.19"), Node 22 and 24 (the official builds, npm `node-linux-<arch>`),
# Bun and Deno, and inside a Cloudflare Worker: bundled by `wrangler deploy
# --dry-run` with nodejs_compat, run in workerd by miniflare. Then the
# PostgreSQL and Redis conformance suites run on Node 22 and 24 (the system
# Node already ran them in `npm test`).
#
# Everything is installed fresh from the npm registry into a temp dir that is
# removed at the end (RUNTIME_MATRIX_KEEP=1 keeps it); nothing is cached.
# Versions track the newest release of a major (override with the variables
# below, e.g. RUNTIME_MATRIX_BUN=1.4.5). Each runtime prints one line; every
# runtime runs even when one fails, and any failure exits non-zero at the end.
#
# Needs: the built package (dist/, built here when missing), the repo's
# devDependencies (vitest), PostgreSQL and Redis for the conformance part
# (see test/support/services.ts), the npm registry. Usage:
#   npm run build && CI=true bash scripts/runtime-matrix/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
HERE=$REPO/scripts/runtime-matrix

NODE_MAJORS=(${RUNTIME_MATRIX_NODE_MAJORS:-22 24})
BUN_SPEC=${RUNTIME_MATRIX_BUN:-1}
DENO_SPEC=${RUNTIME_MATRIX_DENO:-2}
WRANGLER_SPEC=${RUNTIME_MATRIX_WRANGLER:-4}
MINIFLARE_SPEC=${RUNTIME_MATRIX_MINIFLARE:-4}

case "$(uname -m)" in
  x86_64 | amd64) NODE_ARCH=x64 ;;
  aarch64 | arm64) NODE_ARCH=arm64 ;;
  *) echo "runtime matrix: no official Node build on npm for $(uname -m)" >&2; exit 1 ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/twofold-runtime-matrix.XXXXXX")
CURRENT_STEP="set-up"
cleanup() {
  local status=$?
  if [ "$status" != 0 ] && [ "$CURRENT_STEP" != done ]; then echo "runtime matrix FAILED during: $CURRENT_STEP (exit $status)" >&2; fi
  if [ "${RUNTIME_MATRIX_KEEP:-}" = 1 ]; then echo "runtime matrix: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# Tools write their caches and settings here, never into $HOME.
export XDG_CONFIG_HOME=$WORK/home/config XDG_CACHE_HOME=$WORK/home/cache
export DENO_DIR=$WORK/home/deno DENO_NO_UPDATE_CHECK=1 BUN_INSTALL_CACHE_DIR=$WORK/home/bun
export WRANGLER_SEND_METRICS=false WRANGLER_LOG_PATH=$WORK/home/wrangler-logs
NPM_INSTALL=(npm install --no-audit --no-fund --loglevel=error)

TIMINGS=()
RESULTS=()
FAILED=()
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
START=$(now)

# step NAME COMMAND...: a setup step; its failure ends the matrix.
step() {
  local name=$1 t
  shift
  echo "-- $name"
  CURRENT_STEP=$name
  t=$(now)
  "$@"
  TIMINGS+=("$(printf '%-50s %6s s' "$name" "$(since "$t")")")
}

# check NAME COMMAND...: one cell of the matrix; a failure is recorded and the matrix goes on.
check() {
  local name=$1 t status=0
  shift
  echo "-- $name"
  t=$(now)
  "$@" || status=$?
  local took
  took=$(since "$t")
  TIMINGS+=("$(printf '%-50s %6s s' "$name" "$took")")
  if [ "$status" = 0 ]; then
    RESULTS+=("$(printf 'ok    %-46s %6s s' "$name" "$took")")
  else
    RESULTS+=("$(printf 'FAIL  %-46s %6s s (exit %s)' "$name" "$took" "$status")")
    FAILED+=("$name")
  fi
}

BUN=$WORK/runtimes/node_modules/bun/bin/bun.exe # the real binary, put there by bun's postinstall
DENO=$WORK/runtimes/node_modules/deno/deno
# node_bin floor|MAJOR: the official Node binary installed by runtimes().
node_bin() { echo "$WORK/runtimes/node_modules/node-$1/bin/node"; }

# version DIR PACKAGE: the version of DIR/node_modules/PACKAGE (read from its package.json, which not every package exports).
version() { node -p "require(process.argv[1]).version" "$1/node_modules/$2/package.json"; }

# --- the package as published
pack() {
  if [ ! -f dist/index.js ]; then npm run build; fi
  mkdir -p "$WORK/pack"
  TARBALL=$WORK/pack/$(npm pack --silent --pack-destination "$WORK/pack" | tail -n 1)
  [ -f "$TARBALL" ] || { echo "npm pack wrote no tarball" >&2; return 1; }
  echo "$(basename "$TARBALL"), $(du -k "$TARBALL" | cut -f1) KB"
}

# --- a consumer project: the tarball and the optional peer for twofold/webauthn
consumer() {
  local simplewebauthn
  simplewebauthn=$(node -p "require('./package-lock.json').packages['node_modules/@simplewebauthn/server'].version")
  mkdir -p "$WORK/consumer"
  cat >"$WORK/consumer/package.json" <<'JSON'
{ "name": "twofold-runtime-matrix-consumer", "private": true, "type": "module" }
JSON
  (cd "$WORK/consumer" && "${NPM_INSTALL[@]}" "$TARBALL" "@simplewebauthn/server@$simplewebauthn")
  cp "$HERE/scenario.mjs" "$HERE/cli.mjs" "$HERE/worker.mjs" "$WORK/consumer/"
  echo "installed: twofold $(version "$WORK/consumer" twofold), @simplewebauthn/server $(version "$WORK/consumer" @simplewebauthn/server)"
}

# --- the engines floor, Node 22/24, Bun, Deno (the official Node builds: bin/node only, so aliases side by side)
runtimes() {
  local specs=() major
  mkdir -p "$WORK/runtimes"
  # engines.node must stay a plain ">=X.Y[.Z]": its X.Y.Z is the oldest Node this matrix runs.
  NODE_FLOOR=$(node -p "const e = require('./package.json').engines.node, m = /^>=\\s*(\\d+)\\.(\\d+)(?:\\.(\\d+))?\$/.exec(e); if (!m) throw new Error('engines.node is not >=X.Y[.Z]: ' + e); [m[1], m[2], m[3] ?? 0].join('.')")
  specs+=("node-floor@npm:node-linux-$NODE_ARCH@$NODE_FLOOR")
  for major in "${NODE_MAJORS[@]}"; do specs+=("node-$major@npm:node-linux-$NODE_ARCH@$major"); done
  cat >"$WORK/runtimes/package.json" <<'JSON'
{ "private": true, "allowScripts": { "bun": true, "deno": true } }
JSON
  (cd "$WORK/runtimes" && "${NPM_INSTALL[@]}" "${specs[@]}" "bun@$BUN_SPEC" "deno@$DENO_SPEC")
  for major in floor "${NODE_MAJORS[@]}"; do "$(node_bin "$major")" --version; done
  echo -n "bun " && "$BUN" --version
  "$DENO" --version | sed -n 1p
}

# --- wrangler (the bundler users deploy with) and miniflare (workerd), installed by the newest Node:
# npm picks the newest release whose `engines` the running Node satisfies, and both need Node >= 22.
workers() {
  NODE_NEWEST=$(node_bin "${NODE_MAJORS[-1]}")
  mkdir -p "$WORK/workers"
  cat >"$WORK/workers/package.json" <<'JSON'
{ "private": true, "type": "module", "allowScripts": { "esbuild": true, "workerd": true, "sharp": false } }
JSON
  (cd "$WORK/workers" && PATH="$(dirname "$NODE_NEWEST"):$PATH" "${NPM_INSTALL[@]}" "wrangler@$WRANGLER_SPEC" "miniflare@$MINIFLARE_SPEC")
  cp "$HERE/miniflare.mjs" "$WORK/workers/"
  # The newest date this workerd supports, as `wrangler init` would write today.
  COMPAT_DATE=$(cd "$WORK/workers" && "$NODE_NEWEST" --input-type=module -e "import { supportedCompatibilityDate } from 'miniflare'; console.log(supportedCompatibilityDate)")
  echo "installed: wrangler $(version "$WORK/workers" wrangler), miniflare $(version "$WORK/workers" miniflare), workerd $(version "$WORK/workers" workerd)"
  echo "compatibility_date $COMPAT_DATE"
}

# --- the worker, bundled the way `wrangler deploy` bundles it
bundle() {
  cat >"$WORK/consumer/wrangler.jsonc" <<JSON
{
  "name": "twofold-runtime-matrix",
  "main": "worker.mjs",
  "compatibility_date": "$COMPAT_DATE",
  "compatibility_flags": ["nodejs_compat"]
}
JSON
  (cd "$WORK/consumer" && "$NODE_NEWEST" "$WORK/workers/node_modules/wrangler/bin/wrangler.js" deploy --dry-run --outdir "$WORK/bundle" 2>&1 \
    | grep -v -e '^$' -e 'telemetry' -e '^─*$' || true)
  [ -s "$WORK/bundle/worker.js" ] || { echo "wrangler wrote no bundle" >&2; return 1; }
}

echo "== runtime matrix in $WORK"
step "npm pack" pack
step "consumer project (npm install the tarball)" consumer
step "install Node (engines floor, ${NODE_MAJORS[*]}), Bun, Deno" runtimes
step "install wrangler, miniflare (workerd)" workers
step "bundle the worker (wrangler --dry-run)" bundle

CURRENT_STEP=done # from here on every cell runs, and failures are listed at the end
echo "== the scenario on every runtime"
in_consumer() { (cd "$WORK/consumer" && "$@"); }
check "node $(node --version | tr -d v) (system)" in_consumer node cli.mjs
check "node $NODE_FLOOR (engines floor)" in_consumer "$(node_bin floor)" cli.mjs
for major in "${NODE_MAJORS[@]}"; do
  bin=$(node_bin "$major")
  check "node $("$bin" --version | tr -d v)" in_consumer "$bin" cli.mjs
done
check "bun $("$BUN" --version)" in_consumer "$BUN" --no-install cli.mjs
# Deno reads the consumer's node_modules (package.json + node_modules: manual mode) and
# downloads nothing; no --allow-* flag: twofold needs no permission, and --no-prompt
# turns any request for one into a failure.
check "deno $("$DENO" --version | sed -n 1p | cut -d' ' -f2)" \
  in_consumer "$DENO" run --no-prompt --node-modules-dir=manual --cached-only --no-lock cli.mjs
check "workerd $(version "$WORK/workers" workerd) (miniflare)" \
  bash -c 'cd "$1" && "$2" miniflare.mjs "$3" "$4"' _ "$WORK/workers" "$NODE_NEWEST" "$WORK/bundle/worker.js" "$WORK/consumer/wrangler.jsonc"

echo "== PostgreSQL and Redis conformance on Node ${NODE_MAJORS[*]}"
for major in "${NODE_MAJORS[@]}"; do
  bin=$(node_bin "$major")
  check "conformance pg+redis, node $("$bin" --version | tr -d v)" \
    env CI=true "$bin" node_modules/vitest/vitest.mjs run --typecheck.enabled=false test/stores/postgres.test.ts test/stores/redis.test.ts
done

echo "== runtime matrix: timings"
printf '  %s\n' "${TIMINGS[@]}"
printf '  %-50s %6s s\n' "total" "$(since "$START")"
echo "== runtime matrix: results"
printf '  %s\n' "${RESULTS[@]}"
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "runtime matrix FAILED: ${FAILED[*]}" >&2
  exit 1
fi
echo "== runtime matrix ok"
