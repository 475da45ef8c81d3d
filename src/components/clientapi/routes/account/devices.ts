/**
 * Device management: GET /devices, GET/PUT/DELETE /devices/{deviceId},
 * POST /delete_devices. Deleting needs the user's password (UIA).
 */
import { MatrixError } from '../../../../core/errors.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { DeviceInfo } from '../../../userapi/api.js';
import { ownerOf } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, paramsOf, specBodyOrEmpty, V3 } from './common.js';
import { interactiveAuth } from './uia.js';

const PASSWORD_FLOWS = [['m.login.password']];

/** The spec's `Device`: the user agent is for admins (whois), not the device list. */
function clientDevice({ last_seen_user_agent: _ua, ...device }: DeviceInfo): Omit<DeviceInfo, 'last_seen_user_agent'> {
  return device;
}

export const deviceRoutes: ClientRoutes = (app, cctx) => {
  const auth = { preHandler: cctx.auth.required };

  app.get(`${V3}/devices`, auth, async (request) => ({ devices: (await cctx.userapi.queryDevices({ user_id: ownerOf(request).user_id })).devices.map(clientDevice) }));

  app.get(`${V3}/devices/:deviceId`, auth, async (request) => {
    const device = await cctx.userapi.queryDevice({ user_id: ownerOf(request).user_id, device_id: paramsOf(request).deviceId! });
    if (!device) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown device');
    return clientDevice(device);
  });

  app.put(`${V3}/devices/:deviceId`, { ...auth, preValidation: specBody('client-server', 'PUT /devices/{deviceId}') }, async (request) => {
    const b = bodyOf(request);
    await cctx.userapi.updateDevice({
      user_id: ownerOf(request).user_id,
      device_id: paramsOf(request).deviceId!,
      ...(typeof b.display_name === 'string' ? { display_name: b.display_name } : {}),
    });
    return {};
  });

  app.delete(`${V3}/devices/:deviceId`, { ...auth, preValidation: specBodyOrEmpty('DELETE /devices/{deviceId}') }, async (request) => {
    const owner = fullUser(request);
    const deviceId = paramsOf(request).deviceId!;
    const session = await interactiveAuth(cctx, request, bodyOf(request).auth, {
      bound: `DELETE /devices/${deviceId} ${owner.user_id}`,
      flows: PASSWORD_FLOWS,
      userId: owner.user_id,
    });
    await cctx.userapi.deleteDevices({ user_id: owner.user_id, device_ids: [deviceId] });
    await cctx.userapi.uiaFinish({ session });
    return {};
  });

  app.post(`${V3}/delete_devices`, { ...auth, preValidation: specBody('client-server', 'POST /delete_devices') }, async (request) => {
    const owner = fullUser(request);
    const b = bodyOf(request);
    const devices = b.devices as string[];
    const session = await interactiveAuth(cctx, request, b.auth, {
      bound: `POST /delete_devices ${owner.user_id} ${JSON.stringify([...devices].sort())}`,
      flows: PASSWORD_FLOWS,
      userId: owner.user_id,
    });
    await cctx.userapi.deleteDevices({ user_id: owner.user_id, device_ids: devices });
    await cctx.userapi.uiaFinish({ session });
    return {};
  });
};
