#!/usr/bin/env bash
# make check-image: the image and update checks that run without Pi hardware
# or Buildroot. Needs Debian's genimage, mtools, e2fsprogs, fdisk, rauc,
# shell checker, qemu-system-arm, u-boot-tools, cpio, the arm64 C cross compiler
# (the memory addon; .ci/run installs them all) and
# reaches Debian's mirrors and the npm registry once (cached in .cache/).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n== check-image: %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

missing=()
for cmd in genimage mkdosfs mcopy mtype debugfs sfdisk rauc shellcheck qemu-system-aarch64 mkimage mkenvimage cpio mke2fs openssl aarch64-linux-gnu-gcc; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "check-image: missing tools: ${missing[*]} (apt-get install genimage dosfstools mtools e2fsprogs fdisk rauc shellcheck qemu-system-arm u-boot-tools cpio openssl gcc-aarch64-linux-gnu)" >&2
	exit 1
fi

step "shellcheck on every script"
scripts=(scripts/*.sh test/image/*.sh buildroot-config/board/neurite/*.sh overlays/etc/init.d/*
	buildroot-config/package/neurite/launch buildroot-config/package/neurite/run
	buildroot-config/package/neurite/neurite buildroot-config/package/neurite/S90neurite .ci/run)
shellcheck -x "${scripts[@]}"
echo "${#scripts[@]} scripts clean"

step "building the test image (test/image/make-test-image.sh)"
out=build/image-check
mkdir -p build
test/image/make-test-image.sh "$out" 2>"$out.log" || {
	tail -n 40 "$out.log" >&2
	exit 1
}
ls -l "$out/images/neurite-rpi4.img" "$out/images/rootfs.ext4"

step "bundles, update and rollback, genimage, RAUC, boot under QEMU"
NEURITE_TEST_IMAGE_DIR="$PWD/$out" npx tap --jobs=2 test/image/*.check.ts

step "done"
