import t from 'tap';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { encodeBase64, encodeBase64Url } from '../../src/core/base64.js';
import {
  isValidEventId,
  isValidRoomAlias,
  isValidRoomId,
  isValidServerName,
  isValidUserId,
  MAX_ID_BYTES,
  parseEventId,
  parseKeyId,
  parseRoomAlias,
  parseRoomId,
  parseServerName,
  parseUserId,
  serverNameOf,
  userLocalpartProblem,
} from '../../src/core/identifiers.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

t.test('spec vectors: server names', async (t) => {
  const vectors = (load('test-vectors.json').vectors as { category: string; name: string; input: string; expected: boolean }[]).filter((v) =>
    v.category.startsWith('server_name'),
  );
  t.equal(vectors.length, 6, 'all six spec examples are present');
  for (const v of vectors) t.equal(isValidServerName(v.input), v.expected, v.name);
});

t.test('server names: host, kind and port', async (t) => {
  const cases: [string, { host: string; kind: string; port?: number }][] = [
    ['matrix.org', { host: 'matrix.org', kind: 'dns' }],
    ['matrix.org:8888', { host: 'matrix.org', kind: 'dns', port: 8888 }],
    ['localhost', { host: 'localhost', kind: 'dns' }],
    ['MATRIX.ORG', { host: 'MATRIX.ORG', kind: 'dns' }],
    ['a-b.c-d.example', { host: 'a-b.c-d.example', kind: 'dns' }],
    ['3com.example', { host: '3com.example', kind: 'dns' }],
    ['1.2.3.4', { host: '1.2.3.4', kind: 'ipv4' }],
    ['1.2.3.4:1234', { host: '1.2.3.4', kind: 'ipv4', port: 1234 }],
    ['255.255.255.255:65535', { host: '255.255.255.255', kind: 'ipv4', port: 65535 }],
    ['0.0.0.0:1', { host: '0.0.0.0', kind: 'ipv4', port: 1 }],
    ['[1234:5678::abcd]', { host: '[1234:5678::abcd]', kind: 'ipv6' }],
    ['[1234:5678::abcd]:5678', { host: '[1234:5678::abcd]', kind: 'ipv6', port: 5678 }],
    ['[::1]', { host: '[::1]', kind: 'ipv6' }],
    ['[::]:8448', { host: '[::]', kind: 'ipv6', port: 8448 }],
    ['[2001:DB8:0:0:8:800:200C:417A]', { host: '[2001:DB8:0:0:8:800:200C:417A]', kind: 'ipv6' }],
    ['[::ffff:192.0.2.1]', { host: '[::ffff:192.0.2.1]', kind: 'ipv6' }],
    ['[0:0:0:0:0:0:13.1.68.3]', { host: '[0:0:0:0:0:0:13.1.68.3]', kind: 'ipv6' }],
    ['[1:2:3:4:5:6:7::]', { host: '[1:2:3:4:5:6:7::]', kind: 'ipv6' }],
    ['example.org:08448', { host: 'example.org', kind: 'dns', port: 8448 }],
  ];
  for (const [name, expected] of cases) {
    const parsed = parseServerName(name);
    t.same(parsed, { ok: true, value: expected }, name);
  }
  t.notOk('port' in (parseServerName('matrix.org') as { value: object }).value, 'no port key when there is no port');
});

t.test('server names that are refused', async (t) => {
  const bad = [
    '',
    ':8448',
    'matrix.org:',
    'matrix.org:0',
    'matrix.org:65536',
    'matrix.org:123456',
    'matrix.org:-1',
    'matrix.org:+80',
    'matrix.org:80:80',
    'matrix.org:8a',
    'matrix.org/',
    'user@matrix.org',
    'matrix_org.example',
    'matrix .org',
    'mätrix.org',
    '.matrix.org',
    'matrix.org.',
    'matrix..org',
    'a'.repeat(256),
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '01.2.3.4',
    '1.2.3.4444',
    '123',
    'example.123',
    '[1234:5678::abcd',
    '1234:5678::abcd',
    '[]',
    '[:]',
    '[1:2:3:4:5:6:7:8:9]',
    '[1:2:3:4:5:6:7]',
    '[1::2::3]',
    '[12345::]',
    '[::g]',
    '[1.2.3.4]',
    '[1.2.3.4::]',
    '[::1.2.3.256]',
    '[:1::2]',
    '[1:2:3:4:5:6:7:8::]',
    '[fe80::1%eth0]',
    '[::1]8448',
    '[::1]:',
    '[::1]:0',
    `[${'0:'.repeat(22)}0]`,
  ];
  for (const name of bad) {
    const parsed = parseServerName(name);
    t.equal(parsed.ok, false, JSON.stringify(name));
    if (!parsed.ok) t.type(parsed.reason, 'string');
  }
  t.ok(isValidServerName('a'.repeat(255)), 'a 255-character DNS name');
});

