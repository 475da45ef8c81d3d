/**
 * Drives the setup port's pages as a browser without JavaScript would, or
 * with `Accept: application/json` as the tests mostly do: a cookie jar, the
 * CSRF token, form posts.
 */
export class SetupClient {
  cookie = '';
  csrf = '';

  constructor(readonly base: string) {}

  async request(method: string, path: string, body?: Record<string, string>, opts: { json?: boolean; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.cookie) headers.cookie = this.cookie;
    if (opts.json !== false) headers.accept = 'application/json';
    let payload: string | undefined;
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(body).toString();
    }
    const r = await fetch(this.base + path, { method, headers, body: payload, redirect: 'manual' });
    const set = r.headers.get('set-cookie');
    if (set) {
      const v = /neurite_session=([^;]*)/.exec(set)?.[1] ?? '';
      this.cookie = v ? `neurite_session=${v}` : '';
    }
    const text = await r.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json?.csrf) this.csrf = json.csrf;
    return { status: r.status, headers: r.headers, text, json };
  }

  get(path: string, opts: { json?: boolean } = {}) {
    return this.request('GET', path, undefined, opts);
  }

  /** A change: the session's CSRF token is added unless the test says otherwise. */
  post(path: string, form: Record<string, string> = {}, opts: { csrf?: string | null; json?: boolean; headers?: Record<string, string> } = {}) {
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    return this.request('POST', path, { ...(csrf !== null ? { csrf } : {}), ...form }, opts);
  }
}

export function readCode(dataDir: string, readFile: (p: string) => string): string {
  return readFile(`${dataDir}/setup-code.txt`).trim();
}
