/**
 * UserAPI: accounts, devices and tokens, profiles, account data, filters,
 * push rules, pushers and the user directory, in the component's own
 * database. The ClientAPI serves the endpoints.
 */
import { MatrixError } from '../../core/errors.js';
import { forgetTokensApi, runsHereOrNowhere, TOKEN_CACHES } from '../../platform/http/token-cache.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { roomserverApi } from '../roomserver/api.js';
import { AccountData } from './account-data.js';
import { Accounts } from './accounts.js';
import { AdminUsers } from './admin-users.js';
import { userApi, type UiaState, type UserAPI } from './api.js';
import { Filters } from './filters.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import { PushRules } from './push-rules/store.js';
import * as rules from './push-rules/ruleset.js';
import { Pushers } from './pushers.js';
import { RegistrationTokens } from './registration-tokens.js';
import { ExpiredPurge } from './expired.js';
import { applyUserChanges } from './room-membership.js';
import { requireLocal, type UserServices } from './services.js';
import { Sessions } from './sessions.js';
import { UserStorage } from './storage.js';
import { accountDataChanges, deviceChanges, userChanges, type UserChange } from './topics.js';
import { UiaSessions, type UiaSession } from './uia-sessions.js';
import { UserDirectory } from './user-directory.js';
import { OpenIdTokens } from './openid.js';
import { Reports } from './reports.js';

