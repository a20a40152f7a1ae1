import { lookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent } from 'undici';
import { SluiceError } from '../../errors.ts';

/**
 * Addresses a URL import must not reach unless the operator allows it: loopback, private,
 * link-local, shared, benchmark, multicast and reserved ranges (the server's own network).
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it is.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  return !NOT_PUBLIC.check(address, family === 6 ? 'ipv6' : 'ipv4');
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
 * The connection pool for URL imports: every name is resolved when a connection is made and
 * refused if any of its addresses is not public, so redirects and changing DNS answers cannot reach
 * the server's own network.
 */
export const publicNetworkAgent = new Agent({
  connect: {
    lookup(hostname: string, options: { all?: boolean }, callback: LookupCallback) {
      lookup(hostname, { all: true }, (error, addresses) => {
        if (error) return callback(error, []);
        const refused = addresses.find((entry) => !isPublicAddress(entry.address));
        if (refused) return callback(refusedAddress(`${hostname} (${refused.address})`) as unknown as NodeJS.ErrnoException, []);
        if (options.all) return callback(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    },
  } as never,
});
