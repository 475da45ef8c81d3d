/** `neurite init`: writes a data directory's configuration, signing key and TLS material. */
import { initDataDir } from '../../platform/config/init.js';
import { choiceOption, onOffOption, parseCommandArgs, portOption, requireString } from '../args.js';


export function initCommand(args: string[]): number {
  const { values: v } = parseCommandArgs(args, {
    'data-dir': { type: 'string' },
    'server-name': { type: 'string' },
    bind: { type: 'string' },
    'client-port': { type: 'string' },
    'federation-port': { type: 'string' },
    'setup-port': { type: 'string' },
    registration: { type: 'string' },
    'registration-shared-secret': { type: 'string' },
    tls: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'federation-verify-tls': { type: 'string' },
    'rate-limits': { type: 'string' },
    'guest-access': { type: 'string' },
    appservice: { type: 'string', multiple: true },
    mode: { type: 'string' },
  });
  const opts = {
    dataDir: requireString(v['data-dir'], '--data-dir'),
    serverName: requireString(v['server-name'], '--server-name'),
    bind: v.bind,
    clientPort: portOption(v['client-port'], '--client-port'),
    federationPort: portOption(v['federation-port'], '--federation-port'),
    setupPort: portOption(v['setup-port'], '--setup-port'),
    registration: choiceOption(v.registration, '--registration', ['open', 'token', 'closed'] as const),
    registrationSharedSecret: v['registration-shared-secret'],
    tls: choiceOption(v.tls, '--tls', ['self-signed', 'off', 'files'] as const),
    tlsCert: v['tls-cert'],
    tlsKey: v['tls-key'],
    federationVerifyTls: onOffOption(v['federation-verify-tls'], '--federation-verify-tls'),
    rateLimits: onOffOption(v['rate-limits'], '--rate-limits'),
    guestAccess: onOffOption(v['guest-access'], '--guest-access'),
    appservices: v.appservice,
    mode: choiceOption(v.mode, '--mode', ['split', 'monolith'] as const),
  };
  const defined = Object.fromEntries(Object.entries(opts).filter(([, x]) => x !== undefined)) as typeof opts;
  const config = initDataDir(defined);
  const scheme = config.tls.mode === 'off' ? 'http' : 'https';
  process.stdout.write(
    `Initialised ${opts.dataDir} for ${config.server_name} (${typeof config.processes === 'string' ? config.processes : 'custom'} mode, registration ${config.registration}).\n` +
      `  client API:  http://${config.bind}:${config.client_port}/\n` +
      `  federation:  ${scheme}://${config.bind}:${config.federation_port}/\n` +
      `Start it with: neurite start --data-dir ${opts.dataDir}\n`,
  );
  return 0;
}
