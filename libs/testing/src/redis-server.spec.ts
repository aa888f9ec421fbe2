import { testRedisUrl } from './fixtures';
import * as net from 'node:net';

describe('test harness', () => {
  it('runs a private redis-server that answers PING, never on 6379', async () => {
    const url = new URL(testRedisUrl());
    expect(url.port).not.toBe('6379');
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(url.port), url.hostname, () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString());
      });
      s.once('error', reject);
    });
    expect(reply).toBe('+PONG\r\n');
  });
});
