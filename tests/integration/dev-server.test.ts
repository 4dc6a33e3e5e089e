// Starting the official `temporal` dev server the way the suite, the benches and `dqe run` do: ports held back
// from other processes, a server that exits before it listens started again on fresh ports, and an error that
// says what the server printed (a CI run once failed with only "exited with code 1").
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, portOpen, startDevServer } from '../../infra/temporal.js';

/** A loopback listener of this process's, so the port is taken for as long as the test wants. */
async function takePort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

/** The states (hex, as /proc/net/tcp writes them: 06 = TIME_WAIT, 0A = LISTEN) of the IPv4 sockets whose local port is `port`. */
async function socketStates(port: number): Promise<string[]> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return (await readFile('/proc/net/tcp', 'utf8'))
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hex}`))
    .map((f) => f[3]!);
}

describe('temporal dev server start', () => {
  let dir: string;
  const taken: Server[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dqe-dev-server-'));
  });
  after(async () => {
    for (const s of taken) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('freePort leaves the port in TIME_WAIT, closed to bind(0) but open to a server that binds it by number', async () => {
    const a = await freePort();
    const b = await freePort();
    assert.notEqual(a, b);
    assert.deepEqual(await socketStates(a), ['06']);
    assert.equal(await portOpen(a), false);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(a, '127.0.0.1', resolve));
    assert.deepEqual((await socketStates(a)).sort(), ['06', '0A']);
    await new Promise((resolve) => server.close(resolve));
  });

  test('a UI port taken between the pick and the start: the server exits, is started again on fresh ports and serves', async () => {
    const busy = await takePort();
    taken.push(busy.server);
    // The ports handed out, in order: attempt 1's gRPC port and (taken) UI port, then attempt 2's two.
    const picks = [await freePort(), busy.port, await freePort(), await freePort()];
    const handed = [...picks];
    const lines: string[] = [];
    const server = await startDevServer({ dbFile: join(dir, 'retry.db'), pickPort: () => Promise.resolve(picks.shift()!), log: (l) => lines.push(l) });
    try {
      assert.equal(picks.length, 0);
      assert.equal(server.address, `127.0.0.1:${handed[2]}`);
      assert.equal(server.uiUrl, `http://127.0.0.1:${handed[3]}`);
      assert.equal(await portOpen(handed[2]!), true);
      const failed = lines.filter((l) => l.startsWith('temporal dev server'));
      assert.equal(failed.length, 1);
      assert.match(failed[0]!, new RegExp(`^temporal dev server \\(127\\.0\\.0\\.1:${handed[0]}, UI ${busy.port}\\) exited with code 1 before it listened, attempt 1 of 3; it printed:\\n`));
      assert.match(failed[0]!, new RegExp(`can't set UI port ${busy.port}: listen tcp 127\\.0\\.0\\.1:${busy.port}: bind: address already in use`));
      assert.equal(lines.filter((l) => l.startsWith('starting ')).length, 2);
    } finally {
      await server.stop();
    }
    assert.equal(await portOpen(handed[2]!), false);
  });

  test('after the last attempt the error carries what the server printed', async () => {
    const busy = await takePort();
    taken.push(busy.server);
    const lines: string[] = [];
    await assert.rejects(
      startDevServer({ dbFile: join(dir, 'fail.db'), uiPort: busy.port, attempts: 2, log: (l) => lines.push(l) }),
      (err: Error) => {
        assert.match(err.message, /^temporal dev server \(127\.0\.0\.1:\d+, UI \d+\) exited with code 1 before it listened, attempt 2 of 2; it printed:\n/);
        assert.match(err.message, new RegExp(`Error: can't set UI port ${busy.port}: listen tcp 127\\.0\\.0\\.1:${busy.port}: bind: address already in use$`));
        return true;
      },
    );
    assert.equal(lines.filter((l) => l.startsWith('starting ')).length, 2);
  });

  test('a gRPC port another process listens on: a clear error, no server that only seems to be up', async () => {
    const busy = await takePort();
    taken.push(busy.server);
    await assert.rejects(startDevServer({ dbFile: join(dir, 'busy.db'), port: busy.port }), {
      message: `cannot start a temporal dev server on 127.0.0.1:${busy.port}: another process already listens there`,
    });
  });
});
