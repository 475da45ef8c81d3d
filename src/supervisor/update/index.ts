/**
 * Updates: what the CLI, the dashboard and the maintenance jobs call.
 *
 * - applyUpdate({dataDir, source}) verifies a bundle (file or URL) and installs it, then switches;
 * - updateStatus(dataDir) tells the running, committed and trial versions and the last outcome;
 * - runUpdateCheck / approvePendingUpdate are the scheduled check (a maintenance job) and the consent;
 * - readUpdateSettings / writeUpdateSettings hold the update URL and the automatic switch;
 * - installUploadedUpdate, approveUpdate, checkForUpdate, saveUpdateSettings are the same
 *   operations asked of the running supervisor, as the homeserver's own processes must (remote.ts).
 * Refusals are UpdateRefused errors with a one-line message.
 */
export { applyUpdate, fetchUpdateStatus, MAX_BUNDLE_BYTES, updateStatus, type ApplyOptions, type ApplyResult, type PendingUpdate, type UpdateStatus } from './apply.js';
export { approvePendingUpdate, readUpdateSettings, runUpdateCheck, writeUpdateSettings, type CheckResult, type UpdateSettings } from './check.js';
export { approveUpdate, checkForUpdate, installUploadedUpdate, saveUpdateSettings } from './remote.js';
export { UpdateRefused } from './slots.js';
