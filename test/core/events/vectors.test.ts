/**
 * The event vectors: the spec's event signing examples (test-vectors.json)
 * and gomatrixserverlib's redaction and event signing cases.
 */
import t from 'tap';
import { canonicalJson, canonicalJsonBytes } from '../../../src/core/canonical-json.js';
import { sign } from '../../../src/core/ed25519.js';
import { encodeBase64 } from '../../../src/core/base64.js';
import { contentHash, referenceHash, checkContentHash } from '../../../src/core/events/hashes.js';
import { redact } from '../../../src/core/events/redaction.js';
import { hashAndSignEvent, verifyEventSignature } from '../../../src/core/events/sign.js';
import { eventId } from '../../../src/core/events/event-id.js';
import { ALL_VERSIONS, asPdu, loadVectors, rv, specKey } from './helpers.js';

const spec = loadVectors('test-vectors.json');
const gmsl = loadVectors('gomatrixserverlib-vectors.json');

t.test('the spec key is the one the vectors use', async (t) => {
  const vector = spec.vectors.find((v: any) => v.category === 'event_signing');
  t.equal(encodeBase64(specKey.publicKey), vector.key.derived_public_key_base64);
  t.equal(specKey.keyId, vector.key.key_id);
});

const eventSigning = spec.vectors.filter((v: any) => v.category === 'event_signing');

t.test('spec event signing vectors', async (t) => {
  t.equal(eventSigning.length, 2, 'both event signing vectors are present');
  // Both vectors are pre-v11 events (they carry `origin`): every version up to 10 must agree.
  const preV11 = ALL_VERSIONS.filter((id) => rv(id).redaction !== 'v11');
  for (const vector of eventSigning) {
    for (const id of preV11) {
      const version = rv(id);
      t.test(`${vector.name} in room version ${id}`, async (t) => {
        const input = asPdu(vector.input);
        t.equal(encodeBase64(contentHash(input, version)), vector.intermediate.content_hash_sha256, 'content hash');

        const signed = hashAndSignEvent(input, vector.key.server_name, specKey, version);
        t.same(signed, vector.expected, 'hashed and signed event');
        t.equal(canonicalJson(signed), canonicalJson(vector.expected), 'byte-identical');

        const { signatures: _s, ...redactedNoSigs } = redact(signed, version);
        const { signatures: _s2, ...expectedRedacted } = vector.intermediate.redacted_event_signed_over;
        t.same(redactedNoSigs, expectedRedacted, 'redacted form that is signed');
        t.equal(canonicalJson(redactedNoSigs), vector.intermediate.canonical_json_signed, 'signed bytes');

        const ref = referenceHash(signed, version);
        t.equal(encodeBase64(ref), vector.intermediate.reference_hash_sha256_unpadded_b64, 'reference hash');

        t.equal(await verifyEventSignature(signed, 'domain', 'ed25519:1', specKey.publicKey, version), undefined, 'signature verifies');
        t.ok(checkContentHash(signed, version), 'content hash checks');
      });
    }
  }

  t.test('v3 event ids use standard base64, v4+ URL-safe', async (t) => {
    for (const vector of eventSigning) {
      const signed = asPdu(vector.expected);
      t.equal(eventId(signed, rv('3')), '$' + vector.intermediate.reference_hash_sha256_unpadded_b64);
      t.equal(eventId(signed, rv('4')), '$' + vector.intermediate.reference_hash_urlsafe);
      t.equal(eventId(signed, rv('10')), '$' + vector.intermediate.reference_hash_urlsafe);
    }
    // sign_event_2's hash contains "+" and "/", so the two forms differ.
    const second = eventSigning.find((v: any) => v.name === 'sign_event_2');
    t.not(eventId(asPdu(second.expected), rv('3')), eventId(asPdu(second.expected), rv('4')));
    t.equal(eventId(asPdu(second.expected), rv('1')), '$0:domain', 'v1 reads event_id');
  });

  t.test('in v11 `origin` is redacted, so the signature and reference hash change', async (t) => {
    for (const vector of eventSigning) {
      const signed = hashAndSignEvent(asPdu(vector.input), 'domain', specKey, rv('11'));
      t.equal(signed.hashes.sha256, vector.expected.hashes.sha256, 'content hash is version-independent');
      t.not(signed.signatures.domain!['ed25519:1'], vector.expected.signatures.domain['ed25519:1']);
      t.not(encodeBase64(referenceHash(signed, rv('11'))), vector.intermediate.reference_hash_sha256_unpadded_b64);
    }
  });
});

