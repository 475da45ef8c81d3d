#!/usr/bin/env bash
# Checks buildroot-config/ against a Buildroot checkout, offline:
#  - every symbol each defconfig sets survives `make <defconfig>` (a symbol
#    that Buildroot does not know, or whose dependencies are not met, is
#    silently dropped; this catches it);
#  - `make savedefconfig` gives back the same symbols (no drift: nothing
#    redundant with a default, nothing missing);
#  - utils/check-package is clean on our package and external tree files.
#
#   scripts/check-buildroot-config.sh BUILDROOT_DIR
set -euo pipefail

br=${1:?usage: $0 BUILDROOT_DIR}
br=$(cd "$br" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
ext=$top/buildroot-config
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

version=$(make -s -C "$br" --no-print-directory print-version 2>/dev/null || echo unknown)
echo "Buildroot $version at $br"

symbols() { grep -E '^(BR2_[A-Za-z0-9_]+=|# BR2_[A-Za-z0-9_]+ is not set)' "$1" | sort; }

for defconfig in "$ext"/configs/*_defconfig; do
	name=$(basename "$defconfig")
	out=$work/${name%_defconfig}
	if ! make -s -C "$br" O="$out" BR2_EXTERNAL="$ext" "$name" >"$out.log" 2>&1; then
		echo "FAIL $name: make $name failed:"
		tail -n 20 "$out.log"
		status=1
		continue
	fi
	lost=$(comm -23 <(symbols "$defconfig") <(symbols "$out/.config"))
	if [ -n "$lost" ]; then
		echo "FAIL $name: symbols that did not survive make $name:"
		echo "${lost//$'\n'/$'\n'  }" | sed '1s/^/  /'
		status=1
	fi
	make -s -C "$br" O="$out" BR2_EXTERNAL="$ext" savedefconfig BR2_DEFCONFIG="$out/saved_defconfig" >>"$out.log" 2>&1
	drift=$(diff <(symbols "$defconfig") <(symbols "$out/saved_defconfig") || true)
	if [ -n "$drift" ]; then
		echo "FAIL $name: savedefconfig differs (< ours, > Buildroot's):"
		echo "$drift" | grep '^[<>]' | sed 's/^/  /'
		status=1
	fi
	if [ -z "$lost" ] && [ -z "$drift" ]; then
		echo "ok   $name: $(symbols "$defconfig" | wc -l) symbols survive make defconfig, savedefconfig shows no drift"
	fi
done

files=("$ext"/package/*/* "$ext"/Config.in "$ext"/external.mk "$ext"/external.desc)
# check-package needs python-magic and flake8; a python3 that has both (the system's, when another one comes first).
py=
for candidate in python3 /usr/bin/python3; do
	if "$candidate" -c 'import magic, flake8' 2>/dev/null; then
		py=$candidate
		break
	fi
done
if [ -z "$py" ]; then
	echo "FAIL utils/check-package: needs python3 with the magic and flake8 modules (Debian: apt-get install python3-magic python3-flake8)"
	status=1
elif (cd "$ext" && "$py" "$br/utils/check-package" -b "${files[@]}"); then
	echo "ok   utils/check-package: ${#files[@]} files clean"
else
	echo "FAIL utils/check-package"
	status=1
fi
exit "$status"
