import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { FrameChannel, FrameDecoder } from './frame-channel.js';
import { MAX_HEADER_BYTES, ProtocolViolation, instanceLimits, type Frame } from './instance-protocol.js';

function frame(header: unknown, body: Buffer = Buffer.alloc(0)): Buffer {
  const encoded = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(encoded.length, 0);
  prefix.writeUInt32BE(body.length, 4);
  return Buffer.concat([prefix, encoded, body]);
}

const validResult = { t: 'result', requestId: 'r1', ok: true, log: 'hi', logTruncated: false };

/** A deterministic PRNG, so that a failing fuzz case can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

describe('FrameDecoder', () => {
  it('decodes valid frames however the bytes are split', () => {
    const bytes = Buffer.concat([
      frame({ t: 'ready' }),
      frame({ t: 'chunk', requestId: 'r1' }, Buffer.from('one')),
      frame({ t: 'progress', requestId: 'r1', text: 'step 2 of 3' }),
      frame(validResult, Buffer.from('{"a":1}')),
    ]);
    for (let split = 1; split < bytes.length; split += 3) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(bytes.subarray(0, split)), ...decoder.push(bytes.subarray(split))];
      assert.deepEqual(
        frames.map((f) => f.header.t),
        ['ready', 'chunk', 'progress', 'result'],
      );
      assert.equal(frames[3]!.body.toString(), '{"a":1}');
    }
  });

  const rejected: [string, Buffer][] = [
    ['a JSON null header (the crash of the probe)', frame('null')],
    ['a JSON array header', frame('[]')],
    ['a number header', frame('4')],
    ['a header that is not JSON', frame('{"t":')],
    ['an unknown type', frame({ t: 'shell' })],
    ['a result without ok', frame({ t: 'result', requestId: 'r', log: '', logTruncated: false })],
    ['a result whose ok is a string', frame({ ...validResult, ok: 'yes' })],
    ['a result whose log is a number', frame({ ...validResult, log: 1 })],
    ['a result with an unknown fatal kind', frame({ ...validResult, ok: false, fatal: 'root' })],
    ['a failed result with output', frame({ ...validResult, ok: false }, Buffer.from('x'))],
    ['a log over the limit', frame({ ...validResult, log: 'x'.repeat(instanceLimits.logBytes + 1) })],
    ['an error over the limit', frame({ ...validResult, ok: false, error: 'e'.repeat(instanceLimits.errorChars + 1) })],
    ['a ready frame with a body', frame({ t: 'ready' }, Buffer.from('x'))],
    ['progress over 256 characters', frame({ t: 'progress', requestId: 'r', text: 'p'.repeat(257) })],
    ['progress that is not text', frame({ t: 'progress', requestId: 'r', text: { step: 2 } })],
    ['progress with a body', frame({ t: 'progress', requestId: 'r', text: 'step 1' }, Buffer.from('x'))],
    ['a type taken from the prototype', frame('{"__proto__":{"t":"ready"}}')],
    ['an empty header', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])],
  ];
  for (const [name, bytes] of rejected) {
    it(`refuses ${name}`, () => {
      assert.throws(() => new FrameDecoder().push(bytes), ProtocolViolation);
    });
  }

  it('refuses oversized frames from the prefix alone, before buffering them', () => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(MAX_HEADER_BYTES + 1, 0);
    assert.throws(() => new FrameDecoder().push(header), /frame header of/);
    const body = Buffer.alloc(8);
    body.writeUInt32BE(10, 0);
    body.writeUInt32BE(instanceLimits.outputBytes + 1, 4);
    assert.throws(() => new FrameDecoder().push(body), /frame body of/);
  });

  it('never throws anything but ProtocolViolation on random and mutated input (fuzz)', () => {
    const seeds = [
      frame({ t: 'ready' }),
      frame(validResult, Buffer.from('"out"')),
      frame({ t: 'chunk', requestId: 'r' }),
    ];
    for (let seed = 1; seed <= 3000; seed++) {
      const random = prng(seed);
      let input: Buffer;
      if (seed % 3 === 0) {
        input = randomBytes(Math.floor(random() * 64));
      } else {
        input = Buffer.from(seeds[seed % seeds.length]!);
        const mutations = 1 + Math.floor(random() * 4);
        for (let m = 0; m < mutations; m++) {
          const at = Math.floor(random() * input.length);
          input[at] = Math.floor(random() * 256);
        }
      }
      const decoder = new FrameDecoder();
      try {
        for (let at = 0; at < input.length;) {
          const size = 1 + Math.floor(random() * 16);
          const frames: Frame[] = decoder.push(input.subarray(at, at + size));
          for (const decoded of frames) assert.equal(typeof decoded.header.t, 'string');
          at += size;
        }
      } catch (error) {
        assert.ok(error instanceof ProtocolViolation, `seed ${seed}: ${String(error)}`);
      }
    }
  });
});

describe('FrameChannel', () => {
  it('ends the channel once, without throwing, on a bad frame or a throwing handler', () => {
    for (const [bytes, throwing] of [
      [frame('null'), false],
      [frame({ t: 'ready' }), true],
    ] as const) {
      const socket = new PassThrough();
      const reasons: string[] = [];
      new FrameChannel(
        socket,
        () => {
          if (throwing) throw new TypeError('handler bug');
        },
        (reason) => reasons.push(reason),
      );
      socket.emit('data', bytes);
      socket.emit('data', bytes);
      assert.equal(reasons.length, 1);
      assert.ok(socket.destroyed);
    }
  });
});
