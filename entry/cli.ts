import { AGENT_VERSION } from '../src/version.ts';
import type { Stoppable } from '../src/stoppable.ts';

// Every module below the commands is imported when that command runs: `--help`, `--version`, `flamegraph` and
// `token` do not load the service (AWS SDK, BullMQ, the Kubernetes client), and `agent` does not load the API.

const USAGE = `usage: tracehound [start|api|orchestrator|agent|flamegraph|token|playbooks|mcp|--version]
  start          API + orchestrator + a node agent for this host, with embedded Redis/S3 when unconfigured
  api            the HTTP API only
  orchestrator   the playbook runner only
  agent          the node agent for this host only (needs root for BPF)
  flamegraph     folded stacks on stdin → interactive SVG on stdout (see tracehound flamegraph --help)
  token create   a new API token and its ACCESS_FILE entry (see tracehound token --help)
  playbooks check  compile playbooks as a start-up would, listing every problem (see tracehound playbooks --help)
  mcp            MCP server on stdio for Claude and other MCP hosts, a client of the API at TRACEHOUND_URL
                 with TRACEHOUND_TOKEN (README, "MCP")
Configuration comes from the environment; see README.md.`;

/** Ctrl-C must end the process promptly: past this, what is still stopping is named and the process exits anyway. */
const STOP_DEADLINE_MS = 2_500;

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'start';
  if (command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (command === '--version' || command === 'version') {
    // The runtime too: which Node runs tracehound is the first question of a support request.
    console.log(`tracehound ${AGENT_VERSION} (node ${process.version})`);
    return;
  }
  if (command === 'flamegraph') {
    // Loaded on demand: the service does not need the renderer's CLI to start.
    const { runFlamegraphCommand, processIo } = await import('./flamegraph-cli.ts');
    process.exitCode = runFlamegraphCommand(argv.slice(1), processIo);
    return;
  }
  if (command === 'token') {
    const { runTokenCommand } = await import('./token-cli.ts');
    process.exitCode = runTokenCommand(argv.slice(1), { out: (s) => process.stdout.write(s), err: (s) => console.error(s) });
    return;
  }
  if (command === 'playbooks') {
    const { runPlaybooksCommand } = await import('./playbooks-cli.ts');
    process.exitCode = await runPlaybooksCommand(argv.slice(1), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`) });
    return;
  }
  if (command === 'mcp') {
    // A client of a running API: none of the service is loaded, and the MCP SDK only by this command.
    const { McpEnvError, readMcpClientEnv } = await import('../src/mcp/client-env.ts');
    try {
      const env = readMcpClientEnv(process.env);
      await (await import('../src/mcp/stdio.ts')).runMcpStdio(env);
    } catch (err) {
      if (!(err instanceof McpEnvError)) throw err;
      console.error(err.message);
      process.exitCode = 2;
    }
    return;
  }
  if (!['start', 'api', 'orchestrator', 'agent'].includes(command)) {
    console.error(`unknown command "${command}"\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  const { ConfigError, describeConfig, loadConfig } = await import('../src/config.ts');
  const { createLogger } = await import('../src/log.ts');
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL);
  const parts: Stoppable[] = [];
  /** Embedded servers and what else the services own: stopped after every part that uses them. */
  const owned: Stoppable[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const still = new Set<string>();
    // Whatever has not stopped by then (a client waiting on a server that is gone, a job that will not end) is named
    // and left to the exit: a Ctrl-C that takes 10 s gets a second one, or a kill -9 that cleans up nothing.
    const deadline = setTimeout(() => {
      log.error({ stillStopping: [...still] }, 'shutdown deadline passed; exiting anyway');
      console.error(`tracehound: still stopping after ${STOP_DEADLINE_MS} ms: ${[...still].join(', ')}; exiting anyway`);
      process.exit(code === 0 ? 1 : code);
    }, STOP_DEADLINE_MS);
    const stopEach = (group: Stoppable[]) =>
      Promise.all(
        group.map(async (p) => {
          still.add(p.name);
          await p.stop().catch((err: unknown) => log.error({ err, part: p.name }, 'stop failed'));
          still.delete(p.name);
        }),
      );
    // The parts are independent of each other; the servers they use go last.
    await stopEach(parts);
    await stopEach(owned);
    clearTimeout(deadline);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const { startServices } = await import('./services.ts');
    const services = await startServices(config, log, {
      onFatal: (err) => {
        log.fatal({ err }, 'an embedded server is gone; stopping');
        console.error(`tracehound: ${err.message}; stopping`);
        void stopAll(1);
      },
    });
    owned.push(...services.owned);
    if (command === 'start' || command === 'agent') {
      const { startAgentPart } = await import('./agent.ts');
      parts.push(await startAgentPart(config, services, log));
    }
    // The API before the orchestrator: links in notifications point at the address it really listens on.
    const api = command === 'start' || command === 'api' ? await (await import('./api-server.ts')).startApi(config, services, log) : null;
    if (api) parts.push(api);
    if (command === 'start' || command === 'orchestrator') {
      const { startOrchestratorPart } = await import('./orchestrator.ts');
      parts.push(await startOrchestratorPart(config, services, log, api ? { publicUrl: api.url, apiTokens: api.tokens } : {}));
    }
    // Every part is up (the API listens): the storage client loads and the bucket is made now, off the path of
    // the first requests (entry/services.ts).
    services.storage.start();
    if (api) {
      log.info({ url: api.url }, 'API listening');
      console.log(`tracehound ${command} ready: ${api.url}  (${describeConfig(config)}; Ctrl-C stops everything)`);
      if (api.generatedToken) {
        console.log(`API token (admin, this run only; also in ${api.generatedToken.file}):\n  ${api.generatedToken.token}`);
        console.log(`  try: curl -H "Authorization: Bearer $(cat ${api.generatedToken.file})" ${api.url}/v1/nodes`);
      }
    } else {
      if (config.METRICS_PORT !== undefined) {
        const { startMetricsServer } = await import('../src/metrics-server.ts');
        const m = await startMetricsServer(config.METRICS_PORT, config.HOST);
        parts.push({ name: 'metrics', stop: m.stop });
        log.info({ url: m.url }, 'metrics served');
      }
      console.log(`tracehound ${command} running (${describeConfig(config)}; Ctrl-C stops it)`);
    }
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    console.error(`start-up failed: ${(err as Error).message}`);
    await stopAll(1);
  }
}

await main(process.argv.slice(2));
