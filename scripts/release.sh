#!/usr/bin/env bash
# make release VERSION=x.y.z: the signed application bundle and, for every
# board with a Buildroot build (build/buildroot-BOARD/images/rootfs.ext4),
# a signed RAUC bundle of its root file system. Everything goes to
# release/VERSION/ with a SHA256SUMS file.
#
# Keys: NEURITE_RELEASE_KEY (ed25519 seed file, see scripts/make-release-keys.sh),
# NEURITE_RAUC_CERT and NEURITE_RAUC_KEY (the RAUC signing certificate and
# key). Without them the DEVELOPMENT keys are used, which is refused unless
# ALLOW_DEVELOPMENT_KEY=1 (a test release nobody should install).
set -euo pipefail

version=${1:-}
top=$(cd "$(dirname "$0")/.." && pwd)
dev=$top/image/keys/development
die() {
	echo "release: $*" >&2
	exit 1
}

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "usage: make release VERSION=x.y.z"
pkg_version=$(node -p "require('$top/package.json').version")
[ "$pkg_version" = "$version" ] || die "package.json says $pkg_version; set the version first (npm version $version --no-git-tag-version) so that the running code reports what the bundle says"

key=${NEURITE_RELEASE_KEY:-$dev/DEVELOPMENT-ONLY-release.key}
rauc_cert=${NEURITE_RAUC_CERT:-$dev/DEVELOPMENT-ONLY-rauc-signing.cert.pem}
rauc_key=${NEURITE_RAUC_KEY:-$dev/DEVELOPMENT-ONLY-rauc-signing.key.pem}
allow=()
if [ "${ALLOW_DEVELOPMENT_KEY:-}" = 1 ]; then
	allow=(--allow-development-key)
	echo "release: WARNING: ALLOW_DEVELOPMENT_KEY=1: this release may be signed with the DEVELOPMENT keys" >&2
fi
case "$rauc_cert" in
"$dev"/*) [ "${ALLOW_DEVELOPMENT_KEY:-}" = 1 ] || die "NEURITE_RAUC_CERT is the DEVELOPMENT certificate; a release needs your own (or ALLOW_DEVELOPMENT_KEY=1 for a test release)" ;;
esac

out=$top/release/$version
mkdir -p "$out"
app=$out/neurite-app-$version.bundle
node --import tsx "$top/scripts/release/make-app-bundle.ts" --version "$version" --key "$key" --out "$app" --arch arm64 "${allow[@]}"

for images in "$top"/build/buildroot-*/images; do
	[ -f "$images/rootfs.ext4" ] || continue
	board=$(basename "$(dirname "$images")")
	board=${board#buildroot-}
	rauc=rauc
	if [ -x "$images/../host/bin/rauc" ]; then rauc=$images/../host/bin/rauc; fi
	command -v "$rauc" >/dev/null || die "rauc is needed for the system bundle of $board (apt-get install rauc)"
	dir=$(mktemp -d)
	cp "$images/rootfs.ext4" "$dir/rootfs.ext4"
	sed -e "s/@BOARD@/$board/g" -e "s/@VERSION@/$version/g" "$top/image/rauc/manifest.raucm.in" >"$dir/manifest.raucm"
	"$rauc" bundle --cert="$rauc_cert" --key="$rauc_key" "$dir" "$out/neurite-$board-$version.raucb"
	rm -rf "$dir"
done

(cd "$out" && sha256sum -- * | grep -v SHA256SUMS >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "release $version:"
ls -l "$out"
