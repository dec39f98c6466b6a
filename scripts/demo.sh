#!/usr/bin/env bash
# The main job: builds Trellis and runs a demonstration job of several local
# ranks exercising point-to-point messages and collectives.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-packages.sh
swift build -c release --product trellis
.build/release/trellis demo -n "${TRELLIS_DEMO_RANKS:-4}"
