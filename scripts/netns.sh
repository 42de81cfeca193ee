#!/usr/bin/env bash
# Runs a command inside a network namespace made for it, so that WebRTC has a
# non-loopback interface to gather ICE candidates on and no packet can leave the machine:
#   - `lo` up (127.0.0.1 for relays and HTTP ports),
#   - a veth pair al0/al1 with 10.213.0.1/24 and 10.213.0.2/24 that exist only inside it,
#   - a default route to 10.213.0.254, an address nobody holds: a dead end.
# Usage: scripts/netns.sh <command> [args...]   (needs root or user namespaces; see docs/testing.md)
set -euo pipefail

if [ "${AURALINK_NETNS:-}" != "1" ]; then
  if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
    echo "netns.sh: needs unshare (util-linux) and ip (iproute2)" >&2
    exit 1
  fi
  if [ "$(id -u)" = "0" ]; then
    exec unshare --net env AURALINK_NETNS=1 "$0" "$@"
  fi
  # Not root: a user namespace maps us to root inside it, which may create network namespaces.
  exec unshare --user --map-root-user --net env AURALINK_NETNS=1 "$0" "$@"
fi

ip link set lo up
ip link add al0 type veth peer name al1
# no IPv6 link-local addresses on the pair: the kernel would add them a moment after the links come
# up (once duplicate address detection ends), and a browser that sees its interfaces change in the
# middle of a page load drops that load's requests (ERR_NETWORK_CHANGED): vitest's browser mode
# then waited forever for its tester page, in about half the runs
ip link set al0 addrgenmode none
ip link set al1 addrgenmode none
ip addr add 10.213.0.1/24 dev al0
ip addr add 10.213.0.2/24 dev al1
ip link set al0 up
ip link set al1 up
ip route add default via 10.213.0.254 dev al0
exec "$@"
