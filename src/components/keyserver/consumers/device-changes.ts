/**
 * Follows the UserAPI's device_changes: a deleted device's keys go (and its
 * user's device list changed for everyone tracking it); a renamed device
 * with keys changes what /keys/query shows. A new device has no keys yet:
 * it enters device lists when it uploads them.
 */
import type { LogRecord } from '../../../platform/log/topic.js';
import type { DeviceChange } from '../../userapi/topics.js';
import type { DeviceKeyStore } from '../device-keys.js';

export async function applyDeviceChanges(devices: DeviceKeyStore, batch: LogRecord<DeviceChange>[]): Promise<void> {
  for (const { record } of batch) {
    if (record.change === 'deleted') {
      await devices.dropDevice(record.user_id, record.device_id);
    } else if (record.change === 'updated') {
      await devices.deviceRenamed(record.user_id, record.device_id, record.display_name);
    }
  }
}