t.test('user ids: strict and historical grammars', async (t) => {
  const strict = parseUserId('@alice.b_c=d-e/f+g9:example.org', 'strict');
  t.same(strict, {
    ok: true,
    value: { localpart: 'alice.b_c=d-e/f+g9', serverName: 'example.org', server: { host: 'example.org', kind: 'dns' }, compliant: true },
  });
  t.same(parseUserId('@bob:[::1]:8448'), {
    ok: true,
    value: { localpart: 'bob', serverName: '[::1]:8448', server: { host: '[::1]', kind: 'ipv6', port: 8448 }, compliant: true },
  });

  // Uppercase and other old characters: refused for new users, accepted from others.
  for (const id of ['@Alice:example.org', '@alice!:example.org', '@al ice:example.org', '@élodie:example.org', '@:example.org', '@a\u0001b:example.org']) {
    t.equal(isValidUserId(id, 'strict'), false, `strict refuses ${JSON.stringify(id)}`);
    t.equal(isValidUserId(id, 'historical'), true, `historical accepts ${JSON.stringify(id)}`);
  }
  t.equal(isValidUserId('@Alice:example.org'), true, 'historical is the default');
  t.equal((parseUserId('@Alice:example.org') as { value: { compliant: boolean } }).value.compliant, true, 'uppercase ASCII is still compliant');
  for (const id of ['@élodie:example.org', '@:example.org', '@al ice:example.org', '@a\u0001b:example.org']) {
    t.equal((parseUserId(id) as { value: { compliant: boolean } }).value.compliant, false, `non-compliant: ${JSON.stringify(id)}`);
  }

  for (const id of ['@a\u0000b:example.org', '@a\uD800:example.org', 'alice:example.org', '@alice', '@alice:', '@alice:bad_server', '#alice:example.org', '']) {
    t.equal(isValidUserId(id, 'historical'), false, `refused in both grammars: ${JSON.stringify(id)}`);
    t.equal(isValidUserId(id, 'strict'), false);
  }
  // The first ":" ends the localpart, so a second one lands in the server name, where it must be a port.
  t.equal(isValidUserId('@a:b:example.org'), false);
  t.same((parseUserId('@a:example.org:80') as { value: { localpart: string } }).value.localpart, 'a');

  t.equal(userLocalpartProblem('alice', 'strict'), undefined);
  t.match(userLocalpartProblem('Alice', 'strict'), /outside/);
  t.match(userLocalpartProblem('', 'strict'), /empty/);
  t.equal(userLocalpartProblem('', 'historical'), undefined);
  t.match(userLocalpartProblem('a:b', 'historical'), /":"/);
});

t.test('identifiers are at most 255 bytes of UTF-8', async (t) => {
  const server = ':example.org';
  const ascii = (sigil: string, total: number) => sigil + 'a'.repeat(total - 1 - server.length) + server;
  t.equal(MAX_ID_BYTES, 255);
  for (const [sigil, valid] of [
    ['@', isValidUserId],
    ['#', isValidRoomAlias],
    ['!', isValidRoomId],
    ['$', isValidEventId],
  ] as const) {
    t.equal(valid(ascii(sigil, 255)), true, `${sigil}: 255 bytes`);
    t.equal(valid(ascii(sigil, 256)), false, `${sigil}: 256 bytes`);
  }
  t.equal(isValidUserId(ascii('@', 255), 'strict'), true);
  t.equal(isValidUserId(ascii('@', 256), 'strict'), false);
  // Bytes, not UTF-16 units: "é" is two bytes, "😀" four.
  const e = '@' + 'é'.repeat(121) + server; // 1 + 242 + 12 = 255 bytes
  t.equal(Buffer.byteLength(e), 255);
  t.equal(isValidUserId(e), true);
  t.equal(isValidUserId('@a' + e.slice(1)), false, '256 bytes though only 135 characters');
  const emoji = '#' + '😀'.repeat(60) + 'aaa' + server;
  t.equal(Buffer.byteLength(emoji), 256);
  t.equal(isValidRoomAlias(emoji), false);
});

