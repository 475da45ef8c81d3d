/** The auth rule for m.room.member events (rule 5 in v1/v2, 4 in v3–v11, 5 in v12). */
import type { PDU } from '../events/pdu.js';
import { serverNameOf } from '../identifiers.js';
import type { RoomVersion } from '../room-versions.js';
import { originalCreator, roomPowers, type RoomPowers } from './power-levels.js';
import { signedByAnyKey, thirdPartyInvitePublicKeys } from './third-party-invite.js';
import {
  ALLOW,
  deny,
  eventIdOf,
  isObject,
  membershipOf,
  referencedIds,
  type AuthHooks,
  type AuthResult,
  type AuthState,
} from './types.js';

const AUTHORISER_KEY = 'join_authorised_via_users_server';

interface MemberContext {
  readonly event: PDU;
  readonly state: AuthState;
  readonly version: RoomVersion;
  readonly create: PDU;
  readonly hooks: AuthHooks;
  readonly sender: string;
  readonly target: string;
  readonly powers: RoomPowers;
  readonly joinRule: string | undefined;
}

export function checkMembership(event: PDU, state: AuthState, version: RoomVersion, create: PDU, hooks: AuthHooks): AuthResult {
  const target = event.state_key;
  const membership = event.content?.membership;
  if (typeof target !== 'string') return deny('a membership event needs a state_key');
  if (typeof membership !== 'string') return deny('a membership event needs content.membership');

  if (version.restrictedJoins && Object.hasOwn(event.content, AUTHORISER_KEY)) {
    const authoriser = event.content[AUTHORISER_KEY];
    const server = typeof authoriser === 'string' && authoriser.startsWith('@') ? serverNameOf(authoriser) : undefined;
    if (server === undefined) return deny(`${AUTHORISER_KEY} is not a user id`);
    if (!isSignedBy(event, server, hooks)) return deny(`the join is not signed by ${server}, the server of ${AUTHORISER_KEY}`);
  }

  const joinRuleValue = state.get('m.room.join_rules', '')?.content?.join_rule;
  const ctx: MemberContext = {
    event,
    state,
    version,
    create,
    hooks,
    sender: event.sender,
    target,
    powers: roomPowers(create, state.get('m.room.power_levels', ''), version),
    joinRule: typeof joinRuleValue === 'string' ? joinRuleValue : undefined,
  };
  switch (membership) {
    case 'join':
      return checkJoin(ctx);
    case 'invite':
      return checkInvite(ctx);
    case 'leave':
      return checkLeave(ctx);
    case 'ban':
      return checkBan(ctx);
    case 'knock':
      if (version.knocking) return checkKnock(ctx);
      return deny('knocking is not supported by this room version');
    default:
      return deny(`unknown membership ${JSON.stringify(membership)}`);
  }
}

function isSignedBy(event: PDU, server: string, hooks: AuthHooks): boolean {
  if (hooks.isSignedBy) return hooks.isSignedBy(event, server);
  const byServer = event.signatures?.[server];
  return isObject(byServer) && Object.keys(byServer).length > 0;
}

function checkJoin(ctx: MemberContext): AuthResult {
  const { event, state, version, sender, target, joinRule } = ctx;
  // The creator's own first join, straight after the create event. The spec
  // does not repeat "sender is the joining user" here; we require it, as
  // every other join does (a join on someone else's behalf is never valid).
  const prevs = referencedIds(event.prev_events);
  const createId = eventIdOf(ctx.create, ctx.hooks);
  if (
    prevs.length === 1 &&
    createId !== undefined &&
    prevs[0] === createId &&
    target === originalCreator(ctx.create, version) &&
    sender === target
  ) {
    return ALLOW;
  }
  if (sender !== target) return deny('a user can only join themselves');
  const current = membershipOf(state, target);
  if (current === 'ban') return deny(`${target} is banned`);

  if (joinRule === 'invite' || (version.knocking && joinRule === 'knock')) {
    return current === 'invite' || current === 'join' ? ALLOW : deny(`join rule ${joinRule} needs an invite`);
  }
  if ((version.restrictedJoins && joinRule === 'restricted') || (version.knockRestricted && joinRule === 'knock_restricted')) {
    if (current === 'invite' || current === 'join') return ALLOW;
    const authoriser = event.content[AUTHORISER_KEY];
    if (typeof authoriser !== 'string') return deny(`join rule ${joinRule} needs an invite or ${AUTHORISER_KEY}`);
    if (membershipOf(state, authoriser) !== 'join') return deny(`authorising user ${authoriser} is not joined`);
    if (ctx.powers.userLevel(authoriser) < ctx.powers.level('invite')) {
      return deny(`authorising user ${authoriser} cannot invite`);
    }
    return ALLOW;
  }
  if (joinRule === 'public') return ALLOW;
  return deny(`join rule ${joinRule ?? '(none)'} does not allow joining`);
}

