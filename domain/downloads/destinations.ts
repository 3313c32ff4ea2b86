import { lookup } from 'node:dns/promises';
import net from 'node:net';

/**
 * Which hosts a link may lead the downloader to. An admin's link is fetched by
 * the worker, inside our network: without this, a link to the cloud metadata
 * service, to loopback written in hex, or to a name that resolves to a private
 * address would make the worker fetch it (SSRF). Pure rules plus one DNS step
 * that the bot runs at intake and the worker again right before yt-dlp starts.
 */

export interface DestinationPolicy {
  /** ALLOW_PRIVATE_URLS: loopback and private networks may be fetched (link-local and metadata still may not). */
  allowPrivate: boolean;
  /** ALLOWED_PRIVATE_HOSTS: host names, addresses and CIDR ranges exempt from every refusal here. */
  allowedHosts: AllowedHost[];
}

/** The policy the settings describe. */
export function destinationPolicy(settings: { ALLOW_PRIVATE_URLS: boolean; ALLOWED_PRIVATE_HOSTS?: AllowedHost[] }): DestinationPolicy {
  return { allowPrivate: settings.ALLOW_PRIVATE_URLS, allowedHosts: settings.ALLOWED_PRIVATE_HOSTS ?? [] };
}

export type AllowedHost = { kind: 'name'; name: string } | { kind: 'range'; text: string; family: 'ipv4' | 'ipv6'; network: string; prefix: number };

/** Why a destination is refused; `address` is what we parsed or resolved, never the disguised form sent. */
export interface Refusal {
  address: string;
  category: RangeCategory | 'internal_name';
}

export type RangeCategory = 'loopback' | 'private' | 'link_local' | 'metadata' | 'multicast' | 'reserved';

/** Plain words for each category, finished by the address in the reply. */
export const REFUSAL_REASONS: Record<Refusal['category'], string> = {
  loopback: 'a loopback address (this server itself)',
  private: 'a private network address',
  link_local: 'a link-local address',
  metadata: 'a cloud metadata service',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  internal_name: 'an internal host name',
};

export function describeRefusal(refusal: Refusal): string {
  return `the link leads to ${REFUSAL_REASONS[refusal.category]} (${refusal.address}), which this server does not fetch`;
}

interface Range {
  cidr: string;
  category: RangeCategory;
}

// IANA's special-purpose registries, plus the cloud metadata endpoints. The most
// specific category wins (metadata before link-local, for instance).
const METADATA_RANGES: Range[] = [
  { cidr: '169.254.169.254/32', category: 'metadata' }, // AWS, GCP, Azure, OpenStack, Oracle
  { cidr: '169.254.170.2/32', category: 'metadata' }, // AWS ECS task metadata
  { cidr: '100.100.100.200/32', category: 'metadata' }, // Alibaba Cloud
  { cidr: '168.63.129.16/32', category: 'metadata' }, // Azure wire server (a public address)
  { cidr: '192.0.0.192/32', category: 'metadata' }, // Oracle Cloud (legacy)
  { cidr: 'fd00:ec2::254/128', category: 'metadata' }, // AWS IMDS over IPv6
];
const RANGES: Range[] = [
  ...METADATA_RANGES,
  { cidr: '0.0.0.0/8', category: 'reserved' }, // "this network"; 0.0.0.0 reaches the local host on Linux
  { cidr: '10.0.0.0/8', category: 'private' },
  { cidr: '100.64.0.0/10', category: 'private' }, // carrier-grade NAT
  { cidr: '127.0.0.0/8', category: 'loopback' },
  { cidr: '169.254.0.0/16', category: 'link_local' },
  { cidr: '172.16.0.0/12', category: 'private' },
  { cidr: '192.0.0.0/24', category: 'reserved' },
  { cidr: '192.0.2.0/24', category: 'reserved' },
  { cidr: '192.88.99.0/24', category: 'reserved' },
  { cidr: '192.168.0.0/16', category: 'private' },
  { cidr: '198.18.0.0/15', category: 'reserved' },
  { cidr: '198.51.100.0/24', category: 'reserved' },
  { cidr: '203.0.113.0/24', category: 'reserved' },
  { cidr: '224.0.0.0/4', category: 'multicast' },
  { cidr: '240.0.0.0/4', category: 'reserved' }, // includes 255.255.255.255
  { cidr: '::1/128', category: 'loopback' },
  { cidr: '::/128', category: 'reserved' },
  { cidr: '::/96', category: 'reserved' }, // IPv4-compatible (deprecated)
  { cidr: '64:ff9b:1::/48', category: 'private' }, // local-use NAT64
  { cidr: '100::/64', category: 'reserved' }, // discard-only
  { cidr: '2001::/23', category: 'reserved' }, // IETF protocol assignments, Teredo
  { cidr: '2001:db8::/32', category: 'reserved' },
  { cidr: '3fff::/20', category: 'reserved' },
  { cidr: '5f00::/16', category: 'reserved' },
  { cidr: 'fc00::/7', category: 'private' }, // unique local
  { cidr: 'fe80::/10', category: 'link_local' },
  { cidr: 'fec0::/10', category: 'private' }, // site-local (deprecated)
  { cidr: 'ff00::/8', category: 'multicast' },
];

