import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { downloadUrl } from '../../../../src/core/ingest/sources/download-url.ts';
import { isPublicAddress } from '../../../../src/core/ingest/sources/public-network.ts';

test('loopback, private, link-local, documentation and reserved addresses are not public; ordinary ones are', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.9', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1',
    '192.0.2.2', '198.51.100.7', '203.0.113.200', '192.88.99.1', '2001:db8::1', '::ffff:192.0.2.2']) {
    assert.equal(isPublicAddress(address), false, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(address), true, address);
});

test('an IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) is judged as that address; other special IPv6 ranges are not public', () => {
  for (const address of ['::ffff:7f00:1', '64:ff9b::7f00:1', '64:ff9b::a00:1', '2002:7f00:1::', '2002:c0a8:101::1', '::127.0.0.1', '64:ff9b:1::808:808', '100::1', '2001::1', '2001:db8::1', 'fec0::1', 'fe80::1%eth0']) {
    assert.equal(isPublicAddress(address), false, address);
  }
  for (const address of ['64:ff9b::808:808', '2002:808:808::1', '2a00:1450:4001::200e']) assert.equal(isPublicAddress(address), true, address);
});

test('a download from the server\'s own network is refused unless private networks are allowed', async () => {
  const server = createServer((_request, response) => response.end('id\n1\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const url of [`http://127.0.0.1:${port}/x.csv`, `http://localhost:${port}/x.csv`, `http://[::ffff:127.0.0.1]:${port}/x.csv`]) {
      await assert.rejects(downloadUrl(url, { timeoutMs: 5000 }), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'INVALID_ARGUMENT', url);
        assert.match(error.message ?? '', /loopback, private or reserved address/);
        return true;
      });
    }
    const allowed = await downloadUrl(`http://127.0.0.1:${port}/x.csv`, { timeoutMs: 5000, allowPrivateNetworks: true });
    allowed.body.resume();
  } finally {
    server.close();
  }
});
