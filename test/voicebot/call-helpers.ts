/**
 * Voice-bot calls end to end: the real server (AUDIO_CONNECTOR_PATH), real flite prompts, a
 * scripted bot on a local HTTP server, and the CLI's Genesys-like caller (runVoiceBotCall).
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { createConfiguredEngines } from '../../src/engines/configured.js';
import { createEngineRegistry } from '../../src/engines/registry.js';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import type { SpeechEngine } from '../../src/engines/types.js';
import { startServer } from '../../src/server/server.js';
import { createSynthesizers } from '../../src/synthesis/registry.js';
import { findExecutable } from '../../src/config/executables.js';
import { runVoiceBotCall, type VoiceBotCallOptions } from '../../src/cli/voicebot/run.js';
import { callerAudioFromWav, type CallerAudio, type ScriptStep } from '../../src/cli/voicebot/script.js';
import type { BotReply, BotRequest } from '../../src/voicebot/bot/types.js';
import { API_KEY, CLIENT_SECRET, ORG_ID, countingEngine } from '../server/harness.js';

export const canSynthesize = findExecutable('flite') !== undefined;

/** A bot answering from a script: `reply(request)` per turn; it records every request. */
export async function startScriptedBot(reply: (req: BotRequest) => Partial<BotReply> | 'hang' | 'fail' | Promise<Partial<BotReply> | 'hang' | 'fail'>) {
  const requests: BotRequest[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BotRequest;
      requests.push(body);
      void Promise.resolve(reply(body)).then((r) => {
        if (r === 'hang') return void hanging.push(res);
        if (r === 'fail') {
          res.writeHead(500).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bot`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `engine`: the one engine sessions get (simulated by default), or 'configured' for the server's own (the offline default). */
export async function startVoiceBotServer(env: Record<string, string>, engine?: SpeechEngine | 'configured') {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: CLIENT_SECRET,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  const configured = engine === 'configured' ? await createConfiguredEngines(config, log) : undefined;
  const eng = countingEngine(engine === 'configured' || !engine ? createSimulatedEngine({ endSilenceMs: 300 }) : engine);
  const engines = configured ?? createEngineRegistry([eng], eng.name);
  const synthesizers = await createSynthesizers(config.synthesis, log);
  const server = await startServer(config, { engines, log, synthesizers });
  const base = `ws://127.0.0.1:${server.port}`;
  return {
    server,
    engine: eng,
    config,
    url: (connectorId: string) => `${base}${config.voiceBot.path}/${connectorId}`,
    transcriptionUrl: `${base}${config.path}`,
    close: async () => {
      await server.close();
      await synthesizers.close();
      await configured?.close();
    },
  };
}

export function callOptions(url: string, steps: ScriptStep[], overrides: Partial<VoiceBotCallOptions> = {}): VoiceBotCallOptions {
  return {
    url,
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    organizationId: ORG_ID,
    language: 'en-US',
    inputVariables: { customerTier: 'gold' },
    ani: 'tel:+15551234567',
    dnis: 'tel:+15557654321',
    script: { steps },
    maxSeconds: 40,
    maxLeadMs: 1000,
    playbackEvents: true,
    expectNoAudio: false,
    promptTimeoutSeconds: 20,
    ...overrides,
  };
}

export const call = runVoiceBotCall;

/** Caller audio from the committed samples (flite speech, 8 kHz µ-law). */
export function sample(name: string): CallerAudio {
  return callerAudioFromWav(name, readFileSync(new URL(`../../samples/voicebot/${name}`, import.meta.url)));
}

/** A short loud burst (a click on the line): `ms` of a 1 kHz tone at −6 dBFS. */
export function click(ms: number): CallerAudio {
  const n = Math.round((ms * 8000) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(16000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  return { name: `click-${ms}ms`, pcm, durationSeconds: ms / 1000 };
}

export const step = (s: Partial<ScriptStep> & Pick<ScriptStep, 'trigger'>): ScriptStep => ({ delay: 0, hangup: false, ...s });
