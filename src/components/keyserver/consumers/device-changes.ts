/**
 * Follows the UserAPI's device_changes: a deleted device's keys go; a new
 * or renamed device changes what /keys/query shows. Each is a change of
 * its user's device list for everyone tracking it, keys or not.
 */
import type { LogRecord } from '../../../platform/log/topic.js';
import type { DeviceChange } from '../../userapi/topics.js';
import type { DeviceKeyStore } from '../device-keys.js';

export async function applyDeviceChanges(devices: DeviceKeyStore, batch: LogRecord<DeviceChange>[]): Promise<void> {
  for (const { record } of batch) {
    if (record.change === 'deleted') {
      await devices.dropDevice(record.user_id, record.device_id);
    } else {
      await devices.deviceChanged(record.user_id, record.device_id, record.display_name);
    }
  }
}
