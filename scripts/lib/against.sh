# Before/after benchmarks: one run that alternates two revisions. Sourced after common.sh.
#
#   scripts/bench against REV [ROUNDS]   # REV (e.g. main~3) vs the working tree, ROUNDS=3
#
# Runs the server (scripts/bench server), sync (access-core's `sync` bench) and unlock
# (lock-protocol's `unlock` bench) benchmarks of REV and of this tree in turn, ROUNDS times,
# so a drift of the machine's speed touches both alike, then prints each figure's median
# over the rounds for both and their ratio. REV is checked out in a detached worktree with
# its own target directory under $CACHE_ROOT/against (built once, kept for later calls).

bench_against() {
  local rev="${1:?usage: scripts/bench against REV [ROUNDS]}" rounds="${2:-3}"
  local sha
  sha="$(git -C "$REPO_ROOT" rev-parse --verify --short "$rev^{commit}")" ||
    { die "no revision $rev"; return 1; }
  local base="$CACHE_ROOT/against/$sha" logs
  logs="$(mktemp -d -t bench-against.XXXXXX)"
  if [ ! -e "$base/src/.git" ]; then
    step "against: worktree of $rev ($sha)"
    mkdir -p "$base"
    git -C "$REPO_ROOT" worktree add --detach "$base/src" "$sha"
  fi
  need_python
  local round tree bench
  for round in $(seq "$rounds"); do
    for tree in before after; do
      local dir=$REPO_ROOT target=$CARGO_TARGET_DIR
      [ "$tree" = before ] && { dir=$base/src; target=$base/target; }
      for bench in server sync unlock; do
        step "against: round $round/$rounds, $bench, $tree"
        (
          cd "$dir"
          export CARGO_TARGET_DIR="$target"
          case $bench in
            server) scripts/bench server ;;
            sync) cargo bench -q -p access-core --bench sync --locked ;;
            unlock) cargo bench -q -p lock-protocol --bench unlock --locked -- --noplot ;;
          esac
        ) >"$logs/$bench.$tree.$round.log" 2>&1 ||
          { tail -30 "$logs/$bench.$tree.$round.log" >&2; die "$bench failed on $tree"; return 1; }
      done
    done
  done
  step "against: $rev ($sha) = before, this tree = after; medians of $rounds rounds"
  python3 "$REPO_ROOT/scripts/lib/bench_medians.py" "$logs"
  echo "logs: $logs"
}
