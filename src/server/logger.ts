import { pino, type Logger } from 'pino';

/** JSON lines on stdout (App Platform collects them); secrets never reach a log line. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'audiohook-connector' },
    redact: {
      paths: ['headers["x-api-key"]', 'headers.signature', 'headers["signature-input"]', 'clientSecret', 'apiKey'],
      censor: '[redacted]',
    },
  });
}
