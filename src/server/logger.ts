import { pino, type Logger } from 'pino';

/**
 * JSON lines on stdout (App Platform and Kubernetes collect them); readable lines when a person
 * watches a terminal. Secrets never reach a log line.
 */
export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: 'audiohook-connector', pid: process.pid },
    redact: {
      paths: ['headers["x-api-key"]', 'headers.signature', 'headers["signature-input"]', 'headers.authorization', 'clientSecret', 'apiKey'],
      censor: '[redacted]',
    },
    // pino-pretty runs in a worker thread of pino's; only when attached to a terminal.
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, ignore: 'service,hostname' } } } : {}),
  });
}
