#!/usr/bin/env bash
# Writes an image to an SD card (or USB disk), carefully:
#  - refuses the disk the running system lives on, and anything mounted;
#  - shows the device, its model and size, and asks before writing;
#  - writes with a flush, then reads back and compares.
#
#   scripts/flash.sh /dev/sdX [IMAGE]      (IMAGE defaults to the newest build/buildroot-*/images/neurite-*.img)
#
# FLASH_YES=1 skips the question (scripts); FLASH_ALLOW_FILE=1 accepts a
# regular file as the target (tests).
set -euo pipefail

dev=${1:-}
img=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
die() {
	echo "flash: $*" >&2
	exit 1
}

[ -n "$dev" ] || die "usage: make flash DEVICE=/dev/sdX [IMAGE=file.img]"
if [ -z "$img" ]; then
	img=$(find "$top"/build -path "*/images/neurite-*.img" -printf "%T@ %p\n" 2>/dev/null | sort -rn | head -n 1 | cut -d" " -f2- || true)
	[ -n "$img" ] || die "no image: build one with make image BOARD=rpi4, or name it with IMAGE=..."
fi
[ -f "$img" ] || die "$img is not a file"

if [ -b "$dev" ]; then
	dev=$(readlink -f "$dev")
	# The disk holding /, /boot or any mounted file system is never a target.
	for mnt in / /boot /boot/efi /usr /home; do
		src=$(findmnt -n -o SOURCE --target "$mnt" 2>/dev/null || true)
		[ -b "$src" ] || continue
		disk=$(lsblk -n -d -o PKNAME "$src" 2>/dev/null || true)
		if [ "/dev/${disk:-none}" = "$dev" ] || [ "$src" = "$dev" ]; then die "$dev holds $mnt of the running system; refusing"; fi
	done
	mounted=$(lsblk -n -o MOUNTPOINT "$dev" | grep -v '^$' || true)
	[ -z "$mounted" ] || die "$dev has mounted partitions ($(echo "$mounted" | tr '\n' ' ')); unmount them first"
	size=$(lsblk -n -d -b -o SIZE "$dev")
	desc="$(lsblk -n -d -o SIZE,MODEL,TRAN "$dev" | tr -s ' ')"
elif [ "${FLASH_ALLOW_FILE:-}" = 1 ] && [ -f "$dev" ]; then
	size=$(stat -c %s "$dev")
	desc="regular file"
else
	die "$dev is not a block device"
fi

isize=$(stat -c %s "$img")
[ "$size" -ge "$isize" ] || die "$dev ($size bytes) is smaller than the image ($isize bytes)"

echo "Image:  $img ($((isize / 1024 / 1024)) MiB)"
echo "Target: $dev ($desc)"
echo "Everything on $dev will be lost."
if [ "${FLASH_YES:-}" != 1 ]; then
	read -r -p "Type the device name ($dev) to write: " answer
	[ "$answer" = "$dev" ] || die "not confirmed; nothing written"
fi

echo "writing..."
dd if="$img" of="$dev" bs=4M conv=fsync,notrunc status=progress
sync
echo "verifying..."
if cmp -n "$isize" "$img" "$dev"; then
	echo "done: $dev holds the image; put the card in the Pi and power it on"
else
	die "what was read back differs from the image: the card may be failing"
fi
