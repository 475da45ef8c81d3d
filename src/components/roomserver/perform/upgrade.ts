/**
 * Room upgrades (client-server API "Room upgrades", server behaviour): a new
 * room of the requested version that names its predecessor, the old room's
 * transferable state and bans copied over, a tombstone in the old room, and
 * the old room's power levels raised so that nobody keeps talking there.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { roomPowers } from '../../../core/auth/power-levels.js';
import { MatrixError } from '../../../core/errors.js';
import { roomVersion, type RoomVersion } from '../../../core/room-versions.js';
import type { CreateRoomRequest, RoomEvent, SendEventRequest, UpgradeRequest } from '../api.js';

/** State worth carrying over (the spec's recommended list). Memberships and sender-bound state are not. */
const TRANSFERABLE = [
  'm.room.server_acl',
  'm.room.encryption',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.guest_access',
  'm.room.history_visibility',
  'm.room.join_rules',
];

export interface UpgradeDeps {
  roomVersionOf(roomId: string): Promise<string | undefined>;
  latest(roomId: string): Promise<string[]>;
  currentState(roomId: string): Promise<RoomEvent[]>;
  createRoom(req: CreateRoomRequest): Promise<{ room_id: string }>;
  send(req: SendEventRequest): Promise<{ event_id: string }>;
}

export async function performUpgrade(deps: UpgradeDeps, req: UpgradeRequest): Promise<{ replacement_room: string }> {
  const oldVersionId = await deps.roomVersionOf(req.room_id);
  if (!oldVersionId) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${req.room_id}`);
  const oldVersion = roomVersion(oldVersionId)!;
  const newVersion = roomVersion(req.new_version);
  if (!newVersion) throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${req.new_version} is not supported`);

  const state = await deps.currentState(req.room_id);
  const get = (type: string) => state.find((e) => e.pdu.type === type && e.pdu.state_key === '');
  const create = get('m.room.create');
  const powerLevels = get('m.room.power_levels');
  const powers = roomPowers(create?.pdu, powerLevels?.pdu, oldVersion);
  if (state.find((e) => e.pdu.type === 'm.room.member' && e.pdu.state_key === req.user_id)?.pdu.content.membership !== 'join') {
    throw new MatrixError(403, 'M_FORBIDDEN', 'You are not in the room');
  }
  if (powers.userLevel(req.user_id) < powers.eventLevel('m.room.tombstone', true)) {
    throw new MatrixError(403, 'M_FORBIDDEN', 'You may not upgrade this room: it needs the power to send m.room.tombstone');
  }

  // From v12 on the predecessor's event_id may be left out (spec 1.16) and is, as Synapse leaves it out (Complement
  // checks): the room id alone names the old room. Before v12 it is still the last event known there.
  const predecessor: JsonObject = { room_id: req.room_id };
  if (!newVersion.privilegedCreators) {
    const latest = await deps.latest(req.room_id);
    predecessor.event_id = latest[latest.length - 1]!;
  }
  const creation: JsonObject = { predecessor };
  const roomType = create?.pdu.content.type;
  if (typeof roomType === 'string') creation.type = roomType;
  if (newVersion.privilegedCreators && req.additional_creators?.length) creation.additional_creators = req.additional_creators;
  // A room kept off federation stays off it (as Synapse keeps it; federation may not be undone later).
  if (create?.pdu.content['m.federate'] === false) creation['m.federate'] = false;

  const carried = powerLevels ? carriedPowerLevels(powerLevels.pdu.content, req, newVersion, powers.userLevel(req.user_id)) : undefined;
  // Anyone who may send the tombstone may upgrade: one below the top level (a moderator) is lifted to it
  // while the new room is set up, so that the copied state can be sent, and put back after.
  const setUp = carried && !newVersion.privilegedCreators ? liftedFor(carried, req.user_id) : carried;
  const { room_id: replacement } = await deps.createRoom({
    creator: req.user_id,
    room_version: newVersion.id,
    preset: 'private_chat',
    creation_content: creation,
    ...(setUp ? { power_level_content_override: setUp } : {}),
    initial_state: TRANSFERABLE.map(get)
      .filter((e): e is RoomEvent => e !== undefined)
      .map((e) => ({ type: e.pdu.type, state_key: '', content: e.pdu.content })),
  });
  // Whoever was banned stays banned: the upgrader sends the bans (no one is impersonated, which is why
  // the spec leaves memberships behind), as Synapse does, before the power levels are put back.
  for (const ban of state.filter((e) => e.pdu.type === 'm.room.member' && e.pdu.content.membership === 'ban' && typeof e.pdu.state_key === 'string')) {
    const reason = ban.pdu.content.reason;
    await deps.send({ room_id: replacement, sender: req.user_id, type: 'm.room.member', state_key: ban.pdu.state_key!, content: { membership: 'ban', ...(typeof reason === 'string' ? { reason } : {}) } });
  }
  if (carried && setUp !== carried) {
    await deps.send({ room_id: replacement, sender: req.user_id, type: 'm.room.power_levels', state_key: '', content: carried });
  }

  await deps.send({
    room_id: req.room_id,
    sender: req.user_id,
    type: 'm.room.tombstone',
    state_key: '',
    content: { body: 'This room has been replaced', replacement_room: replacement },
  });

  // Quieten the old room where the upgrader may; where not, the tombstone says enough.
  if (powerLevels) {
    const old = powerLevels.pdu.content as { users_default?: unknown };
    const usersDefault = typeof old.users_default === 'number' ? old.users_default : 0;
    const restricted = Math.max(50, usersDefault + 1);
    await deps
      .send({
        room_id: req.room_id,
        sender: req.user_id,
        type: 'm.room.power_levels',
        state_key: '',
        content: { ...powerLevels.pdu.content, events_default: restricted, invite: restricted },
      })
      .catch(() => undefined);
  }
  return { replacement_room: replacement };
}

/** The power levels with `userId` at the highest level any of them names, or the same object when already there. */
function liftedFor(content: JsonObject, userId: string): JsonObject {
  const levels: number[] = [];
  const collect = (v: unknown) => {
    if (typeof v === 'number') levels.push(v);
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const x of Object.values(v)) collect(x);
  };
  collect(content);
  const top = Math.max(100, ...levels);
  const users = (content.users as JsonObject | undefined) ?? {};
  const own = typeof users[userId] === 'number' ? (users[userId] as number) : typeof content.users_default === 'number' ? content.users_default : 0;
  return own >= top ? content : { ...content, users: { ...users, [userId]: top } };
}

/**
 * The old room's power levels for the new room: creators of a v12+ room are
 * not listed (they have infinite power); in earlier versions the upgrader
 * keeps at least the level they had, so they can finish setting it up.
 */
function carriedPowerLevels(content: JsonObject, req: UpgradeRequest, to: RoomVersion, upgraderLevel: number): JsonObject {
  const users = { ...((content.users as JsonObject | undefined) ?? {}) };
  if (to.privilegedCreators) {
    delete users[req.user_id];
    for (const c of req.additional_creators ?? []) delete users[c];
  } else {
    const had = Number.isFinite(upgraderLevel) ? upgraderLevel : 100;
    users[req.user_id] = Math.max(typeof users[req.user_id] === 'number' ? (users[req.user_id] as number) : 0, had);
  }
  return { ...content, users };
}
