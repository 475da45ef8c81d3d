/**
 * Push rules: GET /pushrules/, /pushrules/global/ and /pushrules/global/{kind}/, and the rule
 * endpoints under /pushrules/global/{kind}/{ruleId} (the rule, enabled,
 * actions; PUT with before/after, DELETE). The UserAPI keeps the rules.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { PushRuleKind } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, paramsOf, queryOf, V3 } from './common.js';

const KINDS = new Set(['override', 'underride', 'sender', 'room', 'content']);

/**
 * The rule a path names. A kind this server does not know (one from an MSC,
 * say) holds no rule: reading or changing one there is 404, as for any
 * missing rule; creating one there is 400.
 */
function rulePath(request: FastifyRequest, creating = false): { user_id: string; kind: PushRuleKind; rule_id: string } {
  const owner = fullUser(request);
  const p = paramsOf(request);
  if (!KINDS.has(p.kind!)) {
    if (creating) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown push rule kind ${p.kind}`);
    throw new MatrixError(404, 'M_NOT_FOUND', `No push rule ${p.ruleId} of kind ${p.kind}`);
  }
  return { user_id: owner.user_id, kind: p.kind as PushRuleKind, rule_id: p.ruleId! };
}

export const pushRuleRoutes: ClientRoutes = (app, cctx) => {
  const auth = { preHandler: cctx.auth.required };
  const rule = `${V3}/pushrules/global/:kind/:ruleId`;

  app.get(`${V3}/pushrules/`, auth, async (request) => ({ global: await cctx.userapi.queryPushRules({ user_id: fullUser(request).user_id }) }));
  app.get(`${V3}/pushrules/global/`, auth, async (request) => cctx.userapi.queryPushRules({ user_id: fullUser(request).user_id }));

  // Not in the spec (it was in r0's): the rules of one kind, in order. Synapse still answers it and SyTest reads it.
  app.get(`${V3}/pushrules/global/:kind/`, auth, async (request) => {
    const kind = paramsOf(request).kind!;
    if (!KINDS.has(kind)) throw new MatrixError(404, 'M_NOT_FOUND', `No push rules of kind ${kind}`);
    return (await cctx.userapi.queryPushRules({ user_id: fullUser(request).user_id }))[kind as PushRuleKind] ?? [];
  });
  app.get(rule, auth, async (request) => cctx.userapi.queryPushRule(rulePath(request)));

  app.put(rule, { ...auth, preValidation: specBody('client-server', 'PUT /pushrules/global/{kind}/{ruleId}') }, async (request) => {
    const b = bodyOf(request);
    const q = queryOf(request);
    await cctx.userapi.putPushRule({
      ...rulePath(request, true),
      rule: { actions: b.actions, ...(b.conditions !== undefined ? { conditions: b.conditions } : {}), ...(b.pattern !== undefined ? { pattern: b.pattern } : {}) },
      ...(typeof q.before === 'string' ? { before: q.before } : {}),
      ...(typeof q.after === 'string' ? { after: q.after } : {}),
    });
    return {};
  });

  app.delete(rule, auth, async (request) => {
    await cctx.userapi.deletePushRule(rulePath(request));
    return {};
  });

  app.get(`${rule}/enabled`, auth, async (request) => ({ enabled: (await cctx.userapi.queryPushRule(rulePath(request))).enabled }));
  app.put(`${rule}/enabled`, { ...auth, preValidation: specBody('client-server', 'PUT /pushrules/global/{kind}/{ruleId}/enabled') }, async (request) => {
    await cctx.userapi.setPushRuleEnabled({ ...rulePath(request), enabled: bodyOf(request).enabled as boolean });
    return {};
  });

  app.get(`${rule}/actions`, auth, async (request) => ({ actions: (await cctx.userapi.queryPushRule(rulePath(request))).actions }));
  app.put(`${rule}/actions`, { ...auth, preValidation: specBody('client-server', 'PUT /pushrules/global/{kind}/{ruleId}/actions') }, async (request) => {
    await cctx.userapi.setPushRuleActions({ ...rulePath(request), actions: bodyOf(request).actions });
    return {};
  });
};
