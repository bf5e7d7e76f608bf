import { describe, expect, it } from 'vitest';
import {
  parseClientMessage,
  parseServerMessage,
  serializeClientMessage,
  serializeServerMessage,
  type ClientMessage,
} from '../../src/protocol/messages.js';

const SID = '30b0e395-84d3-4570-ac13-9a62d8f514c0';
const env = (type: string, parameters: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ version: '2', id: SID, type, seq: 1, serverseq: 0, position: 'PT0S', parameters, ...extra });

const stereo = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 };
const openParams = {
  organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
  conversationId: '090eaa2f-72fa-480a-83e0-8667ff89c0ec',
  participant: { id: '883efee8-3d6c-4537-b500-6d7ca4b92fa0', ani: '+1-555-555-1234', aniName: 'John Doe', dnis: '+1-800-555-6789' },
  media: [stereo, { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
  language: 'en-US',
};

function ok(text: string): ClientMessage {
  const r = parseClientMessage(text);
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.message;
}
function err(text: string): string {
  const r = parseClientMessage(text);
  if (r.ok) throw new Error('expected failure');
  return r.error;
}

describe('parseClientMessage: envelope', () => {
  it('parses a well-formed open with position in seconds', () => {
    const m = ok(env('open', openParams, { position: 'PT1.5S' }));
    expect(m).toMatchObject({ version: '2', id: SID, type: 'open', seq: 1, serverseq: 0, position: 1.5 });
  });

  it('omits position when absent', () => {
    const m = ok(JSON.stringify({ version: '2', id: SID, type: 'ping', seq: 2, serverseq: 1, parameters: {} }));
    expect('position' in m).toBe(false);
  });

  it.each([
    ['{nope', 'invalid JSON'],
    ['[]', 'message is not an object'],
    ['null', 'message is not an object'],
    [JSON.stringify({ version: '1', id: SID, type: 'ping', seq: 1, serverseq: 0, parameters: {} }), 'unsupported version "1"'],
    [JSON.stringify({ version: 2, id: SID, type: 'ping', seq: 1, serverseq: 0, parameters: {} }), 'unsupported version 2'],
    [JSON.stringify({ id: SID, type: 'ping', seq: 1, serverseq: 0, parameters: {} }), 'unsupported version undefined'],
    [env('foo', {}), "unknown message type 'foo'"],
    [JSON.stringify({ version: '2', id: SID, seq: 1, serverseq: 0, parameters: {} }), 'missing type'],
    [JSON.stringify({ version: '2', type: 'ping', seq: 1, serverseq: 0, parameters: {} }), 'missing id'],
    [JSON.stringify({ version: '2', id: 7, type: 'ping', seq: 1, serverseq: 0, parameters: {} }), 'invalid id'],
    [env('ping', {}, { seq: 0 }), 'invalid seq'],
    [env('ping', {}, { seq: 1.5 }), 'invalid seq'],
    [env('ping', {}, { seq: '1' }), 'invalid seq'],
    [env('ping', {}, { seq: undefined }), 'missing seq'],
    [env('ping', {}, { serverseq: -1 }), 'invalid serverseq'],
    [env('ping', {}, { serverseq: undefined }), 'missing serverseq'],
    [env('ping', {}, { position: 'PT-1S' }), 'invalid position'],
    [env('ping', {}, { position: 5 }), 'invalid position'],
    [env('ping', undefined), 'missing parameters'],
    [env('ping', null), 'parameters must be an object'],
    [env('ping', []), 'parameters must be an object'],
    [env('ping', 'x'), 'parameters must be an object'],
  ])('%s → %s', (text, reason) => {
    expect(err(text)).toBe(reason);
  });

  it('ignores unknown envelope fields', () => {
    expect(ok(env('paused', {}, { extra: { deep: 1 } })).type).toBe('paused');
  });

  it('bounds the length of an echoed unknown type', () => {
    expect(err(env('x'.repeat(500), {})).length).toBeLessThan(80);
  });
});

describe('parseClientMessage: open', () => {
  it('keeps the original offer objects and the raw media list', () => {
    const weird = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000, extra: true };
    const m = ok(env('open', { ...openParams, media: [weird, 'junk', { type: 'video' }], futureField: 1 }));
    if (m.type !== 'open') throw new Error('type');
    expect(m.parameters.media).toHaveLength(1);
    expect(m.parameters.media[0]).toEqual(weird); // unknown fields kept
    expect(m.parameters.rawMedia).toEqual([weird, 'junk', { type: 'video' }]);
    expect(m.parameters.customConfig).toEqual({});
    expect(m.parameters.language).toBe('en-US');
    expect('futureField' in m.parameters).toBe(false);
  });

  it('accepts a connection probe', () => {
    const nul = '00000000-0000-0000-0000-000000000000';
    const m = ok(env('open', {
      organizationId: openParams.organizationId,
      conversationId: nul,
      participant: { id: nul, ani: '', aniName: '', dnis: '' },
      media: [stereo],
      supportedLanguages: true,
      continuedSessions: [],
    }));
    if (m.type !== 'open') throw new Error('type');
    expect(m.parameters).toMatchObject({ conversationId: nul, supportedLanguages: true, participant: { id: nul, ani: '' } });
    expect('language' in m.parameters).toBe(false);
  });

  it('keeps customConfig and inputVariables, treats null optionals as absent', () => {
    const m = ok(env('open', { ...openParams, customConfig: { a: { b: 1 } }, inputVariables: { x: 'y' }, language: null }));
    if (m.type !== 'open') throw new Error('type');
    expect(m.parameters.customConfig).toEqual({ a: { b: 1 } });
    expect(m.parameters.inputVariables).toEqual({ x: 'y' });
    expect(m.parameters.language).toBeUndefined();
  });

  it('defaults missing ani/aniName/dnis to empty strings', () => {
    const m = ok(env('open', { ...openParams, participant: { id: 'p' } }));
    if (m.type !== 'open') throw new Error('type');
    expect(m.parameters.participant).toEqual({ id: 'p', ani: '', aniName: '', dnis: '' });
  });

  it.each([
    [{ ...openParams, media: undefined }, 'invalid open parameters: media'],
    [{ ...openParams, media: {} }, 'invalid open parameters: media'],
    [{ ...openParams, organizationId: 5 }, 'invalid open parameters: organizationId'],
    [{ ...openParams, conversationId: undefined }, 'invalid open parameters: conversationId'],
    [{ ...openParams, participant: undefined }, 'invalid open parameters: participant'],
    [{ ...openParams, participant: { ani: '' } }, 'invalid open parameters: participant.id'],
    [{ ...openParams, supportedLanguages: 'yes' }, 'invalid open parameters: supportedLanguages'],
    [{ ...openParams, customConfig: [] }, 'invalid open parameters: customConfig'],
    [{ ...openParams, inputVariables: { a: 1 } }, 'invalid open parameters: inputVariables.a'],
  ])('rejects bad open parameters %#', (params, reason) => {
    expect(err(env('open', params))).toBe(reason);
  });
});

describe('parseClientMessage: other types', () => {
  it('ping with and without rtt; junk rtt ignored', () => {
    expect(ok(env('ping', { rtt: 'PT0.05S' })).parameters).toEqual({ rtt: 0.05 });
    expect(ok(env('ping', {})).parameters).toEqual({});
    expect(ok(env('ping', { rtt: 'soon' })).parameters).toEqual({});
  });

  it('close tolerates unknown reasons, requires a string', () => {
    expect(ok(env('close', { reason: 'end' })).parameters).toEqual({ reason: 'end' });
    expect(ok(env('close', { reason: 'brand-new' })).parameters).toEqual({ reason: 'brand-new' });
    expect(err(env('close', {}))).toBe('invalid close parameters: reason');
  });

  it('resumed and discarded parse Durations and reject junk', () => {
    expect(ok(env('resumed', { start: 'PT1.5S', discarded: 'PT2S' })).parameters).toEqual({ start: 1.5, discarded: 2 });
    expect(ok(env('discarded', { start: 'PT1M', discarded: 'PT0.2S' })).parameters).toEqual({ start: 60, discarded: 0.2 });
    expect(err(env('resumed', { start: 'PT1S' }))).toBe('invalid resumed parameters: discarded');
    expect(err(env('discarded', { start: 'x', discarded: 'PT1S' }))).toBe('invalid discarded parameters: start');
    expect(err(env('discarded', { start: 'PT1S', discarded: 3 }))).toBe('invalid discarded parameters: discarded');
  });

  it('paused, playback_* accept any object', () => {
    expect(ok(env('paused', {})).parameters).toEqual({});
    expect(ok(env('playback_started', { x: 1 })).type).toBe('playback_started');
    expect(ok(env('playback_completed', {})).type).toBe('playback_completed');
  });

  it('update', () => {
    expect(ok(env('update', { language: 'es-ES' })).parameters).toEqual({ language: 'es-ES' });
    expect(ok(env('update', {})).parameters).toEqual({});
    expect(err(env('update', { language: 5 }))).toBe('invalid update parameters: language');
  });

  it('error with retryAfter in seconds', () => {
    expect(ok(env('error', { code: 429, message: 'slow down', retryAfter: 'PT1M' })).parameters)
      .toEqual({ code: 429, message: 'slow down', retryAfter: 60 });
    expect(ok(env('error', { code: 400, message: 'x', retryAfter: 'junk' })).parameters).toEqual({ code: 400, message: 'x' });
    expect(ok(env('error', { code: 408 })).parameters).toEqual({ code: 408, message: '' });
    expect(err(env('error', { message: 'x' }))).toBe('invalid error parameters: code');
  });

  it('dtmf', () => {
    expect(ok(env('dtmf', { digit: '5' })).parameters).toEqual({ digit: '5' });
    expect(err(env('dtmf', {}))).toBe('invalid dtmf parameters: digit');
  });
});

describe('server messages', () => {
  it('serializes with version first, parameters always an object, never position', () => {
    const text = serializeServerMessage({
      id: SID, type: 'pong', seq: 2, clientseq: 2, parameters: {}, position: 'PT1S',
    } as Parameters<typeof serializeServerMessage>[0]);
    expect(text).toBe(`{"version":"2","id":"${SID}","type":"pong","seq":2,"clientseq":2,"parameters":{}}`);
    expect(text.startsWith('{"version":"2"')).toBe(true);
    const weird = serializeServerMessage({ id: SID, type: 'closed', seq: 3, clientseq: 3, parameters: [] as object });
    expect(JSON.parse(weird).parameters).toEqual({});
  });

  it('echoes the media object unchanged in opened', () => {
    const m = ok(env('open', openParams));
    if (m.type !== 'open') throw new Error('type');
    const text = serializeServerMessage({ id: SID, type: 'opened', seq: 1, clientseq: 1, parameters: { media: [m.parameters.media[0]], startPaused: false } });
    expect(JSON.parse(text).parameters.media).toEqual([stereo]);
  });

  it('parseServerMessage round-trips and validates the envelope', () => {
    const text = serializeServerMessage({ id: SID, type: 'event', seq: 4, clientseq: 3, parameters: { entities: [] } });
    const r = parseServerMessage(text);
    expect(r).toEqual({ ok: true, message: { version: '2', id: SID, type: 'event', seq: 4, clientseq: 3, parameters: { entities: [] } } });
    const bad = (o: Record<string, unknown>) => {
      const res = parseServerMessage(JSON.stringify({ version: '2', id: SID, type: 'pong', seq: 1, clientseq: 0, parameters: {}, ...o }));
      return res.ok ? 'ok' : res.error;
    };
    expect(bad({})).toBe('ok');
    expect(bad({ parameters: undefined })).toBe('missing parameters');
    expect(bad({ type: 'open' })).toBe("unknown message type 'open'");
    expect(bad({ seq: 0 })).toBe('invalid seq');
    expect(bad({ clientseq: -1 })).toBe('invalid clientseq');
    expect(bad({ clientseq: undefined })).toBe('missing clientseq');
    expect(bad({ version: '3' })).toBe('unsupported version "3"');
    expect(bad({ id: undefined })).toBe('missing id');
    expect(parseServerMessage('x')).toEqual({ ok: false, error: 'invalid JSON' });
  });

  it('serializeClientMessage formats position and round-trips through the parser', () => {
    const text = serializeClientMessage({ id: SID, type: 'resumed', seq: 5, serverseq: 4, position: 12.3456, parameters: { start: 'PT10S', discarded: 'PT2.5S' } });
    expect(JSON.parse(text)).toMatchObject({ version: '2', position: 'PT12.346S' });
    expect(ok(text)).toEqual({ version: '2', id: SID, type: 'resumed', seq: 5, serverseq: 4, position: 12.346, parameters: { start: 10, discarded: 2.5 } });
  });
});
