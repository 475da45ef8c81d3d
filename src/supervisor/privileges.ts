/**
 * Running the homeserver's processes as an unprivileged user.
 *
 * On the device the supervisor starts as root: installing updates and
 * switching root slots need it. The processes that parse what the network
 * sends do not, so with `NEURITE_USER` set (the image sets `neurite`) the
 * supervisor forks them as that user. Before they start it hands the data
 * directory over to that user, except `app/`: that folder holds the
 * installed versions and the update state that root acts on, so it stays
 * root's and is created by root before any child runs (an unprivileged
 * process must never be able to plant code that root starts next).
 */
import { lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataPaths } from '../platform/config/paths.js';
import { appPaths } from './update/slots.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** The user from the passwd file, or a one-line reason why it cannot be used. */
export function lookUpUser(name: string, passwdFile = '/etc/passwd'): RunAs {
  let text: string;
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${passwdFile} to find the user ${name}: ${(e as Error).message}`);
  }
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user !== name || uid === undefined || gid === undefined) continue;
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) throw new Error(`the entry for ${name} in ${passwdFile} has no numeric uid and gid`);
    if (Number(uid) === 0) throw new Error(`NEURITE_USER=${name} is root (uid 0): name an unprivileged user`);
    return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`NEURITE_USER=${name}: no such user in ${passwdFile}`);
}

/**
 * Which user the children run as: the one `NEURITE_USER` names when the
 * supervisor is root, else nobody in particular (they inherit ours).
 */
export function runAsFromEnv(env: NodeJS.ProcessEnv = process.env, isRoot = process.getuid?.() === 0): RunAs | undefined {
  const name = env.NEURITE_USER?.trim();
  if (!name || !isRoot) return undefined;
  return lookUpUser(name);
}

function searchable(path: string, who: RunAs): boolean {
  const s = statSync(path);
  if (s.uid === who.uid) return (s.mode & 0o100) !== 0;
  if (s.gid === who.gid) return (s.mode & 0o010) !== 0;
  return (s.mode & 0o001) !== 0;
}

/**
 * Gives the data directory (and the socket folder, when it lives elsewhere)
 * to the user, leaving `app/` root's; entries already theirs are left alone,
 * so that after the first start this is one stat per file. Symbolic links
 * are changed themselves, never followed, and a file with more than one
 * name is not given away (Neurite makes no hard links; one the user made to
 * a file of root's, say in `app/`, must not hand that file over): both
 * would otherwise give the user what a link points to. Returns the files
 * left alone that way.
 */
export function handOverDataDir(paths: DataPaths, who: RunAs): string[] {
  for (let d = dirname(paths.dataDir); ; d = dirname(d)) {
    if (!searchable(d, who)) throw new Error(`the user ${who.name} cannot reach the data directory: ${d} is not searchable for it`);
    if (dirname(d) === d) break;
  }
  mkdirSync(paths.dataDir, { recursive: true });
  // The installed versions and the update state (update/slots.ts).
  const app = appPaths(paths.dataDir).appDir;
  mkdirSync(app, { recursive: true, mode: 0o755 });
  const a = lstatSync(app);
  if (!a.isDirectory() || a.uid !== 0) {
    throw new Error(`${app} must be a folder owned by root (it holds the versions root starts); check what is in it, then remove it or give it to root`);
  }
  const refused: string[] = [];
  const give = (p: string) => {
    const s = lstatSync(p);
    if (s.uid !== who.uid || s.gid !== who.gid) {
      if (!s.isDirectory() && s.nlink > 1) {
        refused.push(p);
        return;
      }
      lchownSync(p, who.uid, who.gid);
    }
    if (!s.isDirectory()) return;
    for (const e of readdirSync(p)) {
      const next = join(p, e);
      if (next !== app) give(next);
    }
  };
  give(paths.dataDir);
  if (!paths.runDir.startsWith(paths.dataDir + '/')) give(paths.runDir);
  return refused;
}