const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);
// Names that only ever mean something inside a network (RFC 6761, 6762, 8375, and cloud DNS).
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.localdomain', '.lan', '.intranet', '.corp'];

const blockLists = new Map<RangeCategory, net.BlockList>();
const metadataList = new net.BlockList();
for (const { cidr, category } of RANGES) {
  const [network, prefix] = cidr.split('/') as [string, string];
  const family = net.isIPv6(network) ? 'ipv6' : 'ipv4';
  const list = category === 'metadata' ? metadataList : (blockLists.get(category) ?? new net.BlockList());
  list.addSubnet(network, Number(prefix), family);
  if (category !== 'metadata') blockLists.set(category, list);
}
const CATEGORY_ORDER: RangeCategory[] = ['loopback', 'link_local', 'private', 'multicast', 'reserved'];

/** The 16 bytes of an IPv6 address in canonical text, or null. */
function ipv6Bytes(address: string): number[] | null {
  if (!net.isIPv6(address)) return null;
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * The IPv4 addresses an IPv6 address carries for translation or tunnelling: a
 * translator or relay may deliver a packet for it to that IPv4 address.
 */
function embeddedIpv4s(address: string): string[] {
  const b = ipv6Bytes(address);
  if (!b) return [];
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number, xor = 0) => b.slice(at, at + 4).map((x) => x ^ xor).join('.');
  const found: string[] = [];
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) found.push(v4(12)); // ::ffff:a.b.c.d, IPv4-mapped
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) found.push(v4(12)); // ::ffff:0:a.b.c.d, SIIT
  if (zeros(0, 12) && b[12] !== 0) found.push(v4(12)); // ::a.b.c.d, IPv4-compatible (not ::1 or ::)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && (zeros(4, 12) || (b[4] === 0 && b[5] === 1))) found.push(v4(12)); // NAT64, global and local-use
  if (b[0] === 0x20 && b[1] === 0x02) found.push(v4(2)); // 6to4
  if (b[0] === 0x20 && b[1] === 0x01 && zeros(2, 4)) found.push(v4(4), v4(12, 0xff)); // Teredo: server, and the client (obfuscated)
  return found;
}

const SEVERITY: RangeCategory[] = ['metadata', 'link_local', 'loopback', 'private', 'multicast', 'reserved'];

/** The category of an address itself, without looking inside it. */
function ownCategory(address: string, family: 'ipv4' | 'ipv6'): RangeCategory | null {
  if (metadataList.check(address, family)) return 'metadata';
  return CATEGORY_ORDER.find((category) => blockLists.get(category)!.check(address, family)) ?? null;
}

/**
 * The category of an IP address's range, or null for a public address. For an
 * IPv6 address that carries IPv4 addresses, the most severe category among it
 * and them: `::ffff:169.254.169.254` is the metadata service, not merely reserved.
 */
export function classifyAddress(address: string): RangeCategory | null {
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
  if (!family) return null;
  const categories = [ownCategory(address, family), ...embeddedIpv4s(address).map((inner) => ownCategory(inner, 'ipv4'))];
  return SEVERITY.find((category) => categories.includes(category)) ?? null;
}

/** How an address is shown to people: an IPv6 form that carries a refused IPv4 address shows that one. */
function shownAddress(address: string): string {
  if (!net.isIPv6(address)) return address;
  return embeddedIpv4s(address).find((inner) => ownCategory(inner, 'ipv4') !== null) ?? address;
}

