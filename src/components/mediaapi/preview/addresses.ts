/**
 * Which addresses a URL preview may connect to. A preview makes the board
 * fetch a URL a user chose: without this, any user could reach the router's
 * admin page, other devices on the LAN, or the board's own services. Private,
 * loopback, link-local, multicast, reserved and documentation ranges are
 * refused, and so is every address of the board's own interfaces (which
 * may be public), unless media.url_preview.allowed_ranges names them.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

const DENIED_V4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
  '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24',
  '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
];
const DENIED_V6 = [
  // IPv4-mapped addresses are unwrapped first (normalizeAddress); BlockList
  // would also match plain IPv4 against ::ffff:0:0/96, so it is not listed.
  '::/128', '::1/128', '64:ff9b::/96', '64:ff9b:1::/48', '100::/64', '2001::/23', '2001:db8::/32',
  // 6to4 embeds an IPv4 address that may be private.
  '2002::/16', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8',
];

function addRange(list: BlockList, cidr: string): void {
  const [addr, bits] = cidr.split('/') as [string, string | undefined];
  const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) list.addAddress(addr, family);
  else list.addSubnet(addr, Number(bits), family);
}

/** Strips an IPv6 zone and unwraps an IPv4-mapped IPv6 address. */
export function normalizeAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  let a = address.replace(/^\[|\]$/g, '');
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1]!;
  const v = isIP(a);
  if (v === 0) return undefined;
  return { address: a, family: v === 4 ? 'ipv4' : 'ipv6' };
}

export class AddressPolicy {
  private readonly denied = new BlockList();
  private readonly allowed = new BlockList();

  /** `ownAddresses` is asked on every check: DHCP and SLAAC change them while the board runs. */
  constructor(
    allowedRanges: readonly string[],
    private readonly ownAddresses: () => readonly string[] = boardAddresses,
  ) {
    for (const r of DENIED_V4) addRange(this.denied, r);
    for (const r of DENIED_V6) addRange(this.denied, r);
    for (const r of allowedRanges) addRange(this.allowed, r);
  }

  allows(address: string): boolean {
    const n = normalizeAddress(address);
    if (!n) return false;
    if (this.allowed.check(n.address, n.family)) return true;
    if (this.denied.check(n.address, n.family)) return false;
    const own = new BlockList();
    for (const a of this.ownAddresses()) {
      const o = normalizeAddress(a);
      if (o) own.addAddress(o.address, o.family);
    }
    return !own.check(n.address, n.family);
  }
}

function boardAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined)
    .map((i) => i.address);
}
