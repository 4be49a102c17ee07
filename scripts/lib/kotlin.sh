# Kotlin on the JVM, for the Kotlin kit's tests (scripts/lib/shells.sh) and the call bench
# (bindings/bench/run): kotlinc, kotlinx-coroutines, JNA and the JUnit console launcher.
# Sourced after common.sh and node.sh; not run.
#
# No Gradle and no Android SDK: the kit's JVM sources compile with kotlinc alone, and its
# tests run with the JUnit console launcher. Steps of need_kotlin:
#   1. A JRE (Debian's default-jre-headless) when there is no java.
#   2. kotlinc: the npm package kotlin-compiler (the official compiler zip, republished on
#      npm), unpacked once under $CACHE_ROOT/kotlin. Its bundled kotlinx-coroutines must be
#      COROUTINES_VERSION, the version the test jar is fetched at.
#   3. The jars from Maven Central into $CACHE_ROOT/jars, each checked against its .sha1.
#   4. Exports what to compile and run against (see need_kotlin).
#
#   scripts/test tooling   smoke_kotlin among the other smoke checks

KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
# kotlinc 2.4.20 bundles kotlinx-coroutines 1.8.0; the test jar must match it.
COROUTINES_VERSION="${COROUTINES_VERSION:-1.8.0}"
JNA_VERSION="${JNA_VERSION:-5.19.1}"
JUNIT_CONSOLE_VERSION="${JUNIT_CONSOLE_VERSION:-6.1.3}"
# Android's API as a plain jar (Robolectric's build of the platform, API 35 like compileSdk):
# the suite compiles btleplug's Java side against it (~190 MB, fetched once).
ANDROID_ALL_VERSION="${ANDROID_ALL_VERSION:-15-robolectric-14663667-2}"
MAVEN_CENTRAL="${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"

# Unpacks kotlinc (npm package kotlin-compiler) under $CACHE_ROOT/kotlin and fetches the jars
# into $CACHE_ROOT/jars (sha1 checked). Exports KOTLINC, KOTLIN_HOME, KOTLIN_STDLIB_JAR,
# KOTLIN_TEST_JARS, COROUTINES_JAR, COROUTINES_TEST_JAR, JNA_JAR, JUNIT_CONSOLE_JAR and
# JUNIT_JARS (what to compile tests against; the standalone jar holds the Jupiter API).
#   need_kotlin && "$KOTLINC" T.kt -cp "$JUNIT_JARS:$COROUTINES_JAR" -d t.jar
need_kotlin() {
  command -v java >/dev/null || need_apt default-jre-headless
  command -v java >/dev/null || { die "java is not on PATH after installing a JRE"; return 1; }
  need_apt curl ca-certificates
  export KOTLIN_HOME="$CACHE_ROOT/kotlin/kotlinc-$KOTLIN_VERSION"
  if [ ! -f "$KOTLIN_HOME/.lock-access-ready" ]; then
    with_cache_lock kotlin _unpack_kotlinc
  fi
  export KOTLINC="$KOTLIN_HOME/bin/kotlinc"
  export KOTLIN_STDLIB_JAR="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
  # kotlin.test assertions on JUnit 5; the jars ship with the compiler.
  export KOTLIN_TEST_JARS="$KOTLIN_HOME/lib/kotlin-test.jar:$KOTLIN_HOME/lib/kotlin-test-junit5.jar"
  [ -f "$KOTLIN_STDLIB_JAR" ] || { die "no kotlin-stdlib.jar in $KOTLIN_HOME/lib"; return 1; }
  local jars
  jars="$(with_cache_lock jars _fetch_kotlin_jars)" || return 1
  {
    read -r COROUTINES_JAR
    read -r COROUTINES_TEST_JAR
    read -r JNA_JAR
    read -r JUNIT_CONSOLE_JAR
  } <<<"$jars"
  export COROUTINES_JAR COROUTINES_TEST_JAR JNA_JAR JUNIT_CONSOLE_JAR
  # The console launcher is a standalone jar that also holds the Jupiter API to compile against.
  export JUNIT_JARS="$JUNIT_CONSOLE_JAR"
}

_fetch_kotlin_jars() {
  maven_jar org.jetbrains.kotlinx kotlinx-coroutines-core-jvm "$COROUTINES_VERSION" &&
    maven_jar org.jetbrains.kotlinx kotlinx-coroutines-test-jvm "$COROUTINES_VERSION" &&
    maven_jar net.java.dev.jna jna "$JNA_VERSION" &&
    maven_jar org.junit.platform junit-platform-console-standalone "$JUNIT_CONSOLE_VERSION"
}

# Downloads G:A:V (jar) from Maven Central into $CACHE_ROOT/jars, checks its sha1 and prints
# the path. Skips the download when the jar is already there.
#   jar="$(maven_jar net.java.dev.jna jna 5.19.1)"
maven_jar() {
  local group="$1" artifact="$2" version="$3"
  local dir="$CACHE_ROOT/jars" name="$artifact-$version.jar"
  local dest="$dir/$name"
  if [ ! -s "$dest" ]; then
    mkdir -p "$dir"
    local url="$MAVEN_CENTRAL/${group//.//}/$artifact/$version/$name"
    local tmp
    tmp="$(mktemp "$dir/.$name.XXXXXX")"
    printf 'downloading %s\n' "$url" >&2
    if ! curl -fsSL --retry 3 -o "$tmp" "$url"; then
      rm -f "$tmp"
      die "cannot download $url"
      return 1
    fi
    local want got
    want="$(curl -fsSL --retry 3 "$url.sha1" | awk '{print $1}')" ||
      { rm -f "$tmp"; die "cannot download $url.sha1"; return 1; }
    got="$(sha1sum "$tmp" | awk '{print $1}')"
    if [ "$want" != "$got" ]; then
      rm -f "$tmp"
      die "sha1 mismatch for $name: Maven Central says $want, download has $got"
      return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$dest"
  fi
  printf '%s\n' "$dest"
}

