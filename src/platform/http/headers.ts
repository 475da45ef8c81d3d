/**
 * Headers the gateway adds to what it forwards. Their own module: the
 * gateway serves no routes itself and must not load fastify (app.ts) for
 * two names.
 */
export const REQUEST_ID_HEADER = 'x-request-id';
export const CLIENT_IP_HEADER = 'x-neurite-client-ip';
