#!/usr/bin/env bash
#  Install the Debian packages Hutong needs to build and test, skipping
#  what is already there. Run as root on Debian 12.
set -euo pipefail

packages=(build-essential cmake pkg-config libzmq3-dev libczmq-dev liblmdb-dev
          libsodium-dev libmsgpack-dev check libjansson-dev libmicrohttpd-dev lmdb-utils
          python3 python3-zmq python3-msgpack python3-nacl faketime
          clang libclang-rt-14-dev valgrind)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root (or: sudo $0)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
