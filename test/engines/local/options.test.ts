import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { localEnv, localSetup, NOT_INSTALLED } from '../../../src/engines/local/options.js';
import { offlineOptions } from './helpers.js';

const parse = (env: Record<string, string>) => z.object(localEnv).parse(env);
const nowhere = { binary: '/nonexistent/pocketsphinx_batch', modelDir: '/nonexistent/model' };

describe('offline engine settings', () => {
  it('not installed: not configured, with the install command as the reason, and no configuration problem', () => {
    expect(localSetup(parse({}), nowhere)).toEqual({ configured: false, reason: NOT_INSTALLED, problems: [] });
    expect(NOT_INSTALLED).toBe('offline engine not installed (apt-get install pocketsphinx pocketsphinx-en-us)');
  });

  it('paths the operator set that do not exist are configuration problems', () => {
    const setup = localSetup(parse({ LOCAL_ENGINE_BINARY: '/opt/none/pocketsphinx_batch', LOCAL_ENGINE_MODEL_DIR: '/opt/none/model' }));
    expect(setup.configured).toBe(false);
    if (setup.configured) return;
    expect(setup.problems).toEqual([
      'LOCAL_ENGINE_BINARY: /opt/none/pocketsphinx_batch is not an executable file',
      'LOCAL_ENGINE_MODEL_DIR: no acoustic model at /opt/none/model/en-us',
      'LOCAL_ENGINE_MODEL_DIR: /opt/none/model/en-us.lm.bin not found',
      'LOCAL_ENGINE_MODEL_DIR: /opt/none/model/cmudict-en-us.dict not found',
    ]);
  });

  it('rejects a concurrency that is not a whole number from 1 to 64', () => {
    expect(() => parse({ LOCAL_ENGINE_CONCURRENCY: '0' })).toThrow();
    expect(() => parse({ LOCAL_ENGINE_CONCURRENCY: 'two' })).toThrow();
    expect(parse({ LOCAL_ENGINE_CONCURRENCY: '3' })).toEqual({ LOCAL_ENGINE_CONCURRENCY: 3 });
  });

  it.skipIf(!offlineOptions)("installed: Debian's paths, one process per core unless set", () => {
    expect(localSetup(parse({}))).toEqual({
      configured: true,
      options: {
        binary: '/usr/bin/pocketsphinx_batch',
        acousticModel: '/usr/share/pocketsphinx/model/en-us/en-us',
        languageModel: '/usr/share/pocketsphinx/model/en-us/en-us.lm.bin',
        dictionary: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict',
        concurrency: Math.min(availableParallelism(), 16),
      },
    });
    expect(localSetup(parse({ LOCAL_ENGINE_CONCURRENCY: '5' }))).toMatchObject({ configured: true, options: { concurrency: 5 } });
  });
});