function checkInvite(ctx: MemberContext): AuthResult {
  const { event, state, sender, target, powers } = ctx;
  if (Object.hasOwn(event.content, 'third_party_invite')) return checkThirdPartyInvite(ctx);
  if (membershipOf(state, sender) !== 'join') return deny(`inviter ${sender} is not joined`);
  const targetMembership = membershipOf(state, target);
  if (targetMembership === 'join' || targetMembership === 'ban') return deny(`${target} is already ${targetMembership === 'ban' ? 'banned' : 'joined'}`);
  if (powers.userLevel(sender) >= powers.level('invite')) return ALLOW;
  return deny(`${sender} is below the invite level`);
}

function checkThirdPartyInvite(ctx: MemberContext): AuthResult {
  const { event, state, sender, target } = ctx;
  if (membershipOf(state, target) === 'ban') return deny(`${target} is banned`);
  const invite = event.content.third_party_invite;
  const signed = isObject(invite) ? invite.signed : undefined;
  if (!isObject(signed)) return deny('third_party_invite has no signed object');
  const { mxid, token } = signed;
  if (typeof mxid !== 'string' || typeof token !== 'string') return deny('third_party_invite.signed needs mxid and token');
  if (mxid !== target) return deny('third_party_invite.signed.mxid is not the invited user');
  const inviteEvent = state.get('m.room.third_party_invite', token);
  if (!inviteEvent) return deny(`no m.room.third_party_invite for token ${token}`);
  if (inviteEvent.sender !== sender) return deny('the sender did not send the m.room.third_party_invite');
  if (signedByAnyKey(signed, thirdPartyInvitePublicKeys(inviteEvent.content))) return ALLOW;
  return deny('third_party_invite.signed is not signed by any of the invite public keys');
}

function checkLeave(ctx: MemberContext): AuthResult {
  const { state, version, sender, target, powers } = ctx;
  const targetMembership = membershipOf(state, target);
  if (sender === target) {
    const canLeave =
      targetMembership === 'invite' || targetMembership === 'join' || (version.knocking && targetMembership === 'knock');
    return canLeave ? ALLOW : deny(`${target} cannot leave from membership ${targetMembership ?? '(none)'}`);
  }
  if (membershipOf(state, sender) !== 'join') return deny(`${sender} is not joined`);
  const senderLevel = powers.userLevel(sender);
  if (targetMembership === 'ban' && senderLevel < powers.level('ban')) return deny(`${sender} is below the ban level to unban`);
  if (senderLevel >= powers.level('kick') && powers.userLevel(target) < senderLevel) return ALLOW;
  return deny(`${sender} cannot kick ${target}`);
}

function checkBan(ctx: MemberContext): AuthResult {
  const { state, sender, target, powers } = ctx;
  if (membershipOf(state, sender) !== 'join') return deny(`${sender} is not joined`);
  const senderLevel = powers.userLevel(sender);
  if (senderLevel >= powers.level('ban') && powers.userLevel(target) < senderLevel) return ALLOW;
  return deny(`${sender} cannot ban ${target}`);
}

function checkKnock(ctx: MemberContext): AuthResult {
  const { state, version, sender, target, joinRule } = ctx;
  if (joinRule !== 'knock' && !(version.knockRestricted && joinRule === 'knock_restricted')) {
    return deny(`join rule ${joinRule ?? '(none)'} does not allow knocking`);
  }
  if (sender !== target) return deny('a user can only knock for themselves');
  const current = membershipOf(state, sender);
  if (current === 'ban' || current === 'invite' || current === 'join') return deny(`${sender} cannot knock while ${current}`);
  return ALLOW;
}
