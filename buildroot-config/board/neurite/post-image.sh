#!/bin/bash
# Buildroot post-image script: the SD-card image (image/genimage.cfg.in):
# boot (vfat: Pi firmware, device trees, U-Boot, its boot script and
# environment), root A, root B (empty until the first system update) and the
# data partition, which grows to fill the card at first boot.
# Arguments: BINARIES_DIR BOARD.
set -euo pipefail

binaries=$1
board=$2
top=$(cd "${BR2_EXTERNAL_NEURITE_PATH:?}/.." && pwd)

# Everything the Pi firmware and U-Boot read from the boot partition.
files=()
for f in "$binaries"/rpi-firmware/* "$binaries"/*.dtb "$binaries"/u-boot.bin "$binaries"/boot.scr; do
	[ -e "$f" ] || continue
	files+=("\"${f#"$binaries"/}\"")
done
list=$(
	IFS=,
	echo "${files[*]}"
)

cfg="$binaries/genimage-neurite.cfg"
sed -e "s|@BOOT_FILES@|$list|" -e "s|@BOARD@|$board|g" "$top/image/genimage.cfg.in" >"$cfg"

root_tmp=$(mktemp -d)
gen_tmp="${BUILD_DIR:-$binaries}/genimage.tmp"
trap 'rm -rf "$root_tmp" "$gen_tmp"' EXIT
rm -rf "$gen_tmp"
genimage --rootpath "$root_tmp" --tmppath "$gen_tmp" --inputpath "$binaries" --outputpath "$binaries" --config "$cfg"
echo "post-image: $binaries/neurite-$board.img"
