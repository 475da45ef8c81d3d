/**
 * Creating a room (client-server API `POST /createRoom`): the events the
 * spec lists, in its order, each checked by the auth rules like any other
 * event, and all written in one batch — a room exists completely or not at
 * all.
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../../core/canonical-json.js';
import { MatrixError } from '../../../core/errors.js';
import { DEFAULT_ROOM_VERSION, roomVersion, type RoomVersion } from '../../../core/room-versions.js';
import type { CreateRoomRequest, RoomPreset } from '../api.js';
import { RoomDraft, type LocalEventProto, type RoomServices } from '../input/room-draft.js';

interface PresetState {
  join_rule: string;
  guest_access: string;
  history_visibility: string;
  /** Who may invite: anyone in a private chat, moderators in a public one (as Synapse does). */
  invite_level: number;
}

const PRESETS: Record<RoomPreset, PresetState> = {
  private_chat: { join_rule: 'invite', guest_access: 'can_join', history_visibility: 'shared', invite_level: 0 },
  trusted_private_chat: { join_rule: 'invite', guest_access: 'can_join', history_visibility: 'shared', invite_level: 0 },
  public_chat: { join_rule: 'public', guest_access: 'forbidden', history_visibility: 'shared', invite_level: 50 },
};

export function defaultPowerLevels(version: RoomVersion, creator: string, preset: RoomPreset, invitees: string[]): JsonObject {
  const users: JsonObject = {};
  // From v12 creators have infinite power and must not be listed.
  if (!version.privilegedCreators) {
    users[creator] = 100;
    if (preset === 'trusted_private_chat') for (const u of invitees) users[u] = 100;
  }
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      // v12: must be above state_default and above what creators' peers can reach.
      'm.room.tombstone': version.privilegedCreators ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: PRESETS[preset].invite_level,
    notifications: { room: 50 },
  };
}

function createContent(req: CreateRoomRequest, version: RoomVersion): JsonObject {
  const content: JsonObject = { ...(req.creation_content ?? {}) };
  delete content.creator;
  content.room_version = version.id;
  if (!version.useSenderAsCreator) content.creator = req.creator;
  if (version.privilegedCreators) {
    if (content.additional_creators !== undefined && !Array.isArray(content.additional_creators)) {
      throw new MatrixError(400, 'M_BAD_JSON', 'creation_content.additional_creators must be a list of user ids');
    }
    const extra = (content.additional_creators as string[] | undefined) ?? [];
    const fromInvites = req.preset === 'trusted_private_chat' ? (req.invite ?? []) : [];
    const all = [...new Set([...extra, ...fromInvites])].filter((u) => u !== req.creator);
    if (all.length > 0) content.additional_creators = all;
    else delete content.additional_creators;
  }
  return content;
}

export async function createRoom(svc: RoomServices, req: CreateRoomRequest): Promise<{ room_id: string; commit: Promise<void> }> {
  const versionId = req.room_version ?? DEFAULT_ROOM_VERSION;
  const version = roomVersion(versionId);
  if (!version) throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${versionId} is not supported`);
  const preset = PRESETS[req.preset];
  const invitees = [...new Set(req.invite ?? [])].filter((u) => u !== req.creator);
  const draft = new RoomDraft(svc, version, undefined);
  const sender = req.creator;
  const send = (proto: Omit<LocalEventProto, 'sender'>) => draft.buildLocal({ ...proto, sender });
  const state = (type: string, content: JsonObject, state_key = '') => send({ type, state_key, content });

  await send({
    type: 'm.room.create',
    state_key: '',
    content: createContent(req, version),
    ...(version.roomIdIsCreateEventHash ? {} : { room_id: `!${randomBytes(12).toString('base64url')}:${svc.serverName}` }),
  });
  await state('m.room.member', { membership: 'join', ...(req.creator_profile ?? {}) }, sender);

  const powerLevels = { ...defaultPowerLevels(version, sender, req.preset, invitees), ...(req.power_level_content_override ?? {}) };
  await state('m.room.power_levels', powerLevels);
  if (req.canonical_alias) await state('m.room.canonical_alias', { alias: req.canonical_alias });

  const initial = req.initial_state ?? [];
  const inInitial = (type: string) => initial.some((e) => e.type === type && (e.state_key ?? '') === '');
  if (!inInitial('m.room.join_rules')) await state('m.room.join_rules', { join_rule: preset.join_rule });
  if (!inInitial('m.room.history_visibility')) await state('m.room.history_visibility', { history_visibility: preset.history_visibility });
  if (!inInitial('m.room.guest_access')) await state('m.room.guest_access', { guest_access: preset.guest_access });
  for (const e of initial) await state(e.type, e.content, e.state_key ?? '');

  if (req.name !== undefined) await state('m.room.name', { name: req.name });
  if (req.topic !== undefined) {
    await state('m.room.topic', { topic: req.topic, 'm.topic': { 'm.text': [{ body: req.topic, mimetype: 'text/plain' }] } });
  }
  for (const invitee of invitees) {
    await state('m.room.member', { membership: 'invite', ...(req.is_direct ? { is_direct: true } : {}) }, invitee);
  }
  return { room_id: draft.roomId!, commit: draft.commit() };
}
