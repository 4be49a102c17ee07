# Headless Chromium driven by playwright-core, for the web suite (scripts/lib/web.sh).
# Sourced after common.sh and node.sh; not run.
#
# Steps of need_chromium_playwright DIR:
#   1. node >= 20 (need_node).
#   2. Debian's chromium (/usr/bin/chromium): no browser download from the npm package.
#   3. DIR's npm dependencies with `npm ci`, again only when package.json or the lock file
#      changed (a stamp in node_modules says which ones were installed).

# Exports CHROMIUM_PATH and CHROMIUM_ARGS (space separated): launch with
# executablePath: process.env.CHROMIUM_PATH and those flags.
#   need_chromium_playwright tests/web && (cd tests/web && node run.mjs)
need_chromium_playwright() {
  local dir="${1:?usage: need_chromium_playwright DIR}"
  [ -f "$dir/package.json" ] || { die "no package.json in $dir"; return 1; }
  need_node
  need_apt chromium fonts-liberation
  export CHROMIUM_PATH=/usr/bin/chromium
  export CHROMIUM_ARGS="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
  [ -x "$CHROMIUM_PATH" ] || { die "$CHROMIUM_PATH missing after installing chromium"; return 1; }
  local stamp="$dir/node_modules/.lock-access-stamp" want
  if [ -f "$dir/package-lock.json" ]; then
    want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | awk '{print $1}')"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      step "npm ci in $dir"
      (cd "$dir" && npm_config_cache="$CACHE_ROOT/npm" npm ci --no-audit --no-fund --prefer-offline) ||
        { die "npm ci in $dir failed"; return 1; }
      printf '%s\n' "$want" >"$stamp"
    fi
  else
    step "npm install in $dir (no package-lock.json yet)"
    (cd "$dir" && npm_config_cache="$CACHE_ROOT/npm" npm install --no-audit --no-fund) ||
      { die "npm install in $dir failed"; return 1; }
  fi
}

# Serves a page on 127.0.0.1, clicks its button in headless Chromium, checks the text changed
# and saves a screenshot.
smoke_chromium() {
  need_chromium_playwright "$REPO_ROOT/tests/web"
  step "smoke: chromium + playwright-core"
  local dir
  dir="$(mktemp -d)"
  on_exit "rm -rf '$dir'"
  node "$REPO_ROOT/tests/tooling/chromium-smoke.mjs" "$REPO_ROOT/tests/web" "$dir/smoke.png"
}
