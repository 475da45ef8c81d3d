#!/usr/bin/env bash
# Prints the directory whose `node` the build should use (empty when the
# system's Node.js is new enough). When the system's Node is older than the
# version the appliance ships, installs that version from the npm registry
# package `node-linux-<arch>` (the official binary) into .tools/node.
# Nothing is downloaded from anywhere but the npm registry.
set -euo pipefail
want_major=22
version="${NEURITE_NODE_VERSION:-22.22.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/node"

sys_major=0
if command -v node >/dev/null 2>&1; then
  sys_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
fi
if [ "$sys_major" -ge "$want_major" ] && [ ! -x "$dest/bin/node" ]; then
  exit 0
fi
if [ -x "$dest/bin/node" ] && [ "$("$dest/bin/node" -v)" = "v$version" ]; then
  echo "$dest/bin"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-node: Node.js $want_major+ is needed and npm is missing to install it" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "ensure-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "ensure-node: installing Node.js $version (node-linux-$arch from the npm registry) into .tools/node" >&2
(cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
mkdir -p "$tmp/x"
tar -xzf "$tmp"/node-linux-"$arch"-"$version".tgz -C "$tmp/x"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp/x/package" "$dest"
"$dest/bin/node" -v >/dev/null
echo "$dest/bin"
