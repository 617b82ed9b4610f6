import { describe, expect, it } from 'vitest';
import { captures } from '../../src/metrics.ts';
import { startMetricsServer } from '../../src/metrics-server.ts';

describe('metrics endpoint of the parts without an API', () => {
  it('serves what this process counts at /metrics, and nothing else', async () => {
    const m = await startMetricsServer(0, '127.0.0.1');
    try {
      captures.inc({ tool: 'metrics-server-test', status: 'succeeded' });
      const res = await fetch(m.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^tracehound_captures_total\{tool="metrics-server-test",status="succeeded"\} 1$/m);
      expect((await fetch(m.url.replace('/metrics', '/'))).status).toBe(404);
    } finally {
      await m.stop();
    }
  });
});
