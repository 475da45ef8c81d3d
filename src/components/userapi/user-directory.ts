/**
 * The user directory (POST /user_directory/search): local, active users
 * whose user id or display name contains the search term, ignoring case.
 * A household server has tens of accounts, so a scan of them is cheaper
 * than an index to maintain; remote users arrive with federation.
 */
import { compareCodePoints } from '../../core/canonical-json.js';
import type { DirectoryUser } from './api.js';
import { userIdOf, type UserServices } from './services.js';

export const MAX_DIRECTORY_LIMIT = 50;

export class UserDirectory {
  constructor(private readonly svc: UserServices) {}

  async search(term: string, limit: number): Promise<{ results: DirectoryUser[]; limited: boolean }> {
    const needle = term.trim().toLowerCase();
    const max = Math.max(1, Math.min(limit, MAX_DIRECTORY_LIMIT));
    const found: { rank: number; user: DirectoryUser }[] = [];
    for await (const [, account] of this.svc.storage.accounts()) {
      if (account.deactivated || account.guest) continue;
      const userId = userIdOf(this.svc.serverName, account.localpart);
      const name = account.displayname?.toLowerCase() ?? '';
      const rank = matchRank(needle, userId.toLowerCase(), account.localpart, name);
      if (rank === undefined) continue;
      found.push({
        rank: rank * 2 + (account.displayname !== undefined || account.avatar_url !== undefined ? 0 : 1),
        user: {
          user_id: userId,
          ...(account.displayname !== undefined ? { display_name: account.displayname } : {}),
          ...(account.avatar_url !== undefined ? { avatar_url: account.avatar_url } : {}),
        },
      });
    }
    // Best match first (spec: "ordered by rank and then whether or not profile info is available"),
    // then by user id in code-point order: `localeCompare` would load ICU's collation data (about 3 MB).
    found.sort((a, b) => a.rank - b.rank || compareCodePoints(a.user.user_id, b.user.user_id));
    return { results: found.slice(0, max).map((f) => f.user), limited: found.length > max };
  }
}

/** 0: exact, 1: a word starts with the term, 2: contains it; undefined: no match. */
function matchRank(needle: string, userId: string, localpart: string, name: string): number | undefined {
  if (needle === '') return 2;
  if (localpart === needle || name === needle || userId === needle) return 0;
  const words = [localpart, ...name.split(/\s+/)];
  if (words.some((w) => w.startsWith(needle)) || userId.startsWith(needle)) return 1;
  if (userId.includes(needle) || name.includes(needle)) return 2;
  return undefined;
}