t.test('gomatrixserverlib redaction vectors', async (t) => {
  t.equal(gmsl.redaction.length, 8, 'all 8 redaction cases are present');
  for (const c of gmsl.redaction) {
    t.test(`${c.source_path}: ${c.input_var} -> ${c.expected_var} (v${c.room_version})`, async (t) => {
      const input = asPdu(c.input);
      const before = structuredClone(input);
      t.same(redact(input, rv(c.room_version)), c.expected);
      t.same(input, before, 'the input is not modified');
    });
  }
});

t.test('gomatrixserverlib event signing vectors', async (t) => {
  // All are v1/v2-shaped (`$0:domain` event ids); v1 is the version they were written for.
  const version = rv('1');
  const signEvents = gmsl.signing.filter((v: any) => v.kind === 'sign_event');
  const verifyEvents = gmsl.signing.filter((v: any) => v.kind === 'verify_event');
  t.equal(signEvents.length, 4);
  t.equal(verifyEvents.length, 6);
  for (const c of signEvents) {
    t.test(`sign ${c.source_path}`, async (t) => {
      // Those with `notes` lack content: redaction adds "content": {}, which the expected signature assumes.
      t.same(hashAndSignEvent(asPdu(c.input), 'domain', specKey, version), c.expected);
    });
  }
  for (const c of verifyEvents) {
    t.test(`verify ${c.source_path}${c.reason ? ` (${c.reason})` : ''}`, async (t) => {
      const pdu = asPdu(JSON.parse(c.input_text));
      const reason = await verifyEventSignature(pdu, 'domain', 'ed25519:1', specKey.publicKey, version);
      if (c.expected_valid) t.equal(reason, undefined, 'signature is valid');
      else t.type(reason, 'string', 'signature is rejected');
    });
  }

  t.test('the notes: without the added "content": {} the signature would be the 2019 spec value', async (t) => {
    const c = signEvents.find((v: any) => v.notes);
    const signed = hashAndSignEvent(asPdu(c.input), 'domain', specKey, version);
    const { signatures: _s, unsigned: _u, content: _c, ...strictlyRedacted } = redact(signed, version) as Record<string, unknown>;
    const strictSignature = encodeBase64(sign(specKey, canonicalJsonBytes(strictlyRedacted)));
    t.equal(strictSignature, 'JV2dlZUASAefSdywnyCxzykHlyr7xkKGK7IRir1cF8eYsnONrCSb+GRn7aXXstr1UHKvzYjRXPx0001+boD1Ag');
    t.not(signed.signatures.domain!['ed25519:1'], strictSignature, 'we follow Synapse/gomatrixserverlib instead');
  });

  t.test('a redacted copy keeps a valid signature but fails the content hash', async (t) => {
    const full = verifyEvents.find((c: any) => c.source_path === 'eventcrypto_test.go:100');
    const redactedCopy = verifyEvents.find((c: any) => c.source_path === 'eventcrypto_test.go:124');
    t.ok(checkContentHash(asPdu(JSON.parse(full.input_text)), version), 'full event: hash matches');
    t.notOk(checkContentHash(asPdu(JSON.parse(redactedCopy.input_text)), version), 'redacted copy: hash does not match');
  });
});
