#!/usr/bin/env bash
# Prepares this machine for the libvirt tests: packages, daemons, libvirt-python and a
# tiny bootable test image. Idempotent; a second run takes about a second.
#
#   bash scripts/libvirt/setup.sh            # everything
#   KILONOVA_LIBVIRT_IMAGE_DIR=dir ...       # where the test image goes
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
IMAGE_DIR="${KILONOVA_LIBVIRT_IMAGE_DIR:-/var/cache/kilonova/libvirt-test-image}"
# Bump when the image's content changes: the next run rebuilds it.
IMAGE_VERSION=4
PACKAGES=(libvirt-dev libvirt-daemon-system libvirt-daemon-system-sysv libvirt-clients
          qemu-system-x86 qemu-utils busybox-static libvirt-daemon-driver-lxc
          dnsmasq-base iptables)

log() { echo "setup-libvirt: $*" >&2; }
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

configure_qemu() {
    # Without these every define re-probes QEMU (~40 s).
    local conf=/etc/libvirt/qemu.conf
    grep -q '^user = "root"' "$conf" || echo 'user = "root"' >>"$conf"
    grep -q '^group = "root"' "$conf" || echo 'group = "root"' >>"$conf"
}

start_daemons() {
    # By pid file: a second libvirtd (second_libvirtd.sh) may run under the same name.
    pid_alive /run/virtlogd.pid || virtlogd -d
    if ! pid_alive /run/libvirtd.pid; then
        log "starting libvirtd (first start probes QEMU, ~15 s)"
        libvirtd -d
    fi
    for _ in $(seq 120); do
        virsh -c qemu:///system version >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    log "libvirtd does not answer on qemu:///system"
    return 1
}

install_python_binding() {
    "$ROOT/.venv/bin/python" -c 'import libvirt, pycdlib' 2>/dev/null && return 0
    log "installing libvirt-python and pycdlib into .venv"
    "$ROOT/.venv/bin/pip" install -q -e "$ROOT[libvirt]"
    "$ROOT/.venv/bin/python" -c 'import pycdlib' 2>/dev/null || "$ROOT/.venv/bin/pip" install -q pycdlib
}

build_image() {
    [[ -s "$IMAGE_DIR/vmlinuz" && -s "$IMAGE_DIR/initrd.gz" &&
       "$(cat "$IMAGE_DIR/image-version" 2>/dev/null)" == "$IMAGE_VERSION" ]] && return 0
    log "building the test image in $IMAGE_DIR"
    local work; work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    mkdir -p "$IMAGE_DIR"
    local kpkg
    kpkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | awk '/Depends: linux-image-/ {print $2; exit}')"
    if [[ -z "$kpkg" ]]; then
        apt-get update -qq
        kpkg="$(apt-cache depends linux-image-cloud-amd64 \
            | awk '/Depends: linux-image-/ {print $2; exit}')"
    fi
    (cd "$work" && apt-get download -qq "$kpkg" 2>/dev/null)
    dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
    local kver; kver="$(ls "$work/kernel/lib/modules")"
    local mods="$work/kernel/lib/modules/$kver/kernel"
    local rootfs="$work/rootfs"
    mkdir -p "$rootfs"/{bin,proc,sys,dev,mnt,modules,tmp}
    cp /bin/busybox "$rootfs/bin/busybox"
    for m in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko \
             drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko \
             drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko \
             drivers/scsi/scsi_common.ko drivers/scsi/scsi_mod.ko drivers/cdrom/cdrom.ko \
             drivers/scsi/sr_mod.ko drivers/ata/libata.ko drivers/ata/ata_piix.ko \
             drivers/ata/ahci.ko drivers/ata/libahci.ko fs/isofs/isofs.ko lib/crc-t10dif.ko \
             drivers/scsi/sd_mod.ko net/core/failover.ko drivers/net/net_failover.ko \
             drivers/net/virtio_net.ko; do
        for f in "$mods/$m" "$mods/$m.xz"; do
            [[ -f "$f" ]] && cp "$f" "$rootfs/modules/"
        done
    done
    (cd "$rootfs/modules" && for f in *.xz; do [[ -f "$f" ]] && xz -d "$f"; done; true)
    cat >"$rootfs/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "KILONOVA-TEST-GUEST-UP"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         scsi_common scsi_mod cdrom sr_mod libata ata_piix libahci ahci sd_mod \
         virtio_blk isofs failover net_failover virtio_net; do
    [ -f /modules/$m.ko ] && insmod /modules/$m.ko 2>/dev/null