t.test('room ids', async (t) => {
  t.same(parseRoomId('!opaque:example.org'), {
    ok: true,
    value: { format: 'domain', opaque: 'opaque', serverName: 'example.org', server: { host: 'example.org', kind: 'dns' } },
  });
  t.equal(isValidRoomId('!ÄÖÜ\u0001x:example.org'), true, 'the localpart is any code point but ":" and NUL');
  t.equal(isValidRoomId('!a\u0000:example.org'), false);
  t.equal(isValidRoomId('!a\uDC00:example.org'), false);
  t.equal(isValidRoomId('!abc:'), false);
  t.equal(isValidRoomId('!abc:exa mple.org'), false);

  // Room version 12: "!" + the create event's reference hash, URL-safe.
  const hash = encodeBase64Url(createHash('sha256').update('create event').digest());
  t.equal(hash.length, 43);
  t.same(parseRoomId('!' + hash), { ok: true, value: { format: 'hash', opaque: hash } });
  t.equal(isValidRoomId('!' + hash, 'hash'), true);
  t.equal(isValidRoomId('!' + hash, 'domain'), false, 'a v12 id is not a v1–v11 id');
  t.equal(isValidRoomId('!opaque:example.org', 'hash'), false, 'and the reverse');
  t.equal(isValidRoomId('!opaque:example.org', 'domain'), true);
  t.equal(isValidRoomId('!' + hash.slice(1)), false, '42 characters');
  t.equal(isValidRoomId('!' + hash + 'A'), false, '44 characters');
  t.equal(isValidRoomId('!' + hash.slice(0, 42) + '+'), false, 'standard alphabet');
  t.equal(isValidRoomId('!' + hash + '='), false, 'padding');
  t.equal(isValidRoomId('!' + hash.slice(0, 42) + 'B'), false, 'non-zero spare bits');
  t.equal(isValidRoomId('!' + '_'.repeat(42) + 'w'), true);
  t.equal(isValidRoomId('!abc'), false, 'no domain and not a hash');
  t.equal(isValidRoomId('abc:example.org'), false);
  t.equal(isValidRoomId(''), false);
});

t.test('event ids', async (t) => {
  // The examples from rooms/v3 and rooms/v4.
  t.same(parseEventId('$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o', 'v3'), {
    ok: true,
    value: { format: 'v3', opaque: 'CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o' },
  });
  t.same(parseEventId('$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg', 'v4'), {
    ok: true,
    value: { format: 'v4', opaque: 'Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg' },
  });
  t.same(parseEventId('$0:domain', 'v1'), {
    ok: true,
    value: { format: 'v1', opaque: '0', serverName: 'domain', server: { host: 'domain', kind: 'dns' } },
  });

  const digest = createHash('sha256').update('x').digest();
  const std = encodeBase64(digest);
  const url = encodeBase64Url(digest);
  t.not(std, url, 'precondition: this hash differs between alphabets');
  t.equal(isValidEventId('$' + std, 'v3'), true);
  t.equal(isValidEventId('$' + std, 'v4'), false, 'v4+ are URL-safe');
  t.equal(isValidEventId('$' + url, 'v4'), true);
  t.equal(isValidEventId('$' + url, 'v3'), false);
  t.equal(isValidEventId('$' + url, 'v1'), false, 'v1 needs a domain');
  t.equal(isValidEventId('$0:domain', 'v4'), false, 'v4 ids have no domain');
  t.equal((parseEventId('$' + std) as { value: { format: string } }).value.format, 'v3', 'detected from "+" or "/"');
  t.equal((parseEventId('$' + url) as { value: { format: string } }).value.format, 'v4');
  t.equal((parseEventId('$0:domain') as { value: { format: string } }).value.format, 'v1');
  t.equal(isValidEventId('$' + url.slice(0, 42)), false, 'short');
  t.equal(isValidEventId('$' + url.slice(0, 42) + 'h'), false, 'non-zero spare bits');
  t.equal(isValidEventId('$' + std + '='), false, 'padding');
  t.equal(isValidEventId('$'), false);
  t.equal(isValidEventId(url), false, 'no sigil');
  t.equal(isValidEventId('$a\u0000:domain'), false);
  t.equal(isValidEventId('$abc:dom_ain'), false);
});

