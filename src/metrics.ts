import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of this process (GET /metrics on the API). With `npm start` every part runs here, so the API
 * shows them all; run apart, each part counts its own.
 */
export const metrics = new Registry();
collectDefaultMetrics({ register: metrics, prefix: 'tracehound_' });

/** Where a request came from, without the person: "token", "slack", "alertmanager", "schedule". */
export const sourceOf = (requestedBy: string) => requestedBy.split(':')[0] ?? 'unknown';

export const httpRequests = new Counter({
  name: 'tracehound_http_requests_total',
  help: 'API requests by route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metrics],
});

export const investigationsStarted = new Counter({
  name: 'tracehound_investigations_started_total',
  help: 'Investigations queued, by playbook and source',
  labelNames: ['playbook', 'source'] as const,
  registers: [metrics],
});

export const investigationsRefused = new Counter({
  name: 'tracehound_investigations_rate_limited_total',
  help: 'Investigations refused by the per-requester rate limit, by source',
  labelNames: ['source'] as const,
  registers: [metrics],
});

export const investigationsFinished = new Counter({
  name: 'tracehound_investigations_finished_total',
  help: 'Investigations ended, by playbook and status',
  labelNames: ['playbook', 'status'] as const,
  registers: [metrics],
});

export const investigationSeconds = new Histogram({
  name: 'tracehound_investigation_duration_seconds',
  help: 'From queued to ended',
  labelNames: ['playbook'] as const,
  buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
  registers: [metrics],
});

export const captures = new Counter({
  name: 'tracehound_captures_total',
  help: 'Captures run by this node agent, by tool and outcome',
  labelNames: ['tool', 'status'] as const,
  registers: [metrics],
});

export const captureSeconds = new Histogram({
  name: 'tracehound_capture_duration_seconds',
  help: 'Wall time of a capture job on the agent (time box, program load, parsing, upload)',
  labelNames: ['tool'] as const,
  buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180],
  registers: [metrics],
});

export const notificationsPosted = new Counter({
  name: 'tracehound_notifications_total',
  help: 'Chat posts (response_url, incoming webhooks) by kind and result',
  labelNames: ['kind', 'result'] as const,
  registers: [metrics],
});

export const renderTasks = new Counter({
  name: 'tracehound_render_tasks_total',
  help: 'Renders in the API worker pool (diff SVG, PNG thumbnail) by kind and outcome: done, failed, refused (pool full)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [metrics],
});

export const renderPoolTasks = new Gauge({
  name: 'tracehound_render_pool_tasks',
  help: 'Renders admitted to the API worker pool and not finished (state admitted: loading inputs, waiting or running), and those running',
  labelNames: ['state'] as const,
  registers: [metrics],
});

export const diffCache = new Counter({
  name: 'tracehound_diff_cache_total',
  help: 'Differential flame graph requests answered from object storage (hit) or rendered (miss)',
  labelNames: ['result'] as const,
  registers: [metrics],
});

export const eventStreams = new Gauge({
  name: 'tracehound_event_streams',
  help: 'Open server-sent event streams (GET /v1/investigations/:id/events) of this API process',
  registers: [metrics],
});
