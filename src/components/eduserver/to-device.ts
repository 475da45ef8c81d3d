/**
 * Send-to-device messages. A request becomes one record per recipient
 * device in the send_to_device topic, in one durable batch with its
 * transaction key: a retransmission (same sender, device, event type and
 * transaction id, as the spec scopes transaction ids by device and path)
 * finds the key and changes nothing, also after a restart or a crash. The
 * log holds the messages until the SyncAPI has taken them into its store.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.js';
import { isValidUserId, serverNameOf } from '../../core/identifiers.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { Append, LogProducer } from '../../platform/log/producer.js';
import type { Database } from '../../platform/storage/database.js';
import { prefixRange } from '../../platform/storage/keys.js';
import type { UserAPI } from '../userapi/api.js';
import type { SendToDeviceRequest } from './api.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import { del, keys, put } from './storage.js';
import { sendToDeviceEvents, type SendToDeviceRecord } from './topics.js';

/** Transaction keys older than this are forgotten: clients retry within minutes, not days. */
export const TXN_RETENTION_MS = 24 * 60 * 60_000;

export class ToDevice {
  private readonly queue = new KeyedQueue();
  private pruner: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly producer: LogProducer,
    private readonly userapi: Client<UserAPI>,
    private readonly serverName: string,
    private readonly now: () => number,
    private readonly logger?: Logger,
  ) {}

  startPruning(intervalMs = 60 * 60_000): void {
    this.pruner = setInterval(() => {
      this.prune().catch((e: unknown) => this.logger?.warn({ err: e }, 'could not prune send-to-device transactions'));
    }, intervalMs);
    this.pruner.unref();
  }

  stop(): void {
    if (this.pruner) clearInterval(this.pruner);
    this.pruner = undefined;
  }

  async send(req: SendToDeviceRequest): Promise<void> {
    for (const userId of Object.keys(req.messages)) {
      if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is not a valid user id`);
    }
    const txnKey = keys.toDeviceTxn(req.sender, req.sender_device, req.type, req.txn_id);
    await this.queue.run(txnKey, async () => {
      if ((await this.db.get<number>(txnKey)) !== undefined) return;
      const messageId = randomBytes(12).toString('base64url');
      const records: Append[] = [];
      for (const [userId, byDevice] of Object.entries(req.messages)) {
        for (const [deviceId, content] of await this.recipients(userId, byDevice)) {
          const record: SendToDeviceRecord = { sender: req.sender, sender_device: req.sender_device, type: req.type, content, user_id: userId, device_id: deviceId, message_id: messageId };
          records.push({ topic: sendToDeviceEvents, record });
        }
      }
      await this.producer.write([put(txnKey, this.now())], records, { durable: true });
    });
  }

  /**
   * The devices a user's messages go to. For a local user `*` means every
   * device they have now, a device named on its own gets its own message
   * rather than the one for `*`, and unknown devices are skipped; a remote
   * user's are passed on as given.
   */
  private async recipients(userId: string, byDevice: Record<string, Record<string, unknown>>): Promise<[string, Record<string, unknown>][]> {
    if (serverNameOf(userId) !== this.serverName) return Object.entries(byDevice);
    const { devices } = await this.userapi.queryDevices({ user_id: userId });
    const known = new Set(devices.map((d) => d.device_id));
    const out = new Map<string, Record<string, unknown>>();
    for (const [deviceId, content] of Object.entries(byDevice)) if (deviceId !== '*' && known.has(deviceId)) out.set(deviceId, content);
    const all = byDevice['*'];
    if (all) for (const d of known) if (!out.has(d)) out.set(d, all);
    return [...out];
  }

  async prune(): Promise<number> {
    const cutoff = this.now() - TXN_RETENTION_MS;
    const old: string[] = [];
    for await (const [k, ts] of this.db.iterate<number>(prefixRange('tdtxn'))) if (ts < cutoff) old.push(k);
    if (old.length > 0) await this.db.write(old.map(del));
    return old.length;
  }
}
