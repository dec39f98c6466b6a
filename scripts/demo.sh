#!/usr/bin/env bash
# The main job: builds Trellis, starts a local file system of 4 servers with
# all its data under one folder (`trellis up`) and mounted through FUSE
# (`--mount`), runs a short workload on it with `trellis fs` and with
# ordinary programs on the mount, then stops it as Ctrl-C would. Then the
# runtime demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-packages.sh
# trellis answers `run` itself and hands the other commands to trellis-tools;
# trellis-conformance runs the scenarios of `trellis probe`.
for product in trellis trellis-tools trellis-proxy trellis-conformance; do swift build -c release --static-swift-stdlib --product "$product"; done
trellis=.build/release/trellis
data="${TRELLIS_DEMO_DATA:-$(mktemp -d /tmp/trellis-demo.XXXXXX)}"
# A private name service address, so the demo never meets another one.
export TRELLIS_NAME_SERVICE="127.0.0.1:$(( 20000 + RANDOM % 20000 ))"
mnt=""
if [ -e /dev/fuse ] && { [ "$(id -u)" = 0 ] || command -v fusermount3 >/dev/null; }; then mnt="$data.mnt"; fi
"$trellis" up --servers "${TRELLIS_DEMO_SERVERS:-4}" --data "$data" --name demo ${mnt:+--mount "$mnt"} --ready-file "$data.ready" > "$data.up.log" 2>&1 &
up=$!
stop() { kill -INT "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true; }
trap stop EXIT
# up writes its ready file once every server (and the mount) serves.
for _ in $(seq 1 300); do [ -s "$data.ready" ] && break; kill -0 "$up" || { cat "$data.up.log"; exit 1; }; sleep 0.2; done
[ -s "$data.ready" ] || { echo "the file system did not come up within 60 s"; cat "$data.up.log"; exit 1; }
cat "$data.up.log"
fs() { echo "+ trellis fs $*"; "$trellis" fs "$1" --name demo "${@:2}"; }
head -c 24000000 /dev/urandom > "$data.sample"
fs mkdir -p /demo/results
fs cp "$data.sample" fs:/demo/results/sample.bin
fs ls -l /demo/results
fs stat /demo/results/sample.bin
fs cp fs:/demo/results/sample.bin "$data.back"
cmp "$data.sample" "$data.back" && echo "read back: identical to the original"
fs mv /demo/results/sample.bin /demo/results/renamed.bin
fs ls /demo/results
fs ln /demo/results/renamed.bin /demo/linked.bin
fs stat /demo/linked.bin
echo "+ trellis fs layout get /demo/results/renamed.bin"; "$trellis" fs layout get --name demo /demo/results/renamed.bin
if [ -n "$mnt" ]; then
  echo "+ ordinary programs on the mount at $mnt"
  (
    set -x
    ls -l "$mnt/demo/results"
    cp "$data.sample" "$mnt/demo/copy.bin"
    cmp "$data.sample" "$mnt/demo/copy.bin"
    mkdir -p "$mnt/demo/tree" && tar cf - -C /etc hostname os-release passwd | tar xf - -C "$mnt/demo/tree"
    find "$mnt/demo" -type f | sort
    du -sh --apparent-size "$mnt/demo"
    df -h "$mnt"
    mkfifo "$mnt/demo/pipe" && { echo "through a FIFO on the mount" > "$mnt/demo/pipe" & cat "$mnt/demo/pipe"; wait; }
    ls -l "$mnt/demo/pipe"
    rm "$mnt/demo/copy.bin" "$mnt/demo/pipe"
  )
fi
if [ "$(id -u)" = 0 ]; then echo "+ trellis fsck"; "$trellis" fsck --name demo --grace-seconds 0; fi
fs df
fs ping
fs rm -r /demo
fs ls /
rm -f "$data.sample" "$data.back"
stop
trap - EXIT
[ -z "$mnt" ] || rmdir "$mnt" 2>/dev/null || true
echo "file system stopped; its data stays in $data"
"$trellis" demo -n "${TRELLIS_DEMO_RANKS:-4}"
