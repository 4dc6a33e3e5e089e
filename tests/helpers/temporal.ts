// Gives each test file the suite's real Temporal dev server (started by tests/run.ts through the
// official `temporal` CLI), or starts one of its own when the file is run alone.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../infra/temporal.js';

export interface TestTemporal {
  address: string;
  env: TestWorkflowEnvironment;
  client: Client;
  workerConnection: NativeConnection;
  close(): Promise<void>;
}

export async function testTemporal(): Promise<TestTemporal> {
  let server: DevServer | undefined;
  let address = process.env.DQE_TEST_TEMPORAL_ADDRESS;
  if (!address) {
    server = await startDevServer();
    address = server.address;
  }
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address });
  return {
    address,
    env,
    client: env.client,
    workerConnection: env.nativeConnection,
    async close() {
      await env.teardown();
      await server?.stop();
    },
  };
}

/** A workflow id no other test uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
