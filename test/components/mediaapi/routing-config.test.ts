/** The gateway sends media paths to the MediaAPI; the media section of neurite.yaml is validated with safe defaults. */
import t from 'tap';
import { routeFor } from '../../../src/components/gateway/routing-table.js';
import { ConfigError, validateConfig } from '../../../src/platform/config/schema.js';

t.test('media paths go to the MediaAPI', async (t) => {
  const cases: [Parameters<typeof routeFor>[0], string, string | undefined][] = [
    ['client', '/_matrix/media/v3/upload', 'mediaapi'],
    ['client', '/_matrix/media/v1/create', 'mediaapi'],
    ['client', '/_matrix/media/r0/download/a.b/xyz', 'mediaapi'],
    ['federation', '/_matrix/media/v3/thumbnail/a.b/xyz', 'mediaapi'],
    ['client', '/_matrix/client/v1/media/download/a.b/xyz', 'mediaapi'],
    ['client', '/_matrix/client/v1/media/config', 'mediaapi'],
    ['client', '/_matrix/client/v1/mediafoo', 'clientapi'],
    ['client', '/_synapse/admin/v1/media/a.b/xyz', 'mediaapi'],
    ['client', '/_synapse/admin/v1/users/@a:b/media', 'mediaapi'],
    ['client', '/_synapse/admin/v1/user/@a:b/media/quarantine', 'mediaapi'],
    ['client', '/_synapse/admin/v1/purge_media_cache', 'mediaapi'],
    ['client', '/_synapse/admin/v1/statistics/users/media', 'mediaapi'],
    ['client', '/_synapse/admin/v1/users/@a:b/mediax', 'clientapi'],
    ['client', '/_synapse/admin/v1/registration_tokens', 'clientapi'],
    ['client', '/_synapse/admin/v1/register', 'clientapi'],
    // The setup port serves no Matrix API, media included.
    ['setup', '/_matrix/media/v3/upload', undefined],
  ];
  for (const [listener, path, want] of cases) t.equal(routeFor(listener, path), want, `${listener} ${path}`);
});

t.test('media configuration', async (t) => {
  const base = { server_name: 'x.test' };
  const d = validateConfig(base).media;
  t.match(d, {
    max_upload_bytes: 50 * 1024 * 1024,
    user_quota_bytes: 2 * 1024 ** 3,
    min_free_bytes: 256 * 1024 * 1024,
    unauthenticated: 'frozen',
    frozen_since: 0,
    retention: { local_max_age_days: 0, local_max_idle_days: 0, remote_max_idle_days: 90 },
    url_preview: { enabled: false, allowed_ranges: [] },
  }, 'defaults: previews off, legacy media frozen, local media kept');
  const c = validateConfig({ ...base, media: { max_upload_bytes: 1000, url_preview: { enabled: true, allowed_ranges: ['192.168.1.0/24', 'fd00::/8', '10.0.0.5'] }, retention: { local_max_age_days: 30 } } }).media;
  t.match(c, { max_upload_bytes: 1000, url_preview: { enabled: true }, retention: { local_max_age_days: 30, remote_max_idle_days: 90 } }, 'given values over defaults');
  for (const [media, field] of [
    [{ max_upload_bytes: -1 }, 'media.max_upload_bytes'],
    [{ max_upload_bytes: 0 }, 'media.max_upload_bytes'],
    [{ user_quota_bytes: 'lots' }, 'media.user_quota_bytes'],
    [{ unauthenticated: 'sometimes' }, 'media.unauthenticated'],
    [{ url_preview: { enabled: 'yes' } }, 'media.url_preview.enabled'],
    [{ url_preview: { allowed_ranges: ['192.168.1.0/33'] } }, 'media.url_preview.allowed_ranges'],
    [{ url_preview: { allowed_ranges: ['example.org'] } }, 'media.url_preview.allowed_ranges'],
    [{ retention: { local_max_age_days: 1.5 } }, 'media.retention.local_max_age_days'],
    [{ retention: [] }, 'media.retention'],
  ] as const) {
    t.throws(() => validateConfig({ ...base, media }), new ConfigError(`${field} must`), `${JSON.stringify(media)} refused, naming ${field}`);
  }
});
