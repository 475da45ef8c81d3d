/**
 * A self-signed certificate for the LAN and for tests: ECDSA P-256 (fast to
 * make and to handshake on a small board), the server's host name and, when
 * it is an address, its IP in subjectAltName, as browsers and Node require.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { bitString, bool, explicit, octetString, oid, sequence, set, time, tlv, unsignedInteger, utf8String } from './der.js';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';
const EXT_KEY_USAGE = '2.5.29.37';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

/** Names are host names or IP literals (IPv6 without brackets). */
export function createSelfSignedCertificate(names: string[], validDays = 3650): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const commonName = names[0] ?? 'neurite.local';
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(commonName))));
  const now = Date.now();
  const altNames = names.map((n) =>
    isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii')),
  );
  const extensions = sequence(
    sequence(oid(SUBJECT_ALT_NAME), octetString(sequence(...altNames))),
    sequence(oid(BASIC_CONSTRAINTS), bool(true), octetString(sequence())),
    sequence(oid(EXT_KEY_USAGE), octetString(sequence(oid(SERVER_AUTH)))),
  );
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const algorithm = sequence(oid(ECDSA_WITH_SHA256));
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(serial),
    algorithm,
    name,
    sequence(time(new Date(now - 3600_000)), time(new Date(now + validDays * 86400_000))),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, algorithm, bitString(signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}
