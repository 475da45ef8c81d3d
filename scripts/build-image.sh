#!/usr/bin/env bash
# Builds the SD-card image for a board with Buildroot (a Linux host with
# internet access, make, gcc/g++, git, rsync, bc, cpio, unzip, file, wget,
# python3 and about 20 GB of disk).
#
#   scripts/build-image.sh rpi4|rpi5|rpi3
#
# Steps: (1) fetch the pinned Buildroot release and check it is that
# release, (2) build the application and stage it for linux-arm64,
# (3) configure Buildroot with buildroot-config/ (BR2_EXTERNAL), (4) build.
# The image is build/buildroot-BOARD/images/neurite-BOARD.img.
#
# Environment: BUILDROOT_DIR (use an existing checkout of the pinned
# release), BUILDROOT_FETCH=git|tarball, BUILDROOT_TARBALL_SHA256 (for the
# tarball), NEURITE_RELEASE_PUBKEY and NEURITE_RAUC_KEYRING (the keys the
# image trusts; without them the DEVELOPMENT keys, with a warning), JOBS.
set -euo pipefail

BUILDROOT_VERSION=2026.02.3
# The commit tag 2026.02.3 points to: a moved tag or a different tree is refused.
BUILDROOT_COMMIT=679b9ead7620bbf193620d1ebf56f53c1764d37a
BUILDROOT_GIT=https://gitlab.com/buildroot.org/buildroot.git
BUILDROOT_TARBALL=https://buildroot.org/downloads/buildroot-$BUILDROOT_VERSION.tar.xz

board=${1:-}
case "$board" in rpi3 | rpi4 | rpi5) ;; *)
	echo "usage: $0 rpi4|rpi5|rpi3" >&2
	exit 2
	;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
out=$build/buildroot-$board
br=${BUILDROOT_DIR:-$build/buildroot-$BUILDROOT_VERSION}
start=$(date +%s)
step() { printf '\n[build-image %s, %dm%02ds] %s\n' "$board" $((($(date +%s) - start) / 60)) $((($(date +%s) - start) % 60)) "$*"; }

step "1/4 Buildroot $BUILDROOT_VERSION"
mkdir -p "$build"
if [ ! -e "$br/Makefile" ]; then
	case "${BUILDROOT_FETCH:-git}" in
	git)
		git clone --quiet --depth 1 --branch "$BUILDROOT_VERSION" "$BUILDROOT_GIT" "$br"
		;;
	tarball)
		if [ -z "${BUILDROOT_TARBALL_SHA256:-}" ]; then
			echo "build-image: the tarball's sha256 is not pinned here; set BUILDROOT_TARBALL_SHA256 from Buildroot's signed release announcement, or use BUILDROOT_FETCH=git (default)" >&2
			exit 1
		fi
		tmp=$(mktemp)
		wget -q -O "$tmp" "$BUILDROOT_TARBALL"
		echo "$BUILDROOT_TARBALL_SHA256  $tmp" | sha256sum -c --quiet -
		mkdir -p "$br"
		tar -xJf "$tmp" -C "$br" --strip-components=1
		rm -f "$tmp"
		;;
	*)
		echo "build-image: BUILDROOT_FETCH must be git or tarball" >&2
		exit 2
		;;
	esac
fi
if [ -d "$br/.git" ]; then
	have=$(git -C "$br" rev-parse HEAD)
	if [ "$have" != "$BUILDROOT_COMMIT" ]; then
		echo "build-image: $br is at $have, not Buildroot $BUILDROOT_VERSION ($BUILDROOT_COMMIT)" >&2
		exit 1
	fi
fi
have_version=$(make -s -C "$br" --no-print-directory print-version)
if [ "$have_version" != "$BUILDROOT_VERSION" ]; then
	echo "build-image: $br is Buildroot $have_version, not $BUILDROOT_VERSION" >&2
	exit 1
fi
echo "Buildroot $have_version in $br"

step "2/4 the application (make build), staged for linux-arm64"
make -C "$top" --no-print-directory build
node --import tsx "$top/scripts/release/stage-app.ts" --out "$build/app-arm64" --arch arm64

step "3/4 configuring neurite_${board}_defconfig"
make -s -C "$br" O="$out" BR2_EXTERNAL="$top/buildroot-config" "neurite_${board}_defconfig"

step "4/4 building (Buildroot)"
cat <<NOTE
A first build downloads about 1 GB (Bootlin's prebuilt toolchain, the Raspberry
Pi kernel, U-Boot, firmware, the prebuilt Node.js) and compiles the kernel and
about 60 small packages. Expect roughly 45-90 minutes on a 4-8 core machine
with a fast connection (most of it the kernel), and 15-20 GB of disk. This is
an estimate from the package list, not a measurement. Rebuilds after an
application change take a few minutes (make image again).
NOTE
make -C "$br" O="$out" BR2_JLEVEL="${JOBS:-0}"

img=$out/images/neurite-$board.img
step "done: $img ($(du -h --apparent-size "$img" | cut -f1), $(du -h "$img" | cut -f1) on disk)"
echo "Write it to a card with: make flash DEVICE=/dev/sdX IMAGE=$img"
