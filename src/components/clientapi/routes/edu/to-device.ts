/** PUT /sendToDevice/{eventType}/{txnId}: messages to devices, idempotent by transaction (guests too, per the guest access module). */
import type { ClientRoutes } from '../types.js';
import { body, memberOwner, params, routeOpts, V3 } from './common.js';

export const toDeviceRoutes: ClientRoutes = (app, cctx) => {
  app.put(`${V3}/sendToDevice/:eventType/:txnId`, routeOpts(cctx, 'PUT /sendToDevice/{eventType}/{txnId}'), async (request) => {
    const owner = memberOwner(request, true);
    const p = params(request);
    cctx.limit('default', owner.user_id);
    await cctx.eduserver.sendToDevice({
      sender: owner.user_id,
      sender_device: owner.device_id,
      type: p.eventType!,
      txn_id: p.txnId!,
      messages: body(request).messages as Record<string, Record<string, Record<string, unknown>>>,
    });
    return {};
  });
};
