#!/usr/bin/env node
/**
 * Entry point: configuration, then either one server in this process, or (WEB_CONCURRENCY > 1)
 * a cluster primary whose workers each run one. Graceful shutdown either way.
 */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { createConfiguredEngines } from '../engines/configured.js';
import { createConfiguredTranslation } from '../translation/configured.js';
import { createSynthesizers } from '../synthesis/registry.js';
import { joinCluster, runPrimary } from './cluster.js';
import { createLogger } from './logger.js';
import { onStopSignals } from './signals.js';
import { startServer } from './server.js';

if (existsSync('.env')) process.loadEnvFile('.env');

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    for (const p of err.problems) console.error(`config error: ${p}`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const log = createLogger(config.logLevel);
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

if (cluster.isPrimary && config.workers > 1) runPrimary({ workers: config.workers, log });
else await serve(config, log);

async function serve(config: Config, log: Logger): Promise<void> {
  // From the start: a stop asked for during start-up (a signal, or the primary's drain) is not
  // lost; it is carried out once the server is up.
  let stopAsked: string | undefined;
  let stop: (() => void) | undefined;
  const shutdown = (why: string) => {
    if (stopAsked) return;
    stopAsked = why;
    log.info({ why }, 'shutting down');
    stop?.();
  };
  onStopSignals(shutdown, (signal) => {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  });
  const member = cluster.isWorker ? joinCluster(() => shutdown('primary asked')) : undefined;
  // Said once per instance, not once per worker.
  const say = cluster.isWorker && cluster.worker?.id !== 1 ? () => {} : (fn: () => void) => fn();
  if (!config.apiKeys) {
    say(() => log.warn('authentication DISABLED: no GENESYS_API_KEY / GENESYS_API_KEYS set (development only; refused when NODE_ENV=production)'));
  }
  const engines = await createConfiguredEngines(config, log);
  say(() => {
    for (const engine of engines.engines) for (const warning of engine.warnings ?? []) log.warn({ engine: engine.name }, warning);
    for (const [name, why] of Object.entries(config.unconfiguredEngines)) {
      // The default engine missing is worth a warning: sessions that name no engine will be refused.
      if (name === config.defaultVendor) log.warn({ engine: name }, `default engine not available: ${why}`);
      else log.info({ engine: name }, `engine not configured: ${why}`);
    }
  });
  log.info({ engines: engines.available, defaultEngine: config.defaultVendor }, 'engines ready');
  const translation = await createConfiguredTranslation(config);
  if (translation) log.info({ translator: translation.name, timeoutMs: translation.timeoutMs }, 'translation ready');
  else if (!config.translation.configured) {
    const why = config.translation.reason;
    say(() => log.info(`translation not configured: ${why}`));
  }

  const synthesizers = await createSynthesizers(config.synthesis, log);
  const server = await startServer(config, { engines, log, synthesizers, ...(translation ? { translation } : {}), ...(member ? { cluster: member.link } : {}) }).catch(
    (err: NodeJS.ErrnoException) => {
      log.fatal({ code: err.code, port: config.port, host: config.host }, `cannot listen: ${err.message}`);
      process.exit(1);
    },
  );
  member?.serve(server);
  stop = () =>
    void server
      .drain(config.shutdownGraceMs)
      .then(() => server.close())
      .then(() => engines.close())
      .then(() => synthesizers.close())
      .then(() => process.exit(0));
  if (stopAsked) stop();
}
