/**
 * Whether media is a local user's current avatar: retention and bulk
 * deletion keep those (Synapse's keep_profiles), or profiles would lose
 * their pictures. One profile lookup per uploader per run.
 */
import type { UserAPI } from '../userapi/api.js';
import { mxcUri } from './ids.js';
import type { MediaRecord } from './storage.js';

export function avatarCheck(userapi: Pick<UserAPI, 'queryProfile'>): (m: MediaRecord) => Promise<boolean> {
  // null: the profile could not be read; not knowing is not a reason to delete.
  const avatars = new Map<string, Promise<string | undefined | null>>();
  return async (m) => {
    if (m.user_id === null) return false;
    let p = avatars.get(m.user_id);
    if (!p) {
      p = userapi.queryProfile({ user_id: m.user_id }).then(
        (profile) => (typeof profile?.avatar_url === 'string' ? profile.avatar_url : undefined),
        () => null,
      );
      avatars.set(m.user_id, p);
    }
    const avatar = await p;
    return avatar === null || avatar === mxcUri(m.origin, m.media_id);
  };
}
