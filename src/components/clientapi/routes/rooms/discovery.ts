/**
 * What a client asks before and around rooms: capabilities, server
 * discovery (.well-known, with the admins as support contacts), third-party
 * protocols and TURN servers for calls.
 */
import type { FastifyRequest } from 'fastify';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MatrixError } from '../../../../core/errors.js';
import { parseServerName } from '../../../../core/identifiers.js';
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS } from '../../../../core/room-versions.js';
import { resolveDataPath } from '../../../../platform/config/paths.js';
import { ownerOf, type ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { V3 } from './common.js';

function capabilities() {
  const available: Record<string, string> = {};
  for (const v of Object.values(ROOM_VERSIONS)) available[v.id] = v.stable ? 'stable' : 'unstable';
  return {
    capabilities: {
      'm.room_versions': { default: DEFAULT_ROOM_VERSION, available },
      'm.change_password': { enabled: true },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: false },
      'm.get_login_token': { enabled: false },
    },
  };
}

/** The federation listener serves the client API too, over TLS unless TLS is off. */
export function discovery(cctx: ClientApiContext): { baseUrl: string; server: string } {
  const { config } = cctx;
  const parsed = parseServerName(config.server_name);
  const host = parsed.ok ? parsed.value.host : config.server_name;
  const https = config.tls.mode !== 'off';
  const port = config.federation_port;
  const defaultPort = https ? 443 : 80;
  const baseUrl = config.public_baseurl !== '' ? config.public_baseurl.replace(/\/$/, '') : `${https ? 'https' : 'http'}://${host}${port === defaultPort ? '' : `:${port}`}`;
  return { baseUrl, server: `${host}:${port}` };
}

/**
 * TURN credentials: time-limited ones from a shared secret (the TURN REST
 * API convention coturn implements: user `expiry:user_id`, password
 * base64(HMAC-SHA1(secret, user))), or fixed ones from the configuration.
 */
function turnAnswer(cctx: ClientApiContext, userId: string, secret: string | undefined): Record<string, unknown> {
  const turn = cctx.config.turn;
  const ttl = turn.lifetime_seconds;
  if (secret) {
    const username = `${Math.floor(Date.now() / 1000) + ttl}:${userId}`;
    return { username, password: createHmac('sha1', secret).update(username).digest('base64'), uris: turn.uris, ttl };
  }
  if (turn.username !== '' || turn.password !== '') return { username: turn.username, password: turn.password, uris: turn.uris, ttl };
  return {};
}

export const discoveryRoutes: ClientRoutes = (app, cctx) => {
  const auth = { onRequest: cctx.auth.required };
  const { baseUrl, server } = discovery(cctx);
  const turn = cctx.config.turn;
  const secret = turn.uris.length > 0 && turn.shared_secret_file !== '' ? readFileSync(resolveDataPath(cctx.paths, turn.shared_secret_file), 'utf8').trim() : undefined;

  app.get(`${V3}/capabilities`, auth, async () => capabilities());

  app.get('/.well-known/matrix/client', async () => ({ 'm.homeserver': { base_url: baseUrl } }));
  app.get('/.well-known/matrix/server', async () => ({ 'm.server': server }));
  // Who to ask (a locked user appealing, someone reporting a problem): this server's active admins.
  app.get('/.well-known/matrix/support', async () => {
    const { users } = await cctx.userapi.listUsers({ admins: true, limit: 20 });
    if (users.length === 0) throw new MatrixError(404, 'M_NOT_FOUND', 'This server names no contacts');
    return { contacts: users.map((u) => ({ matrix_id: u.user_id, role: 'm.role.admin' })) };
  });

  // No application service bridges another network here yet: no protocols, so every lookup finds nothing (the spec's 404).
  app.get(`${V3}/thirdparty/protocols`, auth, async () => ({}));
  const noProtocol = async (request: FastifyRequest) => {
    const { protocol } = request.params as { protocol?: string };
    throw new MatrixError(404, 'M_NOT_FOUND', protocol ? `No bridge on this server speaks ${protocol}` : 'No bridge on this server knows that');
  };
  for (const path of ['protocol/:protocol', 'location/:protocol', 'user/:protocol', 'location', 'user']) app.get(`${V3}/thirdparty/${path}`, auth, noProtocol);

  // With no TURN server configured the answer is empty, as Synapse's is: clients then call without relay.
  app.get(`${V3}/voip/turnServer`, auth, async (request) => {
    const owner = ownerOf(request);
    if (owner.is_guest && !turn.allow_guests) throw new MatrixError(403, 'M_FORBIDDEN', 'Guests may not use the TURN servers');
    if (turn.uris.length === 0) return {};
    return turnAnswer(cctx, owner.user_id, secret);
  });
};
