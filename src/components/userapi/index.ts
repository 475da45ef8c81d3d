/**
 * UserAPI: accounts, devices and tokens, profiles, account data, filters,
 * push rules, pushers and the user directory, in the component's own
 * database. The ClientAPI serves the endpoints.
 */
import { MatrixError } from '../../core/errors.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { Accounts } from './accounts.js';
import { userApi, type UiaState, type UserAPI } from './api.js';
import { KeyedMutex } from './mutex.js';
import { RegistrationTokens } from './registration-tokens.js';
import type { UserServices } from './services.js';
import { Sessions } from './sessions.js';
import { UserStorage } from './storage.js';
import { accountDataChanges, deviceChanges, userChanges } from './topics.js';
import { UiaSessions, type UiaSession } from './uia-sessions.js';

const uiaState = (s: UiaSession): UiaState => ({ session: s.id, flows: s.flows, params: s.params, completed: [...s.completed] });

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const db = await ctx.openDatabase();
  const storage = new UserStorage(db);
  const producer = await ctx.openProducer(db, [accountDataChanges, deviceChanges, userChanges]);
  const svc: UserServices = { serverName: ctx.config.server_name, storage, producer, locks: new KeyedMutex(), now: Date.now };
  const sessions = new Sessions(svc);
  const accounts = new Accounts(svc, sessions);
  const tokens = new RegistrationTokens(svc);
  const uia = new UiaSessions(svc.now, (token) => tokens.release(token));

  const api: UserAPI = {
    queryAccessToken: (req) => sessions.queryAccessToken(req),
    queryProfile: (req) => accounts.profile(req.user_id),
    createAccount: async (req) => {
      // The session stays until the account exists: a failed attempt may be retried under it.
      const session = req.uia_session !== undefined ? uia.get(req.uia_session, 'register') : undefined;
      if (req.uia_session !== undefined && !session) throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired auth session');
      const token = session?.registration_token;
      const created = await accounts.create(req, token !== undefined ? (ops) => tokens.useReserved(token, ops) : undefined);
      if (session) uia.finish(session.id);
      return created;
    },
    checkUsernameAvailable: async (req) => {
      await accounts.checkUsernameAvailable(req.username);
    },
    loginWithPassword: (req) => accounts.loginWithPassword(req.user, req.password, req.login),
    refreshToken: (req) => sessions.refresh(req),
    deleteDevices: async (req) => ({ deleted: await sessions.deleteDevices(req.user_id, req.device_ids) }),
    deleteAllDevices: async (req) => ({ deleted: await sessions.deleteDevices(req.user_id, 'all', req.except_device_id) }),
    checkPassword: async (req) => ({ user_id: (await accounts.checkPassword(req.user, req.password)).user_id }),

    uiaBegin: async (req) => uiaState(uia.begin(req.bound, req.flows, req.params ?? {})),
    uiaQuery: async (req) => uiaState(uia.require(req.session, req.bound)),
    uiaComplete: async (req) => {
      const s = uia.require(req.session, req.bound);
      if (req.stage === 'm.login.registration_token' && !s.completed.includes(req.stage)) {
        if (typeof req.token !== 'string' || !(await tokens.reserve(req.token))) {
          throw new MatrixError(401, 'M_UNAUTHORIZED', 'Invalid registration token');
        }
        s.registration_token = req.token;
      }
      uia.complete(s.id, req.bound, req.stage);
      return uiaState(s);
    },
    uiaFinish: async (req) => {
      uia.finish(req.session);
    },

    registrationTokenValid: async (req) => ({ valid: await tokens.valid(req.token) }),
    listRegistrationTokens: async (req) => ({ registration_tokens: await tokens.list(req.valid) }),
    getRegistrationToken: (req) => tokens.get(req.token),
    createRegistrationToken: (req) => tokens.create(req),
    updateRegistrationToken: ({ token, ...changes }) => tokens.update(token, changes),
    deleteRegistrationToken: (req) => tokens.delete(req.token),
  };
  ctx.apis.provide(userApi, api);
  return {};
}
