/**
 * Import rules checked by `npm run lint` (issue #12), type-only imports included (tsPreCompilationDeps): a cycle or
 * an upward import of types still ties two rooms together and is the first step of a runtime one.
 * - No import cycles: a type two files both need lives in a third.
 * - Layers (docs/ARCHITECTURE.md): core (src/core, src/flamegraph) ← tools (bpf/) ← domain (playbooks, findings,
 *   report, sweeps, alerts, chatops) ← adapters (redis, records, queue, storage, schedules, …) ← processes
 *   (src/api, workers/*) ← entry points (entry/: composition roots). A room imports only from layers before it.
 */
const CORE = '^src/(core|flamegraph)/';
const TOOLS = '^bpf/';
const DOMAIN = '^src/(playbooks|findings|report|sweeps|alerts|chatops)/';
const PROCESSES = '^(src/api|workers)/';
const ENTRY = '^entry/';
/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only imports count): move what both files need into a third, lower one.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core imports only src/core: it is the domain everything else builds on.',
      from: { path: '^src/core/' },
      to: { path: '^(src|bpf|workers|entry)/', pathNot: '^src/core/' },
    },
    {
      name: 'flamegraph-is-core',
      severity: 'error',
      comment: 'src/flamegraph draws from folded stacks: it may use src/core and nothing else of ours.',
      from: { path: '^src/flamegraph/' },
      to: { path: '^(src|bpf|workers|entry)/', pathNot: CORE },
    },
    {
      name: 'tools-below-domain',
      severity: 'error',
      comment: 'A capture tool (bpf/) uses only core and the shared bpf/ helpers; findings about it live in src/findings.',
      from: { path: TOOLS },
      to: { path: '^(src|workers|entry)/', pathNot: CORE },
    },
    {
      name: 'domain-below-adapters',
      severity: 'error',
      comment: 'Domain rooms are pure over core and tools: no Redis, S3, HTTP or process code.',
      from: { path: DOMAIN },
      to: { path: '^(src|workers|entry)/', pathNot: `${CORE}|${DOMAIN}` },
    },
    {
      name: 'adapters-below-processes',
      severity: 'error',
      comment: 'src/ (but the API) never reaches into a process or an entry point: those compose it.',
      from: { path: '^src/', pathNot: '^src/api/' },
      to: { path: `${PROCESSES}|${ENTRY}` },
    },
    {
      name: 'processes-apart',
      severity: 'error',
      comment: 'The API, the orchestrator and the agent meet only through queues and records, never by import.',
      from: { path: '^(src/api|workers/orchestrator|workers/node-agent)/' },
      to: { path: PROCESSES, pathNot: '$1' },
    },
    {
      name: 'entry-points-on-top',
      severity: 'error',
      comment: 'Only entry points (and tests, benches, bin/) import entry/: nothing below composes itself.',
      from: { path: '^(src|bpf|workers)/' },
      to: { path: ENTRY },
    },
    {
      name: 'infra-apart',
      severity: 'error',
      comment:
        'Infrastructure code (infra/) describes a deployment: the service never imports it, and it imports none of the service; its tests read the facts they check from the service (infra/*/test/).',
      from: { path: '^infra/', pathNot: '^infra/[^/]+/test/' },
      to: { path: '^(src|bpf|workers|entry|scripts|bin)/' },
    },
    {
      name: 'service-without-infra',
      severity: 'error',
      comment: 'Nothing that runs imports the deployment description.',
      from: { path: '^(src|bpf|workers|entry|scripts|bin)/' },
      to: { path: '^infra/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` too: the cycle rule covers types (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
  },
};
