#!/usr/bin/env bash
# Compiles and unit-tests the plain-Java core with the JDK and JUnit 5 from Debian's packages
# (no Gradle, no Android SDK, no download beyond the package registry). Installs
# default-jdk-headless and junit5 with apt-get when javac or the console launcher is missing.
# Prints JUnit's summary ("N tests successful", "N tests failed") and a closing line
# "java core: N passed, N failed"; exits non-zero when a test fails or nothing compiles.
set -euo pipefail
cd "$(dirname "$0")"

LAUNCHER=/usr/share/java/junit-platform-console-standalone.jar
if ! command -v javac >/dev/null 2>&1 || [ ! -f "$LAUNCHER" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "+ apt-get install default-jdk-headless junit5"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    default-jdk-headless junit5 >/dev/null
fi

BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT
mkdir -p "$BUILD/main" "$BUILD/test"
# --release 11: the core must not use JDK APIs newer than Android's desugared library offers.
find src/main/java -name '*.java' -print0 | xargs -0 javac --release 11 -Xlint:all -Werror \
  -d "$BUILD/main"
find src/test/java -name '*.java' -print0 | xargs -0 javac --release 11 \
  -cp "$BUILD/main:$LAUNCHER" -d "$BUILD/test"

set +e
java -jar "$LAUNCHER" --disable-banner --details=summary --disable-ansi-colors \
  -cp "$BUILD/main:$BUILD/test:src/test/resources" --scan-classpath | tee "$BUILD/report.txt"
status=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^\[ *\([0-9]*\) tests successful *\]$/\1/p' "$BUILD/report.txt")
failed=$(sed -n 's/^\[ *\([0-9]*\) tests failed *\]$/\1/p' "$BUILD/report.txt")
echo "java core: ${passed:-0} passed, ${failed:-unknown} failed"
if [ "$status" -ne 0 ] || [ "${passed:-0}" -eq 0 ]; then
  exit 1
fi
