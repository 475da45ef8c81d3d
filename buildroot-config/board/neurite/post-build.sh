#!/bin/sh
# Buildroot post-build script: what the root file system holds besides
# packages and overlays/ — the board's name, the versions, the keys that
# updates are checked against, RAUC's system.conf, U-Boot's environment
# location. Arguments: TARGET_DIR BOARD (rpi3, rpi4, rpi5).
#
# Keys: NEURITE_RELEASE_PUBKEY (application bundles) and NEURITE_RAUC_KEYRING
# (system bundles); without them the DEVELOPMENT keys from image/keys/ go in,
# and the image says so in /etc/neurite/development-keys.
set -eu

target=$1
board=$2
top=$(cd "${BR2_EXTERNAL_NEURITE_PATH:?}/.." && pwd)
dev=$top/image/keys/development

mkdir -p "$target/data" "$target/mnt/boot" "$target/etc/neurite" "$target/etc/rauc"
echo "$board" >"$target/etc/neurite/board"

app_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$target/opt/neurite/manifest.json" 2>/dev/null || true)
echo "${NEURITE_OS_VERSION:-${app_version:-0.0.0}}" >"$target/etc/neurite/os-version"

pubkey=${NEURITE_RELEASE_PUBKEY:-$dev/DEVELOPMENT-ONLY-release.pub}
keyring=${NEURITE_RAUC_KEYRING:-$dev/DEVELOPMENT-ONLY-rauc-ca.cert.pem}
cp "$pubkey" "$target/etc/neurite/release.pub"
cp "$keyring" "$target/etc/rauc/keyring.pem"
rm -f "$target/etc/neurite/development-keys"
if [ -z "${NEURITE_RELEASE_PUBKEY:-}" ] || [ -z "${NEURITE_RAUC_KEYRING:-}" ]; then
	echo "This image trusts the DEVELOPMENT keys from the Neurite repository: anyone can sign updates for it." \
		>"$target/etc/neurite/development-keys"
	echo "post-build: WARNING: the image trusts the DEVELOPMENT update keys (set NEURITE_RELEASE_PUBKEY and NEURITE_RAUC_KEYRING for a release image)" >&2
fi

sed -e "s/@BOARD@/$board/g" -e "s|@DISK@|/dev/mmcblk0p|g" "$top/image/rauc/system.conf.in" >"$target/etc/rauc/system.conf"
# U-Boot keeps its environment (the boot-attempt counters) in uboot.env on the boot partition.
echo "/mnt/boot/uboot.env 0x0000 0x4000" >"$target/etc/fw_env.config"
