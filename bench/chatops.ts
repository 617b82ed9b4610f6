/**
 * ChatOps and alert intake benchmark: how fast the API answers a signed Slack slash command (Slack gives up after
 * 3 s) and how long a grouped Alertmanager notification of 100 firing alerts takes to turn into investigations.
 * API only, against an embedded Redis and S3; investigations stay queued (no agent).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signSlackRequest } from '../src/chatops/signature.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApi } from '../entry/api-server.ts';
import { startServices } from '../entry/services.ts';
import type { Stoppable } from '../src/stoppable.ts';

const SECRET = 'bench-signing-secret-0123456789';
const BEARER = 'bench-alertmanager-token-0123';
const dir = mkdtempSync(join(tmpdir(), 'th-bench-chat-'));
writeFileSync(join(dir, 'rules.yaml'), 'rules:\n  - { name: node-cpu, match: { alertname: NodeHighCPU }, playbook: cpu-profile, target: node, params: { duration: 5s } }\n');
const config = loadConfig({
  PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: join(dir, 'data'), REDIS_URL: '', S3_ENDPOINT: '', ACCESS_FILE: '', RATE_LIMIT: '100000/1m',
  SLACK_SIGNING_SECRET: SECRET, NOTIFY_URL_HOSTS: '127.0.0.1', ALERT_RULES_FILE: join(dir, 'rules.yaml'), ALERTMANAGER_BEARER_TOKEN: BEARER,
});
const log = createLogger('silent');
const services = await startServices(config, log);
const parts: Stoppable[] = [...services.owned];
const api = await startApi(config, services, log);
parts.push(api);

let trigger = 0;
async function slash(text: string): Promise<number> {
  const body = new URLSearchParams({
    command: '/investigate', text, user_id: 'U0BENCH', channel_id: 'C0BENCH', response_url: 'http://127.0.0.1:9/never', trigger_id: `bench.${++trigger}`,
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  const res = await fetch(`${api.url}/v1/chatops/slack/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(SECRET, ts, body) },
    body,
  });
  await res.text();
  if (res.status !== 200) throw new Error(`slash command answered ${res.status}`);
  return performance.now() - t0;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const line = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

try {
  for (let i = 0; i < 20; i++) await slash('help'); // warm-up
  const help: number[] = [];
  for (let i = 0; i < 300; i++) help.push(await slash('help'));
  const start: number[] = [];
  for (let i = 0; i < 300; i++) start.push(await slash(`profile node=bench-node for=5s hz=99`));
  console.log('slash command → reply (target: well under 3 s)');
  console.log(`  help:                     ${line(help)}`);
  console.log(`  start an investigation:   ${line(start)}`);

  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const startsAt = new Date(Date.now() - 60_000 - r).toISOString();
    const alerts = Array.from({ length: 100 }, (_, i) => ({
      status: 'firing', labels: { alertname: 'NodeHighCPU', instance: `node-${r}-${i}:9100`, severity: 'warning' }, annotations: { summary: 'CPU above 90%' },
      startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint: (r * 1000 + i).toString(16).padStart(16, '0'),
    }));
    const payload = { version: '4', groupKey: `{}:{alertname="NodeHighCPU",run="${r}"}`, truncatedAlerts: 0, status: 'firing', receiver: 'tracehound', groupLabels: { alertname: 'NodeHighCPU' }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093', alerts };
    const t0 = performance.now();
    const res = await fetch(`${api.url}/v1/webhooks/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` }, body: JSON.stringify(payload) });
    const out = (await res.json()) as { started: unknown[] };
    runs.push(performance.now() - t0);
    if (out.started.length !== 100) throw new Error(`started ${out.started.length} of 100`);
  }
  console.log('Alertmanager notification of 100 firing alerts → 100 investigations queued');
  console.log(`  ${line(runs)} (${(pct(runs, 50) / 100).toFixed(2)} ms per alert at the median)`);
} finally {
  for (const p of parts.reverse()) await p.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
