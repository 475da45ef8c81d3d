/**
 * Media with matrix-js-sdk against the built server, in split mode (the
 * gateway streams bodies to the media process over its socket) and in
 * monolith: one client uploads an avatar and an image message; another
 * downloads both, and a thumbnail of the avatar, through authenticated
 * media, as Element does.
 */
import t, { type Test } from 'tap';
import type { MatrixClient } from 'matrix-js-sdk';
import { dimensions, still } from '../helpers/images.js';
import { refused, register } from '../helpers/sdk.js';
import { startMediaServer } from '../helpers/media.js';

async function fetchAuthed(client: MatrixClient, url: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${client.getAccessToken()}` } });
  return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}

async function media(t: Test, mode: 'monolith' | 'split') {
  const { ports } = await startMediaServer(t, mode);
  const baseUrl = `http://127.0.0.1:${ports.client}`;
  const alice = await register(baseUrl, 'alice', 'correct horse battery');
  const bob = await register(baseUrl, 'bob', 'staple battery horse');
  const aliceId = alice.getUserId()!;

  t.match(await alice.getMediaConfig(), { 'm.upload.size': 50 * 1024 * 1024 }, 'the SDK reads the media config');

  const avatar = await still('png', 400, 400);
  const { content_uri: avatarUri } = await alice.uploadContent(avatar, { name: 'me.png', type: 'image/png' });
  t.match(avatarUri, /^mxc:\/\/localhost:\d+\/[A-Za-z0-9_-]+$/, 'the avatar uploaded');
  await alice.setAvatarUrl(avatarUri);

  const photo = await still('jpeg', 1280, 720);
  const { content_uri: photoUri } = await alice.uploadContent(photo, { name: 'holiday.jpg', type: 'image/jpeg' });
  const { room_id: roomId } = await alice.createRoom({ name: 'Photos' });
  await alice.invite(roomId, bob.getUserId()!);
  await bob.joinRoom(roomId);
  const { event_id: eventId } = await alice.sendMessage(roomId, {
    msgtype: 'm.image',
    body: 'holiday.jpg',
    url: photoUri,
    info: { mimetype: 'image/jpeg', size: photo.length, w: 1280, h: 720 },
  } as never);

  // Bob: the message, then the image it names, through authenticated media.
  const event = await bob.fetchRoomEvent(roomId, eventId);
  const url = (event.content as { url: string }).url;
  t.equal(url, photoUri, 'bob sees the image message');
  const downloadUrl = bob.mxcUrlToHttp(url, undefined, undefined, undefined, false, true, true)!;
  t.match(downloadUrl, /\/_matrix\/client\/v1\/media\/download\//, 'the SDK builds an authenticated media URL');
  const got = await fetchAuthed(bob, downloadUrl);
  t.equal(got.status, 200);
  t.equal(got.type, 'image/jpeg');
  t.ok(got.body.equals(photo), 'bob downloads the same bytes');
  const preview = await fetchAuthed(bob, bob.mxcUrlToHttp(url, 800, 600, 'scale', false, true, true)!);
  t.match(await dimensions(preview.body), { format: 'jpeg', width: 800, height: 450 }, 'and an 800×600 scaled thumbnail of it');

  // Bob: alice's profile, then her avatar.
  const profile = await bob.getProfileInfo(aliceId);
  t.equal(profile.avatar_url, avatarUri, "bob sees alice's avatar in her profile");
  const full = await fetchAuthed(bob, bob.mxcUrlToHttp(profile.avatar_url!, undefined, undefined, undefined, false, true, true)!);
  t.ok(full.body.equals(avatar), 'the avatar downloads');
  const thumb = await fetchAuthed(bob, bob.mxcUrlToHttp(profile.avatar_url!, 96, 96, 'crop', false, true, true)!);
  t.equal(thumb.type, 'image/png');
  t.match(await dimensions(thumb.body), { width: 96, height: 96 }, 'a 96×96 crop of the avatar');

  const anonymous = await fetch(downloadUrl);
  t.equal(anonymous.status, 401, 'without a token: 401');
  t.equal(((await anonymous.json()) as { errcode: string }).errcode, 'M_MISSING_TOKEN');
  const legacy = await fetch(bob.mxcUrlToHttp(url, undefined, undefined, undefined, false, true, false)!);
  t.equal(legacy.status, 404, 'the frozen unauthenticated URL does not serve it');
  await refused(t, bob.uploadContent(Buffer.alloc(51 * 1024 * 1024), { type: 'application/octet-stream' }), 413, 'M_TOO_LARGE', 'an upload over the limit');
}

t.test('split', (t) => media(t, 'split'));
t.test('monolith', (t) => media(t, 'monolith'));
