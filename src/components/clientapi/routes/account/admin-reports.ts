/**
 * Synapse's event report admin API, as synapse-admin uses it:
 * GET /_synapse/admin/v1/event_reports (from, limit: offsets),
 * GET and DELETE /_synapse/admin/v1/event_reports/{reportId}. Only reports
 * of events; room and user reports are in the dashboard's list.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import type { ContentReport } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { ADMIN_V1, requireAdmin } from './admin-registration-tokens.js';
import { paramsOf, queryOf } from './common.js';

function offset(q: Record<string, unknown>, name: string, fallback: number): number {
  const v = q[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be a whole number`);
  return Number(v);
}

/** A report as Synapse lists it: `user_id` is the reporter, `sender` the reported event's sender. */
const synapseReport = (r: ContentReport) => ({
  id: r.id,
  received_ts: r.received_ts,
  room_id: r.room_id,
  event_id: r.event_id,
  user_id: r.reporter,
  sender: r.user_id ?? null,
  reason: r.reason,
  score: null,
});

export const adminReportRoutes: ClientRoutes = (app, cctx) => {
  const admin = { preHandler: [cctx.auth.required, async (request: FastifyRequest) => requireAdmin(request)] };
  const base = `${ADMIN_V1}/event_reports`;
  const eventReport = async (request: FastifyRequest) => {
    const r = await cctx.userapi.queryReport({ id: paramsOf(request).reportId ?? '' });
    if (!r || r.kind !== 'event') throw new MatrixError(404, 'M_NOT_FOUND', 'There is no such event report');
    return r;
  };

  app.get(base, admin, async (request) => {
    const q = queryOf(request);
    const list = await cctx.userapi.listReports({ kind: 'event', from: offset(q, 'from', 0), limit: Math.min(offset(q, 'limit', 100), 100) });
    return { event_reports: list.reports.map(synapseReport), total: list.total, ...(list.next !== undefined ? { next_token: list.next } : {}) };
  });
  app.get(`${base}/:reportId`, admin, async (request) => synapseReport(await eventReport(request)));
  app.delete(`${base}/:reportId`, admin, async (request) => {
    await cctx.userapi.dismissReport({ id: (await eventReport(request)).id });
    return {};
  });
};
