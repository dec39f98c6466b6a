#!/usr/bin/env bash
# The test suite: unit tests plus real multi-process jobs started with `trellis run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-packages.sh
swift build --build-tests
swift test --skip-build --no-parallel "$@"
