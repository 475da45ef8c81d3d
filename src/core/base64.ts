/** Unpadded base64 (spec appendix) in its standard and URL-safe alphabets. */

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URLSAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes standard or URL-safe base64, padded or not (the spec asks readers
 * to accept both). Spare bits in the last character are ignored, as other
 * implementations do. Returns undefined for text that is not base64.
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!STANDARD.test(text) && !URLSAFE.test(text)) return undefined;
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  // Padding, when present, completes the last group of four ("Zg==", never "Zg=" or "Zm9v==").
  if (body.length !== text.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(body, URLSAFE.test(text) && /[-_]/.test(text) ? 'base64url' : 'base64');
}
