export { createPublicApp, clientIp, EVENT_BODY_LIMIT, DEFAULT_BODY_LIMIT, type PublicAppOptions, type RawHandler } from './app.js';
export { REQUEST_ID_HEADER, CLIENT_IP_HEADER } from './headers.js';
export { toMatrixError, sendMatrixError } from './errors.js';
export { CORS_HEADERS } from './cors.js';
export { parseJsonBody, bodyProblem, DEFAULT_MAX_DEPTH, type BodyChecks } from './json-body.js';
export { RateLimiter, type RateLimit } from './rate-limit.js';
export { accessTokenOf, requireAccessToken } from './auth.js';
export { lingerAfterRefusal, LINGER_BYTES, LINGER_MS } from './linger.js';
