#!/usr/bin/env bash
# Install Debian's Arm cross-compiler, newlib (semihosting) and QEMU for the int8 C export's device
# tests, when they are missing. Without them (not root, no package registry) the device tests skip
# and say why.
set -euo pipefail
need=()
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/rdimon.specs ] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v cc >/dev/null || need+=(gcc)
if [ "${#need[@]}" -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "cross tools missing (${need[*]}) and we are not root: device tests will skip" >&2; exit 0; fi
(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}") >&2
