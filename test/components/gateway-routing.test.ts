/** Which component serves which path, on which listener. */
import t from 'tap';
import { currentUrl, routeFor } from '../../src/components/gateway/routing-table.js';

t.test('paths go to the component that owns them', async (t) => {
  const cases: [Parameters<typeof routeFor>[0], string, string | undefined][] = [
    ['client', '/_matrix/client/versions', 'clientapi'],
    ['client', '/_matrix/client/v3/sync', 'syncapi'],
    ['client', '/_matrix/client/r0/sync', 'syncapi'],
    ['client', '/_matrix/client/v3/rooms/!a:b/messages', 'syncapi'],
    ['client', '/_matrix/client/v1/rooms/!a:b/relations/$e/m.thread', 'syncapi'],
    ['client', '/_matrix/client/v3/rooms/!a:b/context/$e', 'syncapi'],
    ['client', '/_matrix/client/v3/rooms/!a:b/send/m.room.message/1', 'clientapi'],
    ['client', '/_matrix/client/v3/rooms/!a:b/messagesX', 'clientapi'],
    ['client', '/_matrix/client/v3/syncing', 'clientapi'],
    ['client', '/_matrix/client/v3/keys/changes?from=s1&to=s2', 'syncapi'],
    ['client', '/_matrix/client/v3/keys/query', 'clientapi'],
    ['client', '/_matrix/client/v3/search?next_batch=x', 'syncapi'],
    ['client', '/_matrix/client/v1/rooms/!a:b/timestamp_to_event?ts=1&dir=b', 'syncapi'],
    ['client', '/_matrix/client/v1/rooms/!a:b/hierarchy', 'clientapi'],
    ['client', '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync', 'syncapi'],
    ['client', '/_matrix/federation/v1/version', undefined],
    ['client', '/_matrix/federation/v1/openid/userinfo?access_token=x', 'federationapi'],
    ['client', '/_matrix/federation/v1/openid/userinfo_more', undefined],
    ['setup', '/_matrix/federation/v1/openid/userinfo', undefined],
    ['federation', '/_matrix/federation/v1/version', 'federationapi'],
    ['federation', '/_matrix/key/v2/server', 'serverkeyapi'],
    ['federation', '/_matrix/client/v3/sync', 'syncapi'],
    ['client', '/.well-known/matrix/client', 'clientapi'],
    ['setup', '/anything', 'setup'],
    ['setup', '/_matrix/client/v3/login', undefined],
    ['setup', '/_synapse/admin/v2/users', undefined],
    ['setup', '/.well-known/matrix/client', undefined],
    ['client', '/_internal/health', undefined],
  ];
  for (const [listener, path, want] of cases) t.equal(routeFor(listener, path), want, `${listener} ${path}`);
});

t.test('r0 (before spec v1.1) is served as v3', async (t) => {
  t.equal(currentUrl('/_matrix/client/r0/account/whoami'), '/_matrix/client/v3/account/whoami');
  t.equal(currentUrl('/_matrix/client/r0/rooms/!a:b/members?at=s1'), '/_matrix/client/v3/rooms/!a:b/members?at=s1');
  t.equal(currentUrl('/_matrix/client/v3/sync'), '/_matrix/client/v3/sync', 'v3 as it is');
  t.equal(currentUrl('/_matrix/client/r0'), '/_matrix/client/r0', 'only the prefix with its slash');
  t.equal(currentUrl('/_matrix/client/v1/media/config'), '/_matrix/client/v1/media/config');
});