const uiaState = (s: UiaSession): UiaState => ({ session: s.id, flows: s.flows, params: s.params, completed: [...s.completed], ...(s.result !== undefined ? { finished: true as const } : {}) });

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const db = await ctx.openDatabase();
  const storage = new UserStorage(db);
  const producer = await ctx.openProducer(db, [accountDataChanges, deviceChanges, userChanges]);
  const svc: UserServices = { serverName: ctx.config.server_name, storage, producer, locks: new KeyedQueue(), now: Date.now };
  const sessions = new Sessions(svc);
  const caches = TOKEN_CACHES.filter((c) => !runsHereOrNowhere(ctx.apis, c)).map((c) => ctx.apis.get(forgetTokensApi(c)));
  if (caches.length > 0) {
    // They keep token answers for a moment (platform/http/token-cache.ts): they forget them before a revocation is answered.
    sessions.onForget = async () => {
      await Promise.all(
        caches.map((c) => c.forgetTokens({}).catch((err: unknown) => ctx.logger.warn({ err }, 'a component could not be told to forget token answers; it keeps them at most a second'))),
      );
    };
  }
  const accounts = new Accounts(svc, sessions);
  const tokens = new RegistrationTokens(svc);
  const uia = new UiaSessions(svc.now, (token) => tokens.release(token));
  const pushRules = new PushRules(svc);
  const accountData = new AccountData(svc, async (userId, roomId, type) =>
    roomId === '' && type === 'm.push_rules' ? { global: await pushRules.ruleset(userId) } : undefined,
  );
  const filters = new Filters(svc);
  const pushers = new Pushers(svc);
  const directory = new UserDirectory(svc);
  const admins = new AdminUsers(svc, sessions);
  const expired = new ExpiredPurge(svc, sessions, uia);
  const openId = new OpenIdTokens(db, svc.now);
  const reports = new Reports(svc);
  const local = (userId: string) => {
    requireLocal(svc.serverName, userId);
    return userId;
  };
  const kind = (k: string) => {
    if (!rules.isPushRuleKind(k)) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown push rule kind ${k}`);
    return k;
  };

  const api: UserAPI = {
    queryAccessToken: (req) => sessions.queryAccessToken(req),
    queryProfile: (req) => accounts.profile(req.user_id),
    createAccount: async (req) => {
      // The session stays until the account exists: a failed attempt may be retried under it.
      const session = req.uia_session !== undefined ? uia.get(req.uia_session, 'register') : undefined;
      if (req.uia_session !== undefined && !session) throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired auth session');
      if (session?.result !== undefined) return session.result as Awaited<ReturnType<UserAPI['createAccount']>>;
      const token = session?.registration_token;
      const created = await accounts.create(req, token !== undefined ? (ops) => tokens.useReserved(token, ops) : undefined);
      if (session) uia.finish(session.id, created);
      return created;
    },
    checkUsernameAvailable: async (req) => {
      await accounts.checkUsernameAvailable(req.username);
    },
    loginWithPassword: (req) => accounts.loginWithPassword(req.user, req.password, req.login),
    refreshToken: (req) => sessions.refresh(req),
    deleteDevices: async (req) => ({ deleted: await sessions.deleteDevices(local(req.user_id), req.device_ids) }),
    deleteAllDevices: async (req) => ({ deleted: await sessions.deleteDevices(local(req.user_id), 'all', req.except_device_id) }),
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

    setPassword: (req) => accounts.setPassword(local(req.user_id), req.new_password, req.logout_devices, req.keep_device_id),
    deactivateAccount: (req) =>
      admins.deactivateUnlessLastAdmin(local(req.user_id), () => accounts.deactivate(req.user_id, req.erase === true, (ops) => pushers.deleteAll(req.user_id, ops))),
    queryProfileFields: (req) => accounts.profileFields(req.user_id),
    setProfileField: (req) => accounts.setProfileField(local(req.user_id), req.field, req.value),

    queryDevices: async (req) => ({ devices: await sessions.devices(req.user_id) }),
    queryDevice: (req) => sessions.device(req.user_id, req.device_id),
    updateDevice: (req) => sessions.updateDevice(req.user_id, req.device_id, req.display_name),

    setAccountData: (req) => accountData.set(local(req.user_id), req.room_id, req.type, req.content, req.read_marker === true),
    queryAccountData: async (req) => {
      const content = await accountData.get(req.user_id, req.room_id, req.type);
      return content ? { content } : null;
    },
    queryAllAccountData: (req) => accountData.all(req.user_id),

    putFilter: async (req) => ({ filter_id: await filters.put(local(req.user_id), req.filter) }),
    queryFilter: (req) => filters.get(req.user_id, req.filter_id),

    queryPushRules: (req) => pushRules.ruleset(req.user_id),
    queryPushRule: (req) => pushRules.rule(req.user_id, kind(req.kind), req.rule_id),
    putPushRule: (req) =>
      pushRules.change(local(req.user_id), (s) =>
        rules.putRule(s, kind(req.kind), req.rule_id, req.rule, { ...(req.before !== undefined ? { before: req.before } : {}), ...(req.after !== undefined ? { after: req.after } : {}) }),
      ),
    deletePushRule: (req) => pushRules.change(local(req.user_id), (s) => rules.deleteRule(s, kind(req.kind), req.rule_id)),
    setPushRuleEnabled: (req) => pushRules.change(local(req.user_id), (s) => rules.setEnabled(req.user_id, s, kind(req.kind), req.rule_id, req.enabled)),
    setPushRuleActions: (req) => pushRules.change(local(req.user_id), (s) => rules.setActions(req.user_id, s, kind(req.kind), req.rule_id, req.actions)),

    setPusher: (req) => pushers.set(local(req.user_id), req.device_id, req.pusher, req.append === true),
    queryPushers: async (req) => ({ pushers: await pushers.list(req.user_id) }),

    searchUserDirectory: (req) => directory.search(req.search_term, req.limit),

    registrationTokenValid: async (req) => ({ valid: await tokens.valid(req.token) }),
    listRegistrationTokens: async (req) => ({ registration_tokens: await tokens.list(req.valid) }),
    getRegistrationToken: (req) => tokens.get(req.token),
    createRegistrationToken: (req) => tokens.create(req),
    updateRegistrationToken: ({ token, ...changes }) => tokens.update(token, changes),
    deleteRegistrationToken: (req) => tokens.delete(req.token),

    listUsers: (req) => admins.list(req ?? {}),
    queryUser: (req) => admins.get(req.user_id),
    setUserAdmin: (req) => {
      if (typeof req.admin !== 'boolean') throw new MatrixError(400, 'M_INVALID_PARAM', 'admin must be true or false');
      return admins.setAdmin(local(req.user_id), req.admin);
    },
    purgeExpired: (req) => expired.purge(req ?? {}),

    setUserModeration: (req) => admins.setModeration(local(req.user_id), req.by, { ...(req.locked !== undefined ? { locked: req.locked } : {}), ...(req.suspended !== undefined ? { suspended: req.suspended } : {}) }),
    addReport: (req) => reports.add(req),
    listReports: (req) => reports.list(req ?? {}),
    queryReport: (req) => reports.get(req.id),
    dismissReport: (req) => reports.dismiss(req.id),

    createOpenIdToken: (req) => openId.create(local(req.user_id)),
    queryOpenIdToken: async (req) => {
      if (typeof req.token !== 'string' || req.token === '') return null;
      const user_id = await openId.owner(req.token);
      return user_id ? { user_id } : null;
    },
  };
  // The transports turn a method that throws before its first await into a rejection (platform/ipc).
  ctx.apis.provide(userApi, api);

  // Profile changes and deactivations reach the user's rooms through the log (room-membership.ts).
  await ctx.startConsumer<UserChange>({
    topic: userChanges,
    name: 'userapi.room_membership',
    db,
    // Looked up per batch: a process without a roomserver anywhere (tests) must still start.
    handle: async (batch) => {
      await applyUserChanges(() => ctx.apis.get(roomserverApi), batch, ctx.logger);
      return [];
    },
  });
  return {};
}
