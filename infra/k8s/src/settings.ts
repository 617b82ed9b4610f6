/**
 * tracehound-config: what every part reads from the environment (src/config.ts names them all). Redis and object
 * storage are the operator's: the values below are placeholders an overlay replaces (overlays/example). Both must
 * be set, or a process starts private embedded servers instead.
 */
export const SETTINGS = {
  REDIS_URL: 'rediss://redis.example.internal:6379',
  // true for ElastiCache Serverless, MemoryDB or any Redis Cluster (then QUEUE_PREFIX needs a hash tag: "{tracehound}").
  REDIS_CLUSTER: 'false',
  QUEUE_PREFIX: 'tracehound',
  // AWS S3 in its region, addressed virtual-host style; MinIO or Ceph RGW want their URL and S3_FORCE_PATH_STYLE=true.
  S3_ENDPOINT: 'https://s3.us-east-1.amazonaws.com',
  S3_BUCKET: 'tracehound',
  S3_REGION: 'us-east-1',
  S3_FORCE_PATH_STYLE: 'false',
  PUBLIC_BASE_URL: 'https://tracehound.example.com',
  // Pods and nodes come from the cluster (in-cluster service account): get/list pods, list nodes (rbac.ts).
  INVENTORY: 'kubernetes',
  LOG_LEVEL: 'info',
} as const;

/** The TCP port a URL's service listens on: its explicit port, or its scheme's default. */
export function portOf(url: string): number {
  const u = new URL(url);
  if (u.port !== '') return Number(u.port);
  const byScheme: Record<string, number> = { 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379 };
  const port = byScheme[u.protocol];
  if (port === undefined) throw new Error(`no default port for ${u.protocol} in ${url}`);
  return port;
}
