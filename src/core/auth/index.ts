/** Event authorisation: power levels, auth events selection and the auth rules of rooms v1–v12. */
export * from './types.js';
export * from './power-levels.js';
export * from './power-level-rules.js';
export * from './selection.js';
export * from './third-party-invite.js';
export { checkAuth, checkAuthEventsList, checkAuthWithAuthEvents, type AuthEventsOptions } from './rules.js';
