#!/usr/bin/env bash
# A "cluster" of test hosts on one machine: network namespaces joined by a
# bridge (in a namespace of its own, so the machine's own network is never
# touched), each host with its own address, its own hostname (a UTS
# namespace) and its own sshd, reached with keys made for it. Root only.
#
#   scripts/namespace-hosts.sh up NAME COUNT DIR   # hosts NAME-h0 .. NAME-h(COUNT-1); state and keys in DIR
#   scripts/namespace-hosts.sh down NAME DIR       # ends every process on them and removes all of it
#   ip netns exec NAME-h0 ssh -F DIR/ssh_config NAME-h1 hostname
#
# Each host's sshd runs in a private mount namespace with a tmpfs of its
# own on DIR/local: the same path on every host, a node-local folder
# behind it on each (what one host writes there, the others do not see).
#
# With TRELLIS_HOSTS_SSHD=external, `up` leaves the sshds to its caller
# (a test that starts each as its own child, so it can reap it): host I's
# is `ip netns exec NAME-hI unshare --uts --mount --propagation private sh
# -c "hostname NAME-hI && mount -t tmpfs -o mode=1777 tmpfs DIR/local &&
# exec /usr/sbin/sshd -D -f DIR/sshd_config.I -E DIR/sshd.I.log"`.
#
# `up` prints one line per host, "NAME-hI ADDRESS". Every host resolves
# every other's name (/etc/netns/NAME-hI/hosts, which `ip netns exec`
# mounts over /etc/hosts).
set -euo pipefail

command=${1:-}
name=${2:-}
[ -n "$command" ] && [ -n "$name" ] || { echo "usage: $0 up NAME COUNT DIR | down NAME DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: network namespaces need root" >&2; exit 3; }
[[ "$name" =~ ^[a-z][a-z0-9-]{0,11}$ ]] || { echo "$0: NAME is 1 to 12 of a-z, 0-9, - (interface names are short)" >&2; exit 2; }

down() {
  local dir=$1
  for space in $(ip netns list | awk '{print $1}' | grep -E "^${name}-(h[0-9]+|sw)$" || true); do
    # Every process in our namespaces is one this harness or a test started there.
    for pid in $(ip netns pids "$space" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$space" 2>/dev/null || true
    rm -rf "/etc/netns/$space"
  done
  [ -z "$dir" ] || rm -rf "$dir"
}

case "$command" in
up)
  count=${3:-}
  dir=${4:-}
  [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 250 ] || { echo "$0: COUNT is 1 to 250" >&2; exit 2; }
  [ -n "$dir" ] || { echo "$0: DIR is needed" >&2; exit 2; }
  command -v /usr/sbin/sshd >/dev/null || { echo "$0: /usr/sbin/sshd is missing (apt-get install openssh-server)" >&2; exit 3; }
  down ""
  mkdir -p "$dir" /run/sshd
  dir=$(cd "$dir" && pwd)
  trap 'down "$dir"' ERR
  # A subnet of the 10/8 private range for this name: it exists only inside these namespaces.
  hash=$(printf '%s' "$name" | cksum | awk '{print $1}')
  subnet="10.$(( 200 + hash % 50 )).$(( (hash / 50) % 250 + 1 ))"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C "$name host"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" -C "$name client"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  {
    echo "Host ${name}-h*"
    echo "  User root"
    echo "  IdentityFile $dir/client_key"
    echo "  IdentitiesOnly yes"
    echo "  UserKnownHostsFile /dev/null"
    echo "  StrictHostKeyChecking no"
    echo "  BatchMode yes"
    echo "  ConnectTimeout 10"
    echo "  LogLevel ERROR"
  } > "$dir/ssh_config"
  hosts="127.0.0.1 localhost"
  for i in $(seq 0 $((count - 1))); do hosts="$hosts"$'\n'"$subnet.$((i + 1)) ${name}-h$i"; done
  ip netns add "${name}-sw"
  ip -n "${name}-sw" link add br0 type bridge
  ip -n "${name}-sw" link set br0 up
  for i in $(seq 0 $((count - 1))); do
    host="${name}-h$i"
    address="$subnet.$((i + 1))"
    ip netns add "$host"
    ip link add eth0 netns "$host" type veth peer name "p$i" netns "${name}-sw"
    ip -n "${name}-sw" link set "p$i" master br0 up
    ip -n "$host" addr add "$address/24" dev eth0
    ip -n "$host" link set eth0 up
    ip -n "$host" link set lo up
    mkdir -p "/etc/netns/$host"
    printf '%s\n' "$hosts" > "/etc/netns/$host/hosts"
    cat > "$dir/sshd_config.$i" <<EOF
ListenAddress $address
HostKey $dir/host_key
PidFile $dir/sshd.$i.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv TRELLIS_*
# scp (and so clush --copy) speaks SFTP since OpenSSH 9.
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
EOF
    # Its own hostname, in a UTS namespace that its sshd and every session under it share.
    if [ "${TRELLIS_HOSTS_SSHD:-}" != external ]; then
      mkdir -p "$dir/local"
      ip netns exec "$host" unshare --uts --mount --propagation private sh -c \
        "hostname $host && mount -t tmpfs -o mode=1777 tmpfs $dir/local && exec /usr/sbin/sshd -f $dir/sshd_config.$i -E $dir/sshd.$i.log"
    fi
    echo "$host $address" | tee -a "$dir/hosts"
  done
  [ "${TRELLIS_HOSTS_SSHD:-}" != external ] || exit 0
  for i in $(seq 0 $((count - 1))); do
    for _ in $(seq 1 100); do [ -s "$dir/sshd.$i.pid" ] && break; sleep 0.05; done
    [ -s "$dir/sshd.$i.pid" ] || { echo "$0: sshd on ${name}-h$i did not start: $(cat "$dir/sshd.$i.log" 2>/dev/null)" >&2; down "$dir"; exit 1; }
  done
  ;;
down)
  down "${3:-}"
  ;;
*)
  echo "usage: $0 up NAME COUNT DIR | down NAME DIR" >&2
  exit 2
  ;;
esac