_unpack_kotlinc() {
  [ -f "$KOTLIN_HOME/.lock-access-ready" ] && return 0
  need_node
  local parent="$CACHE_ROOT/kotlin"
  mkdir -p "$parent"
  rm -rf "$parent"/.unpack.* "$KOTLIN_HOME"
  local tmp
  tmp="$(mktemp -d "$parent/.unpack.XXXXXX")"
  step "kotlinc: npm pack kotlin-compiler@$KOTLIN_VERSION (~90 MB)"
  (cd "$tmp" && npm_config_cache="$CACHE_ROOT/npm" npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null) ||
    { rm -rf "$tmp"; die "npm pack kotlin-compiler@$KOTLIN_VERSION failed"; return 1; }
  tar -xzf "$tmp"/kotlin-compiler-*.tgz -C "$tmp" ||
    { rm -rf "$tmp"; die "cannot unpack kotlin-compiler@$KOTLIN_VERSION"; return 1; }
  rm -f "$tmp"/kotlin-compiler-*.tgz
  [ -f "$tmp/package/bin/kotlinc" ] && [ -d "$tmp/package/lib" ] ||
    { rm -rf "$tmp"; die "kotlin-compiler@$KOTLIN_VERSION has no bin/kotlinc and lib/"; return 1; }
  chmod +x "$tmp"/package/bin/*
  # The version the compiler was built with must be the one the test jar is fetched at.
  local bundled
  bundled="$(python3 - "$tmp/package/lib/kotlinx-coroutines-core-jvm.jar" <<'EOF'
import sys, zipfile
print(zipfile.ZipFile(sys.argv[1]).read("META-INF/kotlinx_coroutines_core.version").decode().strip())
EOF
)" || bundled="unreadable"
  if [ "$bundled" != "$COROUTINES_VERSION" ]; then
    rm -rf "$tmp"
    die "kotlinc bundles kotlinx-coroutines $bundled, but COROUTINES_VERSION is $COROUTINES_VERSION"
    return 1
  fi
  touch "$tmp/package/.lock-access-ready"
  mv "$tmp/package" "$KOTLIN_HOME" || { die "cannot move kotlinc to $KOTLIN_HOME"; return 1; }
  rm -rf "$tmp"
}

# Fetches Robolectric's android-all jar (the Android API for javac on the JVM) into
# $CACHE_ROOT/jars and exports ANDROID_ALL_JAR.
need_android_all() {
  need_kotlin
  ANDROID_ALL_JAR="$(with_cache_lock jars maven_jar org.robolectric android-all "$ANDROID_ALL_VERSION")" || return 1
  export ANDROID_ALL_JAR
}

# Compiles a Kotlin JUnit test that uses runBlocking and runTest, runs it with the JUnit
# console launcher and checks that both tests passed.
smoke_kotlin() {
  need_kotlin
  step "smoke: kotlinc + JUnit console launcher (~40 s)"
  local dir
  dir="$(mktemp -d)"
  on_exit "rm -rf '$dir'"
  cat >"$dir/SmokeTest.kt" <<'EOF'
import com.sun.jna.Platform
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.test.runTest
import kotlin.test.assertTrue
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class SmokeTest {
    @Test
    fun blockingCoroutineAddsAndSeesJna() = runBlocking {
        val sum = async { delay(10); 40 + 2 }
        assertEquals(42, sum.await())
        assertTrue(Platform.isLinux())
    }

    @OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)
    @Test
    fun virtualTimeSkipsDelay() = runTest {
        delay(60_000)
        assertEquals(60_000L, testScheduler.currentTime)
    }
}
EOF
  local cp="$JUNIT_JARS:$KOTLIN_TEST_JARS:$COROUTINES_JAR:$COROUTINES_TEST_JAR:$JNA_JAR"
  "$KOTLINC" "$dir/SmokeTest.kt" -cp "$cp" -d "$dir/smoke.jar" && [ -f "$dir/smoke.jar" ] ||
    { die "smoke_kotlin: kotlinc failed"; return 1; }
  local out="$dir/junit.log"
  java -jar "$JUNIT_CONSOLE_JAR" execute --disable-banner --details=summary \
    --class-path "$dir/smoke.jar:$KOTLIN_STDLIB_JAR:$KOTLIN_TEST_JARS:$COROUTINES_JAR:$COROUTINES_TEST_JAR:$JNA_JAR" \
    --select-class SmokeTest 2>&1 | tee "$out"
  grep -Eq '\[ +2 tests successful +\]' "$out" && grep -Eq '\[ +0 tests failed +\]' "$out" ||
    { die "smoke_kotlin: JUnit did not report 2 passing tests"; return 1; }
}
