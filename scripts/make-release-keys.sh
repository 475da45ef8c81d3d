#!/usr/bin/env bash
# Makes the keys of a real release line: the ed25519 key for application
# bundles and a RAUC CA with a signing certificate. Keep DIR offline; an
# image trusts release.pub and rauc-ca.cert.pem (build it with
# NEURITE_RELEASE_PUBKEY=DIR/release.pub NEURITE_RAUC_KEYRING=DIR/rauc-ca.cert.pem).
#
#   scripts/make-release-keys.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
[ ! -e "$dir/release.key" ] || {
	echo "make-release-keys: $dir already holds keys" >&2
	exit 1
}
mkdir -p "$dir"
chmod 700 "$dir"
node --import tsx -e "
const { formatKeyPair } = await import('$top/src/supervisor/update/keys.ts');
const { randomBytes } = await import('node:crypto');
const { writeFileSync } = await import('node:fs');
const k = formatKeyPair(randomBytes(32), 'Neurite release key, made ' + new Date().toISOString());
writeFileSync('$dir/release.key', k.secret, { mode: 0o600 });
writeFileSync('$dir/release.pub', k.public);
" --input-type=module
openssl req -x509 -newkey rsa:4096 -nodes -days 7300 -subj "/CN=Neurite RAUC CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$dir/rauc-ca.key.pem" -out "$dir/rauc-ca.cert.pem" 2>/dev/null
openssl req -newkey rsa:4096 -nodes -subj "/CN=Neurite RAUC signing" -keyout "$dir/rauc-signing.key.pem" -out "$dir/rauc-signing.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$dir/ext.cnf"
openssl x509 -req -in "$dir/rauc-signing.csr" -CA "$dir/rauc-ca.cert.pem" -CAkey "$dir/rauc-ca.key.pem" -CAcreateserial \
	-days 3650 -extfile "$dir/ext.cnf" -out "$dir/rauc-signing.cert.pem" 2>/dev/null
rm -f "$dir/rauc-signing.csr" "$dir/ext.cnf" "$dir"/*.srl
chmod 600 "$dir"/*.key "$dir"/*key.pem
ls -l "$dir"
