import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmoflowError } from '../src/core/errors.js';
import { decodeText } from '../src/io/text.js';
import { readWavInfo } from '../src/io/wav.js';
import { InputRoots, withoutInputBytes } from '../src/runtime/queue/input-guard.js';
import { MicroBatcher } from '../src/runtime/queue/micro-batcher.js';
import { isRedisWriteError } from '../src/runtime/queue/redis-errors.js';

describe('MicroBatcher: one failure never fails its neighbours', () => {
  it('runs a batch that threw again one item at a time, so only the culprit fails', async () => {
    const seen: number[][] = [];
    const b = new MicroBatcher<number, number>(
      async (items) => {
        seen.push(items);
        // A thread that dies on item 7 takes its whole batch down with it.
        if (items.includes(7)) throw new Error('extraction worker 0 exited with code 134');
        return items.map((x) => ({ ok: true, value: x * 10 }));
      },
      { max: 8, gatherMs: 5, parallel: 1 },
    );
    const out = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => b.submit(i)));
    expect(out.map((o) => (o.status === 'fulfilled' ? o.value : 'failed'))).toEqual([
      0,
      10,
      20,
      30,
      40,
      50,
      60,
      'failed',
    ]);
    expect(seen[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(seen.slice(1)).toEqual([[0], [1], [2], [3], [4], [5], [6], [7]]);
  });

  it('does not split for an error every item would meet again (a fatal one)', async () => {
    let calls = 0;
    const fatal = new EmoflowError('MODEL_NOT_FOUND', 'the model is gone');
    const b = new MicroBatcher<number, number>(
      async () => {
        calls++;
        throw fatal;
      },
      { max: 4, gatherMs: 5, parallel: 1, splitOnError: (e) => !(e instanceof EmoflowError && e.fatal) },
    );
    const out = await Promise.allSettled([1, 2, 3, 4].map((x) => b.submit(x)));
    expect(out.every((o) => o.status === 'rejected' && o.reason === fatal)).toBe(true);
    expect(calls).toBe(1);
  });

  it('runs an item submitted alone (a job that stalled before) in a batch of its own', async () => {
    const seen: string[][] = [];
    const b = new MicroBatcher<string, string>(
      async (items) => {
        seen.push(items);
        return items.map((x) => ({ ok: true, value: x }));
      },
      { max: 8, gatherMs: 20, parallel: 1 },
    );
    await Promise.all([b.submit('a'), b.submit('suspect', { alone: true }), b.submit('b'), b.submit('c')]);
    expect(seen.find((s) => s.includes('suspect'))).toEqual(['suspect']);
    expect(seen.flat().sort()).toEqual(['a', 'b', 'c', 'suspect']);
  });
});

describe('what a queue worker reveals about its inputs', () => {
  it('strips the bytes the readers quote from their messages, keeping the rest', () => {
    const text = (() => {
      try {
        decodeText(new Uint8Array([0x6f, 0x6b, 0xe9, 0xff, 0x41, 0x42]), 'a.txt');
      } catch (e) {
        return (e as EmoflowError).toRecord();
      }
      throw new Error('decoded');
    })();
    expect(text.message).toMatch(/\(bytes e9 ff 41 42\)/); // what the reader says, for a local user
    expect(withoutInputBytes(text)).toEqual({
      code: 'TEXT_ENCODING',
      message: 'a.txt: not valid UTF-8 at byte offset 2; save the file as UTF-8',
    });
    for (const bytes of ['root:x:0:0:root:/root:/bin/bash', 'pass']) {
      let record: { code: 'AUDIO_DECODE_FAILED'; message: string } | undefined;
      try {
        readWavInfo(new TextEncoder().encode(bytes), 'x.wav');
      } catch (e) {
        record = (e as EmoflowError).toRecord() as typeof record;
      }
      expect(record!.message).toContain(bytes.slice(0, 4)); // the reader quotes the bytes
      const clean = withoutInputBytes(record!);
      expect(clean.message).toMatch(/^x\.wav: not a RIFF\/WAVE file \(no RIFF/);
      expect(clean.message).not.toContain(bytes.slice(0, 4));
      if (bytes.length >= 12) expect(clean.message).not.toContain(bytes.slice(8, 12));
    }
  });
});

describe('InputRoots', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emoflow-roots-'));
    await mkdir(join(dir, 'in', 'sub'), { recursive: true });
    await mkdir(join(dir, 'out'), { recursive: true });
    await writeFile(join(dir, 'in', 'a.txt'), 'a');
    await symlink(join(dir, 'out'), join(dir, 'in', 'escape'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const code = async (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: EmoflowError) => e.code,
    );

  it('takes a job root and path inside a configured folder, and refuses everything else', async () => {
    const roots = await InputRoots.open([join(dir, 'in')]);
    expect(await roots.check(join(dir, 'in'), 'a.txt')).toBe(join(dir, 'in'));
    expect(await code(roots.check(join(dir, 'in', 'sub'), '../a.txt'))).toBe('ok');
    expect(await code(roots.check(join(dir, 'in'), '../out/x'))).toBe('PATH_OUTSIDE_ROOT');
    expect(await code(roots.check('/', 'etc/shadow'))).toBe('PATH_OUTSIDE_ROOT');
    expect(await code(roots.check(join(dir, 'in'), '/etc/shadow'))).toBe('PATH_OUTSIDE_ROOT');
    expect(await code(roots.check('relative/root', 'a.txt'))).toBe('PATH_OUTSIDE_ROOT');
    // A job root that is a symlink out of the folder.
    expect(await code(roots.check(join(dir, 'in', 'escape'), 'x'))).toBe('PATH_OUTSIDE_ROOT');
    expect(await code(roots.check(join(dir, 'out'), 'x'))).toBe('PATH_OUTSIDE_ROOT');
    const none = await InputRoots.open([]);
    await expect(none.check(join(dir, 'in'), 'a.txt')).rejects.toThrow(/reads no files.*--input-root/);
    await expect(InputRoots.open([join(dir, 'nope')])).rejects.toThrow(/--input-root/);
  });
});

describe('Redis write refusals', () => {
  it('are OOM, READONLY, MISCONF, NOREPLICAS and EXECABORT replies, also inside a failed MULTI', () => {
    expect(isRedisWriteError(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe(
      true,
    );
    expect(isRedisWriteError(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isRedisWriteError(new Error('EXECABORT Transaction discarded because of previous errors.'))).toBe(
      true,
    );
    const multi = Object.assign(new Error('Transaction discarded'), {
      previousErrors: [new Error('OOM command not allowed')],
    });
    expect(isRedisWriteError(multi)).toBe(true);
    expect(isRedisWriteError(new Error('Missing lock for job 1. moveToFinished'))).toBe(false);
    expect(isRedisWriteError('OOM')).toBe(false);
  });
});
