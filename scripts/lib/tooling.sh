# The provisioning's own check: each smoke_* installs its tool the way the suites do and
# proves it works on a tiny example. Sourced after the files that define them; not run.
#
#   scripts/test tooling

suite_tooling() {
  smoke_postgres     # postgres.sh
  smoke_chromium     # chromium.sh
  smoke_kotlin       # kotlin.sh
  smoke_swift        # swift-root.sh
}
