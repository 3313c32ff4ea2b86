import fc from 'fast-check';
import {
  checkDestination,
  checkHost,
  classifyAddress,
  describeRefusal,
  parseAllowedHosts,
  type AllowedHost,
  type DestinationPolicy,
  type Refusal,
  UnresolvedHostError,
} from '../../domain/downloads/destinations';
import { parseMediaUrl } from '../../domain/downloads/links';

const strict: DestinationPolicy = { allowPrivate: false, allowedHosts: [] };
const permissive: DestinationPolicy = { allowPrivate: true, allowedHosts: [] };

function allowed(list: string): AllowedHost[] {
  const parsed = parseAllowedHosts(list);
  if (!parsed.ok) throw new Error(`bad list ${list}`);
  return parsed.hosts;
}

/** The refusal for a link as the bot receives it: parsed by the same code, then checked. */
function refusalFor(link: string, policy = strict): Refusal | null {
  const parsed = parseMediaUrl(link);
  if (!parsed.ok) throw new Error(`${link} rejected as ${parsed.reason}`);
  return checkHost(new URL(parsed.url.normalized).hostname, policy);
}

describe('links to private and internal addresses are refused by default (ALLOW_PRIVATE_URLS=false)', () => {
  test.each<[string, string, Refusal['category'], string]>([
    ['loopback', 'http://127.0.0.1:7233/', 'loopback', '127.0.0.1'],
    ['loopback elsewhere in 127/8', 'http://127.45.6.7/', 'loopback', '127.45.6.7'],
    ['loopback in hex', 'http://0x7f000001/', 'loopback', '127.0.0.1'],
    ['loopback in decimal', 'http://2130706433/', 'loopback', '127.0.0.1'],
    ['loopback in octal', 'http://017700000001/', 'loopback', '127.0.0.1'],
    ['loopback shortened', 'http://127.1/', 'loopback', '127.0.0.1'],
    ['loopback with dotted hex parts', 'http://0x7f.0.0.1/', 'loopback', '127.0.0.1'],
    ['IPv6 loopback', 'http://[::1]:8233/', 'loopback', '::1'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/', 'loopback', '127.0.0.1'],
    ['IPv4-mapped IPv6 loopback in hex', 'http://[::ffff:7f00:1]/', 'loopback', '127.0.0.1'],
    ['the unspecified address', 'http://0.0.0.0:6379/', 'reserved', '0.0.0.0'],
    ['zero', 'http://0/', 'reserved', '0.0.0.0'],
    ['IPv6 unspecified', 'http://[::]/', 'reserved', '::'],
    ['RFC 1918 10/8', 'http://10.1.2.3/', 'private', '10.1.2.3'],
    ['RFC 1918 172.16/12', 'http://172.31.255.1/', 'private', '172.31.255.1'],
    ['RFC 1918 192.168/16', 'http://192.168.1.1/admin', 'private', '192.168.1.1'],
    ['carrier-grade NAT', 'http://100.64.0.1/', 'private', '100.64.0.1'],
    ['link-local', 'http://169.254.1.1/', 'link_local', '169.254.1.1'],
    ['IPv6 link-local', 'http://[fe80::1]/', 'link_local', 'fe80::1'],
    ['unique local IPv6', 'http://[fd12:3456::1]/', 'private', 'fd12:3456::1'],
    ['the cloud metadata service', 'http://169.254.169.254/latest/meta-data/', 'metadata', '169.254.169.254'],
    ['the metadata service in decimal', 'http://2852039166/', 'metadata', '169.254.169.254'],
    ['the metadata service, IPv4-mapped', 'http://[::ffff:169.254.169.254]/', 'metadata', '169.254.169.254'],
    ['AWS metadata over IPv6', 'http://[fd00:ec2::254]/', 'metadata', 'fd00:ec2::254'],
    ['ECS task metadata', 'http://169.254.170.2/v2/credentials', 'metadata', '169.254.170.2'],
    ['Alibaba metadata', 'http://100.100.100.200/', 'metadata', '100.100.100.200'],
    ['Azure wire server', 'http://168.63.129.16/', 'metadata', '168.63.129.16'],
    ['GCP metadata by name', 'http://metadata.google.internal/computeMetadata/v1/', 'metadata', 'metadata.google.internal'],
    ['a private address through NAT64', 'http://[64:ff9b::10.0.0.1]/', 'private', '10.0.0.1'],
    ['loopback through 6to4', 'http://[2002:7f00:1::1]/', 'loopback', '127.0.0.1'],
    ['multicast', 'http://224.0.0.1/', 'multicast', '224.0.0.1'],
    ['IPv6 multicast', 'http://[ff02::1]/', 'multicast', 'ff02::1'],
    ['broadcast', 'http://255.255.255.255/', 'reserved', '255.255.255.255'],
    ['reserved 240/4', 'http://240.0.0.1/', 'reserved', '240.0.0.1'],
    ['documentation range', 'http://192.0.2.10/', 'reserved', '192.0.2.10'],
    ['benchmarking range', 'http://198.18.0.1/', 'reserved', '198.18.0.1'],
    ['loopback in SIIT form', 'http://[::ffff:0:7f00:1]/', 'loopback', '127.0.0.1'],
    ['loopback in IPv4-compatible form', 'http://[::127.0.0.1]/', 'loopback', '127.0.0.1'],
    ['loopback as a Teredo client', 'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', 'loopback', '127.0.0.1'],
    ['the metadata service through local-use NAT64', 'http://[64:ff9b:1::a9fe:a9fe]/', 'metadata', '169.254.169.254'],
    ['localhost', 'http://localhost:7233/', 'internal_name', 'localhost'],
    ['localhost with two trailing dots', 'http://localhost../', 'internal_name', 'localhost'],
    ['the GCP metadata name with two trailing dots', 'http://metadata.google.internal../', 'metadata', 'metadata.google.internal'],
    ['localhost in capitals with a trailing dot', 'http://LOCALHOST./', 'internal_name', 'localhost'],
    ['a *.localhost name', 'http://api.localhost/', 'internal_name', 'api.localhost'],
    ['a *.local name', 'http://printer.local/', 'internal_name', 'printer.local'],
    ['a *.internal name', 'http://redis.svc.internal/', 'internal_name', 'redis.svc.internal'],
    ['a home network name', 'http://nas.home.arpa/', 'internal_name', 'nas.home.arpa'],
    ['a single-label name', 'http://router/', 'internal_name', 'router'],
  ])('%s (%s) is refused as %s, shown as %s', (_what, link, category, address) => {
    expect(refusalFor(link)).toEqual({ category, address });
  });

  test.each([
    'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
    'http://93.184.216.34/video.mp4',
    'http://8.8.8.8/',
    'http://[2606:4700:4700::1111]/',
    'http://100.63.255.255/', // just below carrier-grade NAT
    'http://172.32.0.1/', // just above 172.16/12
    'http://[2001:4860:4860::8888]/', // public, though in 2001::/16
    'https://internal.example.com/', // "internal" as a label, not the suffix
  ])('a public destination is not refused: %s', (link) => {
    expect(refusalFor(link)).toBeNull();
  });

  test('the reply names the address as parsed, not as disguised', () => {
    const refusal = refusalFor('http://0x7f000001/')!;
    expect(describeRefusal(refusal)).toBe(
      'the link leads to a loopback address (this server itself) (127.0.0.1), which this server does not fetch',
    );
  });
});

describe('ALLOW_PRIVATE_URLS=true', () => {
  test.each(['http://127.0.0.1:8080/clip.mp4', 'http://localhost/', 'http://192.168.1.20/media.mp4', 'http://[::1]/', 'http://nas.local/'])(
    'lets %s through',
    (link) => {
      expect(refusalFor(link, permissive)).toBeNull();
    },
  );

  test.each([
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://metadata.google.internal/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://169.254.10.10/', 'link_local'],
    ['http://[fe80::1]/', 'link_local'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[::a9fe:a9fe]/', 'metadata'],
    ['http://[64:ff9b::169.254.169.254]/', 'metadata'],
  ])('still refuses %s (%s)', (link, category) => {
    expect(refusalFor(link, permissive)?.category).toBe(category);
  });

  test('ALLOWED_PRIVATE_HOSTS lets a listed metadata or link-local address through', () => {
    const policy = { allowPrivate: true, allowedHosts: allowed('169.254.169.254, fe80::/10') };
    expect(refusalFor('http://169.254.169.254/', policy)).toBeNull();
    expect(refusalFor('http://[fe80::abcd]/', policy)).toBeNull();
    expect(refusalFor('http://169.254.170.2/', policy)?.category).toBe('metadata');
  });
});

describe('ALLOWED_PRIVATE_HOSTS with private addresses refused', () => {
  const policy = { allowPrivate: false, allowedHosts: allowed('nas.home.arpa, 192.168.1.0/24, 10.9.8.7') };

  test('exempts listed names, ranges and addresses, and nothing else', () => {
    expect(refusalFor('http://nas.home.arpa/film.mkv', policy)).toBeNull();
    expect(refusalFor('http://192.168.1.77/', policy)).toBeNull();
    expect(refusalFor('http://10.9.8.7/', policy)).toBeNull();
    expect(refusalFor('http://192.168.2.1/', policy)?.category).toBe('private');
    expect(refusalFor('http://10.9.8.6/', policy)?.category).toBe('private');
    expect(refusalFor('http://other.home.arpa/', policy)?.category).toBe('internal_name');
  });
});

describe('checkDestination resolves names', () => {
  const resolvesTo =
    (...addresses: string[]) =>
    async () =>
      addresses;

  test('a public-looking name that resolves to a private address is refused, naming that address', async () => {
    expect(await checkDestination('videos.example.com', strict, resolvesTo('10.0.0.5'))).toEqual({
      category: 'private',
      address: '10.0.0.5',
    });
    expect(await checkDestination('rebind.example.com', strict, resolvesTo('93.184.216.34', '127.0.0.1'))).toEqual({
      category: 'loopback',
      address: '127.0.0.1',
    });
    expect(await checkDestination('mapped.example.com', strict, resolvesTo('::ffff:169.254.169.254'))).toEqual({
      category: 'metadata',
      address: '169.254.169.254',
    });
  });

  test('with private addresses allowed, a name resolving to the metadata service is still refused', async () => {
    expect(await checkDestination('evil.example.com', permissive, resolvesTo('169.254.169.254'))).toMatchObject({ category: 'metadata' });
    expect(await checkDestination('lan.example.com', permissive, resolvesTo('192.168.1.5'))).toBeNull();
  });

  test('a name that resolves to public addresses only passes', async () => {
    expect(await checkDestination('videos.example.com', strict, resolvesTo('93.184.216.34', '2606:2800:220:1::1'))).toBeNull();
  });

  test('a name that does not resolve is left to the worker at intake, and refused (retryably) by the worker', async () => {
    const fails = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await checkDestination('nowhere.example.com', strict, fails)).toBeNull();
    await expect(checkDestination('nowhere.example.com', strict, fails, { failClosed: true })).rejects.toThrow(
      new UnresolvedHostError('nowhere.example.com', Object.assign(new Error('x'), { code: 'ENOTFOUND' })),
    );
  });

  test('a listed name is not resolved at all', async () => {
    const policy = { allowPrivate: false, allowedHosts: allowed('media.corp.example.com') };
    const never = async (): Promise<string[]> => {
      throw new Error('must not resolve');
    };
    expect(await checkDestination('media.corp.example.com', policy, never)).toBeNull();
  });

  test('the real system resolver: localhost is refused by name before any lookup', async () => {
    expect(await checkDestination('localhost', strict)).toMatchObject({ category: 'internal_name' });
  });
});

describe('classifyAddress', () => {
  test('property: every address in 127/8, 10/8 and 192.168/16, in any IPv4 spelling or mapped to IPv6, is refused', () => {
    const private4 = fc.oneof(
      fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(10), fc.nat(255), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(192), fc.constant(168), fc.nat(255), fc.nat(255)),
    );
    fc.assert(
      fc.property(private4, fc.constantFrom('dotted', 'decimal', 'hex', 'mapped'), ([a, b, c, d], spelling) => {
        const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
        const host = {
          dotted: `${a}.${b}.${c}.${d}`,
          decimal: String(n),
          hex: `0x${n.toString(16)}`,
          mapped: `[::ffff:${a}.${b}.${c}.${d}]`,
        }[spelling];
        const refusal = refusalFor(`http://${host}/x`);
        expect(refusal?.address).toBe(`${a}.${b}.${c}.${d}`);
        expect(['loopback', 'private']).toContain(refusal?.category);
      }),
      { numRuns: 500 },
    );
  });

  test('public addresses are not classified', () => {
    expect(classifyAddress('1.1.1.1')).toBeNull();
    expect(classifyAddress('2a00:1450:4001:80b::200e')).toBeNull();
    expect(classifyAddress('not an address')).toBeNull();
  });
});

describe('parseAllowedHosts', () => {
  test('reads names, addresses and ranges, lower-cased and trimmed', () => {
    expect(parseAllowedHosts(' NAS.Home.Arpa , 192.168.0.0/16,::1, fd00::/8 ,')).toEqual({
      ok: true,
      hosts: [
        { kind: 'name', name: 'nas.home.arpa' },
        { kind: 'range', text: '192.168.0.0/16', family: 'ipv4', network: '192.168.0.0', prefix: 16 },
        { kind: 'range', text: '::1', family: 'ipv6', network: '::1', prefix: 128 },
        { kind: 'range', text: 'fd00::/8', family: 'ipv6', network: 'fd00::', prefix: 8 },
      ],
    });
  });

  test('lists every entry it cannot read', () => {
    expect(parseAllowedHosts('ok.example, 10.0.0.0/33, bad host, http://x/, 1.2.3.4/8/9, ::1/129')).toEqual({
      ok: false,
      bad: ['10.0.0.0/33', 'bad host', 'http://x/', '1.2.3.4/8/9', '::1/129'],
    });
  });

  test('an empty list allows nothing extra', () => {
    expect(parseAllowedHosts('')).toEqual({ ok: true, hosts: [] });
  });
});
