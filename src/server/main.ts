#!/usr/bin/env node
/** Entry point: configuration, engines, server, graceful shutdown. */
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/config.js';
import { createConfiguredEngines } from '../engines/configured.js';
import { createConfiguredTranslation } from '../translation/configured.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

if (existsSync('.env')) process.loadEnvFile('.env');

let config;
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

if (!config.apiKeys) {
  log.warn('authentication DISABLED: no GENESYS_API_KEY / GENESYS_API_KEYS set (development only; refused when NODE_ENV=production)');
}
const engines = await createConfiguredEngines(config, log);
for (const engine of engines.engines) for (const warning of engine.warnings ?? []) log.warn({ engine: engine.name }, warning);
for (const [name, why] of Object.entries(config.unconfiguredEngines)) {
  // The default engine missing is worth a warning: sessions that name no engine will be refused.
  if (name === config.defaultVendor) log.warn({ engine: name }, `default engine not available: ${why}`);
  else log.info({ engine: name }, `engine not configured: ${why}`);
}
log.info({ engines: engines.available, defaultEngine: config.defaultVendor }, 'engines ready');
const translation = await createConfiguredTranslation(config);
if (translation) log.info({ translator: translation.name, timeoutMs: translation.timeoutMs }, 'translation ready');
else if (!config.translation.configured) log.info(`translation not configured: ${config.translation.reason}`);
const server = await startServer(config, { engines, log, ...(translation ? { translation } : {}) }).catch((err: NodeJS.ErrnoException) => {
  log.fatal({ code: err.code, port: config.port, host: config.host }, `cannot listen: ${err.message}`);
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    void server
      .drain(config.shutdownGraceMs)
      .then(() => server.close())
      .then(() => engines.close())
      .then(() => process.exit(0));
  });
}