/** A host as the URL parser leaves it: lower case, brackets off IPv6, no trailing dots ("localhost.." is localhost). */
export function bareHost(hostname: string): string {
  let host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  while (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

function isAllowed(host: string, address: string | null, policy: DestinationPolicy): boolean {
  return policy.allowedHosts.some((entry) => {
    if (entry.kind === 'name') return entry.name === host;
    if (!address) return false;
    const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
    const list = new net.BlockList();
    list.addSubnet(entry.network, entry.prefix, entry.family);
    return list.check(address, family);
  });
}

/** Whether a refused category stays refused when ALLOW_PRIVATE_URLS is on. */
function refusedEvenWhenPrivateAllowed(category: Refusal['category']): boolean {
  return category === 'link_local' || category === 'metadata';
}

function judge(host: string, address: string | null, category: Refusal['category'] | null, policy: DestinationPolicy): Refusal | null {
  if (!category || isAllowed(host, address, policy)) return null;
  if (policy.allowPrivate && !refusedEvenWhenPrivateAllowed(category)) return null;
  return { address: address ? shownAddress(address) : host, category };
}

/**
 * The refusal for a URL's host from its text alone (literal addresses and
 * internal names), or null. The URL parser has already turned hex, octal and
 * decimal IPv4 forms into dotted quads, so `http://0x7f000001/` arrives as 127.0.0.1.
 */
export function checkHost(hostname: string, policy: DestinationPolicy): Refusal | null {
  const host = bareHost(hostname);
  if (net.isIP(host)) return judge(host, host, classifyAddress(host), policy);
  if (METADATA_NAMES.has(host)) return judge(host, null, 'metadata', policy);
  const internal = host === 'localhost' || !host.includes('.') || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix));
  return judge(host, null, internal ? 'internal_name' : null, policy);
}

export type Resolver = (host: string) => Promise<string[]>;

/** Every address the system resolver gives for `host`. */
export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** A host name could not be resolved, so where it leads is unknown. */
export class UnresolvedHostError extends Error {
  constructor(
    readonly host: string,
    cause: unknown,
  ) {
    super(`could not resolve ${host} to check where it leads (${cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause)})`);
    this.name = 'UnresolvedHostError';
  }
}

/**
 * `checkHost`, then the addresses the name resolves to: a public-looking name
 * that resolves to 10.0.0.5 is refused as 10.0.0.5. When the name does not
 * resolve, `failClosed` decides: the worker (true) throws UnresolvedHostError
 * rather than let yt-dlp resolve it differently a moment later; intake (false)
 * leaves it to the worker.
 */
export async function checkDestination(
  hostname: string,
  policy: DestinationPolicy,
  resolve: Resolver = systemResolver,
  options: { failClosed?: boolean } = {},
): Promise<Refusal | null> {
  const byText = checkHost(hostname, policy);
  const host = bareHost(hostname);
  if (byText || net.isIP(host)) return byText;
  if (isAllowed(host, null, policy)) return null;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    if (options.failClosed) throw new UnresolvedHostError(host, err);
    return null;
  }
  for (const address of addresses) {
    const refusal = judge(host, address, classifyAddress(address), policy);
    if (refusal) return refusal;
  }
  return null;
}

/**
 * Reads ALLOWED_PRIVATE_HOSTS: comma-separated host names, IP addresses and
 * CIDR ranges. Returns the entries, or the entries it could not read.
 */
export function parseAllowedHosts(value: string): { ok: true; hosts: AllowedHost[] } | { ok: false; bad: string[] } {
  const hosts: AllowedHost[] = [];
  const bad: string[] = [];
  for (const raw of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [base, prefixText, extra] = raw.split('/');
    const address = bareHost(base ?? '');
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
    if (family) {
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
      if (extra !== undefined || !(prefix >= 0 && prefix <= max)) bad.push(raw);
      else hosts.push({ kind: 'range', text: raw, family, network: address, prefix });
    } else if (prefixText === undefined && /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/.test(address)) {
      hosts.push({ kind: 'name', name: address });
    } else {
      bad.push(raw);
    }
  }
  return bad.length ? { ok: false, bad } : { ok: true, hosts };
}
