# The web suite: the Manage Access page in headless Chromium against the real access-server.
# Sourced after scripts/lib/common.sh and scripts/lib/chromium.sh (need_chromium_playwright);
# not run. Screenshots of every step land in $ARTIFACTS_DIR (default artifacts/web).

suite_web() {
  need_rust_build_deps
  step "web: cargo build -p access-server"
  cargo build -p access-server --locked
  export ACCESS_SERVER_BIN="${ACCESS_SERVER_BIN:-$CARGO_TARGET_DIR/debug/access-server}"
  need_chromium_playwright tests/web
  export ARTIFACTS_DIR="${ARTIFACTS_DIR:-$PWD/artifacts/web}"
  mkdir -p "$ARTIFACTS_DIR"
  step "web: node --test tests/web/ (screenshots in $ARTIFACTS_DIR)"
  node --test tests/web/
}
