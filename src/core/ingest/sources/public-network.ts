import { lookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { SluiceError } from '../../errors.ts';

/**
 * Addresses a URL import must not reach unless the operator allows it: loopback, private,
 * link-local, shared, benchmark, documentation, 6to4 relay, multicast and reserved ranges (an
 * address of one may be the server's own network's: documentation ranges are used so); in
 * IPv6 also the IPv4-compatible, local NAT64, discard, Teredo, benchmarking, ORCHID, documentation
 * and site-local ranges.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 32], ['2001:2::', 48], ['2001:10::', 28], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  // An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) reaches that address: it is judged as it.
  const embedded = embeddedIpv4(address);
  if (embedded !== undefined) return !NOT_PUBLIC.check(embedded, 'ipv4');
  return !NOT_PUBLIC.check(address, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  const dotted = (at: number) => [...bytes.subarray(at, at + 4)].join('.');
  if (bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return dotted(12);
  if (bytes.readUInt32BE(0) === 0x0064ff9b && bytes.readUInt32BE(4) === 0 && bytes.readUInt32BE(8) === 0) return dotted(12);
  if (bytes.readUInt16BE(0) === 0x2002) return dotted(2);
  return undefined;
}

/** The 16 bytes of a valid IPv6 address: `::` expanded, a trailing dotted IPv4 part read, a zone (`%eth0`) left out. */
function ipv6Bytes(address: string): Buffer {
  let text = address.split('%')[0]!;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const [before, after] = [groups(head), groups(rest)];
  const all = rest === undefined ? before : [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}

export function refusedAddress(host: string): SluiceError {
  return new SluiceError(
    'INVALID_ARGUMENT',
    `Imports from ${host} are refused: it is a loopback, private or reserved address (set SLUICE_ALLOW_PRIVATE_URLS=true to allow them)`,
    { host },
  );
}

/** A URL whose host is a literal address must name a public one. */
export function checkLiteralHost(url: URL): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isPublicAddress(host)) throw refusedAddress(host);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for connections of URL imports: every name is resolved when a connection is made and
 * refused if any of its addresses is not public, so redirects and changing DNS answers cannot reach
 * the server's own network. (A literal address is never looked up: see `checkLiteralHost`.)
 */
export function publicLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  lookup(hostname, { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) return callback(refusedAddress(`${hostname} (${refused.address})`) as unknown as NodeJS.ErrnoException, []);
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
