/** Every component, in the order the supervisor lists them. */
export const COMPONENTS = [
  'gateway',
  'clientapi',
  'syncapi',
  'federationapi',
  'mediaapi',
  'roomserver',
  'eduserver',
  'federationsender',
  'appservice',
  'keyserver',
  'serverkeyapi',
  'userapi',
  'maintenance',
  'setup',
] as const;

export type ComponentName = (typeof COMPONENTS)[number];

export function isComponentName(s: string): s is ComponentName {
  return (COMPONENTS as readonly string[]).includes(s);
}