t.test('room aliases', async (t) => {
  t.same(parseRoomAlias('#Room Name!:example.org:8448'), {
    ok: true,
    value: { localpart: 'Room Name!', serverName: 'example.org:8448', server: { host: 'example.org', kind: 'dns', port: 8448 } },
  });
  t.equal(isValidRoomAlias('#日本語:example.org'), true);
  t.equal(isValidRoomAlias('#a\u0000:example.org'), false);
  t.equal(isValidRoomAlias('#a\uD83D:example.org'), false);
  t.equal(isValidRoomAlias('#alias'), false);
  t.equal(isValidRoomAlias('@alias:example.org'), false);
  t.equal(isValidRoomAlias('#alias:example.org:99999'), false);
});

t.test('key ids', async (t) => {
  t.same(parseKeyId('ed25519:1'), { ok: true, value: { algorithm: 'ed25519', version: '1' } });
  t.same(parseKeyId('ed25519:a_AbCd09'), { ok: true, value: { algorithm: 'ed25519', version: 'a_AbCd09' } });
  t.same(parseKeyId('signed_curve25519:AAAAAQ'), { ok: true, value: { algorithm: 'signed_curve25519', version: 'AAAAAQ' } });
  for (const id of ['ed25519', 'ed25519:', ':1', 'ed25519:a-b', 'ed25519:a:b', 'Ed25519:1', 'ed 25519:1', 'ed25519:é']) {
    t.equal(parseKeyId(id).ok, false, JSON.stringify(id));
  }
  // Device key ids carry a device id, which is not limited to [a-zA-Z0-9_].
  t.same(parseKeyId('ed25519:DEV-ICE:1', 'any'), { ok: true, value: { algorithm: 'ed25519', version: 'DEV-ICE:1' } });
  t.equal(parseKeyId('ed25519:', 'any').ok, false);
});

t.test('serverNameOf', async (t) => {
  const hash = encodeBase64Url(createHash('sha256').update('y').digest());
  const cases: [string, string | undefined][] = [
    ['@alice:example.org', 'example.org'],
    ['@Alice:[::1]:8448', '[::1]:8448'],
    ['#room:example.org:443', 'example.org:443'],
    ['!opaque:1.2.3.4', '1.2.3.4'],
    ['$0:domain', 'domain'],
    ['!' + hash, undefined],
    ['$' + hash, undefined],
    ['@alice', undefined],
    ['@alice:bad_server', undefined],
    ['alice:example.org', undefined],
    ['', undefined],
  ];
  for (const [id, expected] of cases) t.equal(serverNameOf(id), expected, JSON.stringify(id));
});

t.test('parsers never throw', async (t) => {
  const alphabet = ['@', '!', '$', '#', ':', '[', ']', '.', '-', '_', '/', '+', '=', '0', '9', 'a', 'Z', 'é', '\u0000', '\uD800', '\uDC00', '😀', ' ', '%'];
  const parsers = [
    (s: string) => parseServerName(s),
    (s: string) => parseUserId(s, 'strict'),
    (s: string) => parseUserId(s, 'historical'),
    (s: string) => parseRoomId(s),
    (s: string) => parseRoomId(s, 'hash'),
    (s: string) => parseEventId(s),
    (s: string) => parseEventId(s, 'v3'),
    (s: string) => parseRoomAlias(s),
    (s: string) => parseKeyId(s, 'any'),
    (s: string) => ({ ok: serverNameOf(s) !== undefined }),
  ];
  const rnd = randomBytes(20_000);
  let threw = 0;
  for (let i = 0; i < 2000; i++) {
    const len = rnd[i]! % 40;
    let s = '';
    for (let j = 0; j < len; j++) s += alphabet[rnd[(i * 7 + j) % rnd.length]! % alphabet.length];
    for (const parse of parsers) {
      try {
        const r = parse(s);
        if (typeof r.ok !== 'boolean') threw++;
      } catch {
        threw++;
      }
    }
  }
  for (const junk of [undefined, null, 42, {}, ['@a:b']] as unknown as string[]) {
    for (const parse of parsers) {
      try {
        if (parse(junk).ok) threw++;
      } catch {
        threw++;
      }
    }
  }
  t.equal(threw, 0);
});