done
sleep 1
for dev in /dev/sr0 /dev/sr1 /dev/vdb /dev/vdc /dev/vda /dev/sda /dev/sdb; do
    [ -b $dev ] || continue
    if mount -t iso9660 -o ro $dev /mnt 2>/dev/null; then
        if [ -f /mnt/openstack/latest/meta_data.json ]; then
            uuid=$(sed -n 's/.*"uuid": *"\([0-9a-f-]*\)".*/\1/p' /mnt/openstack/latest/meta_data.json)
            echo "KILONOVA-INSTANCE-UUID=$uuid"
        fi
        umount /mnt
    fi
done
if [ -e /sys/class/net/eth0 ]; then
    ip link set lo up
    ip link set eth0 up
    udhcpc -i eth0 -n -q -t 10 -T 2 -O staticroutes -s /bin/dhcp-event >/dev/null 2>&1 ||
        echo "KILONOVA-DHCP-FAILED"
fi
# A DHCP server that routes 169.254.169.254 (option 121) serves metadata: print the
# instance's id from it, and run its user data when that is a script ("#!"), in the
# background with its output on the console. (This wget crashes with -T: timeout bounds it.)
if [ -f /tmp/metadata-route ]; then
    md=http://169.254.169.254/openstack/latest
    for _ in 1 2 3 4 5; do
        timeout 5 wget -q -O /tmp/meta_data.json $md/meta_data.json 2>/dev/null && break
        sleep 1
    done
    uuid=$(sed -n 's/.*"uuid": *"\([0-9a-f-]*\)".*/\1/p' /tmp/meta_data.json 2>/dev/null)
    echo "KILONOVA-METADATA-UUID=$uuid"
    if timeout 5 wget -q -O /tmp/user-data $md/user_data 2>/dev/null; then
        echo "KILONOVA-USER-DATA-BYTES=$(wc -c </tmp/user-data)"
        if [ "$(head -c 2 /tmp/user-data)" = "#!" ]; then
            sh /tmp/user-data </dev/null >/dev/console 2>&1 &
        fi
    fi
fi
echo "KILONOVA-TEST-GUEST-READY"
while true; do sleep 3600; done
INIT
    chmod +x "$rootfs/init"
    # udhcpc's hook: configure the address it got and print it on the console.
    cat >"$rootfs/bin/dhcp-event" <<'DHCP'
#!/bin/busybox sh
case "$1" in
    bound|renew)
        ip addr add "$ip/${mask:-24}" dev "$interface"
        # Option 121 (classless static routes: destination, gateway pairs) replaces
        # the router option; routes a first interface holds already stay its own.
        if [ -n "$staticroutes" ]; then
            set -- $staticroutes
            while [ $# -ge 2 ]; do
                [ "$1" = "169.254.169.254/32" ] && : >/tmp/metadata-route
                ip route add "$1" via "$2" dev "$interface" 2>/dev/null
                shift 2
            done
        elif [ -n "$router" ]; then
            ip route add default via "${router%% *}" dev "$interface" 2>/dev/null
        fi
        # eth0's address as KILONOVA-IPV4=, another interface's as KILONOVA-IPV4-<name>=.
        if [ "$interface" = eth0 ]; then
            echo "KILONOVA-IPV4=$ip" >/dev/console
        else
            echo "KILONOVA-IPV4-$interface=$ip" >/dev/console
        fi
        ;;
esac
DHCP
    chmod +x "$rootfs/bin/dhcp-event"
    (cd "$rootfs" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$IMAGE_DIR/initrd.gz.tmp"
    cp "$work/kernel/boot/vmlinuz-$kver" "$IMAGE_DIR/vmlinuz.tmp"
    mv "$IMAGE_DIR/initrd.gz.tmp" "$IMAGE_DIR/initrd.gz"
    mv "$IMAGE_DIR/vmlinuz.tmp" "$IMAGE_DIR/vmlinuz"
    echo "$kver" >"$IMAGE_DIR/kernel-version"
    echo "$IMAGE_VERSION" >"$IMAGE_DIR/image-version"
}

install_packages
configure_qemu
start_daemons
install_python_binding
build_image
log "ready (image in $IMAGE_DIR)"
