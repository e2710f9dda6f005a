#!/usr/bin/env bash
# A second libvirtd on this machine, as a live-migration destination for tests.
#
# It runs in its own mount namespace with its own /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt, /var/log/libvirt and /etc/libvirt (bind mounts of directories under
# $ALT), its own host_uuid and pid file. $SHARED_PATH (the source agent's instances path)
# is bind-mounted from $ALT/instances, so both daemons see the same paths in domain XML but
# different files - as two hosts would. It also serves LXC guests, which work only when
# libvirtd does not see the cgroup2 `unified` mount (unmounted in its namespace).
# Idempotent; prints the qemu URI to reach it (lxc+unix://... with the same socket for LXC).
#
#   bash scripts/libvirt/second_libvirtd.sh [stop]
set -euo pipefail

ALT="${KILONOVA_LIBVIRTD2_DIR:-/var/lib/kilonova/libvirtd-2}"
SHARED_PATH="${KILONOVA_LIBVIRTD2_SHARED_PATH:-/var/lib/kilonova/migration/instances}"
SOCK="$ALT/run/libvirt-sock"
URI="qemu+unix:///system?socket=$SOCK"
PIDFILE="$ALT/libvirtd.pid"

if [[ "${1:-}" == "stop" ]]; then
    if [[ -f "$PIDFILE" ]]; then
        pid="$(cat "$PIDFILE")"
        kill "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    exit 0
fi

if virsh -c "$URI" version >/dev/null 2>&1; then
    echo "$URI"
    exit 0
fi

mkdir -p "$ALT"/{run,lib,cache,log,etc,instances} "$SHARED_PATH"
if [[ ! -f "$ALT/etc/libvirtd.conf" ]]; then
    cp -a /etc/libvirt/. "$ALT/etc/"
    {
        echo 'host_uuid = "4b8c3c6e-2c1f-4e0b-9a51-7d6f0c1e2b02"'
        echo "unix_sock_dir = \"/run/libvirt\""
    } >>"$ALT/etc/libvirtd.conf"
    {
        # No virtlogd in the namespace: QEMU writes its logs itself.
        echo 'stdio_handler = "file"'
        echo 'migration_port_min = 49300'
        echo 'migration_port_max = 49399'
    } >>"$ALT/etc/qemu.conf"
fi
rm -f "$PIDFILE"
unshare -m --propagation private sh -c "
    mount --bind '$ALT/run' /run/libvirt &&
    mount --bind '$ALT/lib' /var/lib/libvirt &&
    mount --bind '$ALT/cache' /var/cache/libvirt &&
    mount --bind '$ALT/log' /var/log/libvirt &&
    mount --bind '$ALT/etc' /etc/libvirt &&
    mount --bind '$ALT/instances' '$SHARED_PATH' &&
    { umount /sys/fs/cgroup/unified 2>/dev/null || true; } &&
    exec libvirtd -d -p '$PIDFILE'"
for _ in $(seq 120); do
    if virsh -c "$URI" version >/dev/null 2>&1; then
        echo "$URI"
        exit 0
    fi
    sleep 0.5
done
echo "second libvirtd did not start; see $ALT/log" >&2
exit 1
