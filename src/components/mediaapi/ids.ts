/** Media ids and `mxc://` URIs (spec: content repository, "Security considerations"). */
import { randomBytes } from 'node:crypto';
import { isValidServerName } from '../../core/identifiers.js';

/** Only these characters: a media id can never walk out of a directory. */
const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** 24 characters of URL-safe base64: 144 random bits. */
export function newMediaId(): string {
  return randomBytes(18).toString('base64url');
}

export function isValidMediaId(id: string): boolean {
  return MEDIA_ID.test(id);
}

/** Whether a server name and media id from a path can name media at all. */
export function isValidMediaRef(serverName: string, mediaId: string): boolean {
  return isValidMediaId(mediaId) && isValidServerName(serverName);
}

export function mxcUri(serverName: string, mediaId: string): string {
  return `mxc://${serverName}/${mediaId}`;
}

export function parseMxc(uri: string): { serverName: string; mediaId: string } | undefined {
  const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(uri);
  if (!m || !isValidMediaRef(m[1]!, m[2]!)) return undefined;
  return { serverName: m[1]!, mediaId: m[2]! };
}
