#!/usr/bin/env bash
# The API documentation of every library module (DocC, through the
# swift-docc-plugin), as static archives under .build/docs. Warnings (a link
# to a symbol that is not there, say) fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
modules=(TrellisCore TrellisSystem TrellisWire TrellisHosts TrellisKeys TrellisRuntime TrellisNames TrellisNameService TrellisServices
  TrellisLauncher TrellisFSDistribution TrellisFSProtocol TrellisFSStorage TrellisFSConnection TrellisFSServer TrellisFSClient
  TrellisFUSE TrellisMPIIO TrellisClusterTools TrellisBenchmarks)
targets=()
for module in "${modules[@]}"; do targets+=(--target "$module"); done
mkdir -p .build/docs
swift package --allow-writing-to-directory .build/docs generate-documentation "${targets[@]}" \
  --output-path .build/docs --warnings-as-errors "$@"
echo "documentation of ${#modules[@]} modules in .build/docs"
