// Connection settings for workers and clients, from the environment (TEMPORAL_* names as the
// Temporal CLI and SDKs use them).
export interface TemporalTarget {
  address: string;
  namespace: string;
}

export function temporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget | undefined {
  if (!env.TEMPORAL_ADDRESS) return undefined;
  return { address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE ?? 'default' };
}
