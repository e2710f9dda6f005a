#!/usr/bin/env bash
# Installs what the network data plane (compute_agent/network) and its tests need:
# iproute2 (ip, bridge), nftables (nft), dnsmasq-base, procps (sysctl) and busybox-static
# (the test guests' DHCP client and ping). Idempotent.
set -euo pipefail

PACKAGES=(iproute2 nftables dnsmasq-base procps busybox-static)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup-network: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
