// Claiming a run directory when several runs start into it at once: exactly one wins, and every other run's
// refusal names the winner (it never reads a lock file half written).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ApplicationFailure } from '@temporalio/common';
import { claimRunDir } from '../../activities/run-dir.js';
import { RUN_LOCK_FILE } from '../../core/run-layout.js';

/** Runs `body` with a scratch folder and a one-row dataset in it, removed afterwards. */
async function inScratch(body: (dir: string, dataset: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-claim-'));
  try {
    const dataset = join(dir, 'data.jsonl');
    await writeFile(dataset, '{"text":"a","label":"x"}\n');
    await body(dir, dataset);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('claimRunDir: of 8 runs claiming one empty directory at once, one wins and 7 are refused naming it, 100 times over', async () => {
  await inScratch(async (dir, dataset) => {
    // The loser of the exclusive create reads the winner's lock at once; the code that created it empty and then
    // wrote it let a loser read it empty now and then ("unreadable lock", run id ?: 2 times in 300 rounds ad hoc).
    for (let round = 0; round < 100; round++) {
      const runDir = join(dir, `run-${round}`);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => claimRunDir({ runDir, dataset, workflowId: `wf-${round}-${i}`, runId: `r-${i}` })),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `round ${round}: exactly one claim wins`);
      const winner = won[0]!;
      const lock = JSON.parse(await readFile(join(runDir, RUN_LOCK_FILE), 'utf8')) as { workflowId: string; runId: string; state: string };
      assert.deepEqual(lock, { workflowId: `wf-${round}-${winner}`, runId: `r-${winner}`, state: 'running' });
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        const err = r.reason as ApplicationFailure;
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'DqeOutputInUse', err.message);
        assert.equal(err.message, `output directory ${runDir} is in use by run wf-${round}-${winner} (run id r-${winner}, running); give another output directory, or wait for that run to end (if it was terminated and will not end, delete ${RUN_LOCK_FILE} there)`);
      }
      assert.deepEqual(await readdir(runDir), [RUN_LOCK_FILE], 'no temporary lock left behind');
    }
  });
});

/** Reads `path` in a tight loop on its own thread until stopped; resolves with every distinct content it read. */
async function pollFile(path: string): Promise<{ stop: () => Promise<string[]> }> {
  const code = `
    const { readFileSync } = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    const seen = new Set();
    let stop = false;
    parentPort.on('message', () => (stop = true));
    const spin = () => {
      for (let i = 0; i < 2000; i++) {
        try { seen.add(readFileSync(workerData, 'utf8')); } catch (err) { if (err.code !== 'ENOENT') throw err; }
      }
      if (stop) parentPort.postMessage([...seen]);
      else setImmediate(spin);
    };
    parentPort.postMessage('ready');
    spin();`;
  const worker = new Worker(code, { eval: true, workerData: path });
  await once(worker, 'message');
  return {
    stop: async () => {
      worker.postMessage('stop');
      const [seen] = (await once(worker, 'message')) as [string[]];
      await worker.terminate();
      return seen;
    },
  };
}

test('claimRunDir: another thread reading the lock file while a run claims the directory never reads it incomplete', async () => {
  await inScratch(async (dir, dataset) => {
    for (let round = 0; round < 20; round++) {
      const runDir = join(dir, `poll-${round}`);
      await mkdir(runDir);
      const poller = await pollFile(join(runDir, RUN_LOCK_FILE));
      await claimRunDir({ runDir, dataset, workflowId: `wf-${round}`, runId: 'r' });
      const whole = `${JSON.stringify({ workflowId: `wf-${round}`, runId: 'r', state: 'running' }, null, 2)}\n`;
      for (const text of await poller.stop()) assert.equal(text, whole, `round ${round}: read a lock that is not whole`);
    }
  });
});

test('claimRunDir: a lock file still empty (created where hard links are missing) is waited for, then named', async () => {
  await inScratch(async (dir, dataset) => {
    const runDir = join(dir, 'run');
    await mkdir(runDir);
    const lockPath = join(runDir, RUN_LOCK_FILE);
    await writeFile(lockPath, '');
    const claim = claimRunDir({ runDir, dataset, workflowId: 'wf-late', runId: 'r-late' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await writeFile(lockPath, `${JSON.stringify({ workflowId: 'wf-first', runId: 'r-first', state: 'running' })}\n`);
    await assert.rejects(claim, (err: ApplicationFailure) => {
      assert.equal(err.type, 'DqeOutputInUse');
      assert.match(err.message, /is in use by run wf-first \(run id r-first, running\)/u);
      return true;
    });
    // Left empty, it is refused as unreadable after the wait (two seconds), never taken.
    await writeFile(lockPath, '');
    await assert.rejects(claimRunDir({ runDir, dataset, workflowId: 'wf-late', runId: 'r-late' }), /in use by run \(unreadable lock\)/u);
  });
});
