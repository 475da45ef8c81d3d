/**
 * Reports of rooms, events and users (client-server API "Reporting
 * content"): kept until an administrator dismisses them in the dashboard
 * or through Synapse's admin API. Keys sort by arrival, so the list is in
 * the order reports came in. (A family server sees a handful: a page is a
 * slice of the whole list.)
 */
import { randomBytes } from 'node:crypto';
import { MatrixError } from '../../core/errors.js';
import type { ContentReport, NewContentReport } from './api.js';
import type { UserServices } from './services.js';
import { del, keys, put } from './storage.js';
import { prefixRange } from '../../platform/storage/keys.js';

/** What a reason may hold: a paragraph, not a file. */
export const MAX_REASON_LENGTH = 2000;
export const MAX_REPORTS_PAGE = 100;

export class Reports {
  constructor(private readonly svc: UserServices) {}

  async add(r: NewContentReport): Promise<{ id: string }> {
    if (typeof r.reason !== 'string' || r.reason.length > MAX_REASON_LENGTH) throw new MatrixError(400, 'M_INVALID_PARAM', `The reason is a text of at most ${MAX_REASON_LENGTH} characters`);
    const received_ts = this.svc.now();
    // Arrival time first (fixed width, so it sorts), then randomness against two reports in one millisecond.
    const id = `${String(received_ts).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
    const record: ContentReport = { ...r, id, received_ts };
    await this.svc.storage.db.write([put(keys.report(id), record)], { durable: true });
    return { id };
  }

  /** Oldest first, from an offset (the `next` of the page before), as Synapse's admin API pages. */
  async list(req: { from?: number; limit?: number; kind?: ContentReport['kind'] }): Promise<{ reports: ContentReport[]; total: number; next?: number }> {
    const limit = Math.max(1, Math.min(req.limit ?? 50, MAX_REPORTS_PAGE));
    const from = Math.max(0, req.from ?? 0);
    const all = (await this.svc.storage.db.entries<ContentReport>(prefixRange('report'))).map(([, v]) => v).filter((r) => !req.kind || r.kind === req.kind);
    const page = all.slice(from, from + limit);
    return { reports: page, total: all.length, ...(from + limit < all.length ? { next: from + limit } : {}) };
  }

  async get(id: string): Promise<ContentReport | null> {
    return (await this.svc.storage.db.get<ContentReport>(keys.report(id))) ?? null;
  }

  async dismiss(id: string): Promise<void> {
    if (!(await this.get(id))) throw new MatrixError(404, 'M_NOT_FOUND', 'There is no such report');
    await this.svc.storage.db.write([del(keys.report(id))], { durable: true });
  }
}
