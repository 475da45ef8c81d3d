/**
 * Erasure (client-server API /account/deactivate with `erase`): users who
 * were not in the room when an erased user's event was sent are served its
 * redacted form — Synapse's reading of "users who join after the erasure",
 * which SyTest checks. Of state, only the user's own membership events: the
 * room's name, power levels or encryption set by an erased user must stay
 * whole for everyone.
 */
import { roomVersion } from '../room-versions.js';
import type { PDU } from './pdu.js';
import { redact } from './redaction.js';

/** Whether erasing the sender affects this event at all. */
function erasable(pdu: PDU): boolean {
  if (typeof pdu.state_key !== 'string') return true;
  return pdu.type === 'm.room.member' && pdu.state_key === pdu.sender;
}

/** Whether a viewer with this membership at the event gets it redacted once its sender is erased. */
export function redactedForViewer(pdu: PDU, viewerMembershipAtEvent: string | undefined): boolean {
  return erasable(pdu) && viewerMembershipAtEvent !== 'join';
}

/** What such a viewer is served: the event redacted by its room version's rules (unchanged for a version not known here). */
export function erasedForm(pdu: PDU, roomVersionId: string): PDU {
  const version = roomVersion(roomVersionId);
  return version ? redact(pdu, version) : pdu;
}
