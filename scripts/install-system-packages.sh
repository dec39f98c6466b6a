#!/usr/bin/env bash
# Installs the Debian packages Trellis needs, when they are missing.
# mpich: the MPI the benchmarks compare against (mpicc.mpich, mpiexec.mpich).
# iproute2: `ip netns` for the test that cuts a network link between two processes.
# libsqlite3-dev: SQLite for the file-system servers' metadata (GRDB builds against it).
# fuse3, libfuse3-dev: the FUSE mount (Debian's old `fuse` package conflicts with fuse3).
# attr, rsync, fio, bonnie++, sqlite3, git: programs the mount's tests run on it.
# libpmi2-0-dev: Slurm's PMI-2 client library, a real PMI-2 client the launcher's tests run under it.
# openssh-server, openssh-client: the sshd of each test host (scripts/namespace-hosts.sh) and the ssh that reaches it.
# libmunge-dev: MUNGE's library, with which file-system servers learn a client's proven uid and gid.
# slurm-wlm, munge: a real Slurm (slurmctld, slurmd, srun, sbatch, salloc) the tests start on the test hosts.
# pdsh, clustershell: the parallel shells `trellis bench exec` and `trellis bench stage` measure against (pdsh, pdcp, clush).
# libzstd-dev: zstd, which `trellis stage --compress` compresses with.
# libarchive-dev: libarchive, which `trellis stage tar:ARCHIVE` reads archives with; zstd: the tests make a .tar.zst with it.
set -euo pipefail
needed=(mpich libmpich-dev iproute2 libsqlite3-dev fuse3 libfuse3-dev attr rsync fio bonnie++ sqlite3 git openssh-server openssh-client libpmi2-0-dev slurm-wlm munge libmunge-dev pdsh clustershell libzstd-dev libarchive-dev zstd)
missing=()
for package in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
