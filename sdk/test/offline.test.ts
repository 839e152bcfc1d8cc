// What needs no chain: canonical decoding of hostile umbral bytes, the file format, short
// secrets, conditions and their limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CAPSULE_LEN,
  FormatError,
  HEADER_LEN,
  LimitError,
  TAG_LEN,
  UmbralError,
  UmbralIdentity,
  conditions as c,
  decodeCapsule,
  decodeCapsuleFrag,
  decodePublicKey,
  decryptBytes,
  encryptBytes,
  encryptStream,
  decryptStream,
  encryptedBodyLength,
  openSecretAsOwner,
  ownerKey,
  parseSecret,
  readHeader,
  sealKFrags,
  sealSecret,
  umbral,
  verifyCfrag,
} from '../src/index.js';

const text = (s: string) => new TextEncoder().encode(s);
const limits = { maxNodes: 16, maxDepth: 4 };

function owner() {
  const { identity } = UmbralIdentity.generate();
  const secret = identity.delegatingKey('docs');
  return { identity, secret, pk: secret.publicKey() };
}

/** A capsule whose E is the identity (1 byte) and V uncompressed (65 bytes): the standard length, and a panic inside umbral-pre. */
function identityAndUncompressed(): Uint8Array {
  const [x, y] = new umbral.Parameters().u.coordinates()!;
  const { pk } = owner();
  const [capsule] = umbral.encrypt(pk, text('x'));
  const standard = capsule.toBytes();
  const hostile = new Uint8Array([0x93, 0xc4, 1, 0, 0xc4, 65, 4, ...x, ...y, ...standard.subarray(71)]);
  assert.equal(hostile.length, CAPSULE_LEN);
  return hostile;
}

describe('canonical umbral bytes', () => {
  it('accepts what umbral-pre writes', () => {
    const { pk } = owner();
    const [capsule] = umbral.encrypt(pk, text('hello'));
    assert.ok(decodeCapsule(capsule.toBytes()).equals(capsule));
  });

  it('refuses hostile capsules with an error, never a trap', () => {
    const { pk } = owner();
    const standard = umbral.encrypt(pk, text('hello'))[0].toBytes();
    // Each refused for its own reason, found before umbral-pre sees the bytes where umbral-pre
    // would trap (its panics surface as "unreachable" errors, which no case may show).
    const cases: [string, Uint8Array, RegExp][] = [
      ['identity and uncompressed points', identityAndUncompressed(), /standard \(canonical\) form/],
      ['one byte short', standard.slice(0, -1), /104 bytes, a capsule is 105/],
      ['a byte appended', new Uint8Array([...standard, 0]), /106 bytes/],
      ['an uncompressed tag', Uint8Array.from(standard, (b, i) => (i === 3 ? 4 : b)), /not compressed/],
      ['SEC1 compact tag 5', Uint8Array.from(standard, (b, i) => (i === 3 ? 5 : b)), /not compressed/],
      ['an unreduced scalar', Uint8Array.from(standard, (b, i) => (i >= 73 ? 0xff : b)), /not a valid umbral-pre capsule|canonical/],
      ['another MessagePack type', Uint8Array.from(standard, (b, i) => (i === 0 ? 0xdc : b)), /layout/],
      ['a point off the curve', Uint8Array.from(standard, (b, i) => (i >= 4 && i < 36 ? 0xff : b)), /not a valid umbral-pre capsule/],
      ['a broken self-signature', Uint8Array.from(standard, (b, i) => (i === 104 ? b ^ 1 : b)), /not a valid umbral-pre capsule/],
    ];
    // The degenerate capsule: V = −E (E's x with the other parity).
    const degenerate = standard.slice();
    degenerate.set(standard.subarray(3, 36), 38);
    degenerate[38] = standard[3] === 2 ? 3 : 2;
    cases.push(['V = −E', degenerate, /degenerate/]);
    for (const [name, bytes, reason] of cases) {
      assert.throws(
        () => decodeCapsule(bytes),
        (error: Error) => error instanceof UmbralError && reason.test(error.message) && !/unreachable/.test(error.message),
        name,
      );
    }
    // umbral-pre's module still works after all of them.
    assert.ok(decodeCapsule(standard));
  });

  it('reads cfrags in canonical form only, and verifies them against the policy keys', () => {
    const alice = owner();
    const { identity: bob } = UmbralIdentity.generate();
    const signer = alice.identity.signer();
    const node = umbral.SecretKey.random();
    const receiving = decodePublicKey(bob.receivingPublicKey());
    const [sealed] = sealKFrags(alice.secret, signer, receiving, 1, [node.publicKey()]);
    const kfragBytes = umbral.decryptOriginal(node, decodeCapsule(sealed!.capsule), sealed!.ciphertext);
    const kfrag = umbral.KeyFrag.fromBytes(kfragBytes).verify(signer.verifyingKey(), alice.pk, receiving);
    const [capsule, ciphertext] = umbral.encrypt(alice.pk, text('for bob'));
    const cfrag = umbral.reencrypt(capsule, kfrag).toBytes();
    const keys = { delegating: alice.pk, verifying: signer.verifyingKey(), receiving };
    const verified = verifyCfrag(capsule, cfrag, keys);
    const plain = umbral.decryptReencrypted(bob.receivingKey(), alice.pk, capsule, [verified], ciphertext);
    assert.equal(new TextDecoder().decode(plain), 'for bob');

    assert.throws(() => decodeCapsuleFrag(cfrag.slice(1)), /380 bytes, a cfrag is 381/);
    assert.throws(() => decodeCapsuleFrag(Uint8Array.from(cfrag, (b, i) => (i === 3 ? 4 : b))), /not compressed/);
    // Two point fields swapped for the identity (1 byte) and an uncompressed point (65 bytes):
    // the cfrag's length is kept, and umbral-pre would trap hashing the identity.
    const [x, y] = new umbral.Parameters().u.coordinates()!;
    const pointPair = new Uint8Array([...cfrag.subarray(0, 1), 0xc4, 1, 0, 0xc4, 65, 4, ...x, ...y, ...cfrag.subarray(71)]);
    assert.equal(pointPair.length, cfrag.length);
    assert.throws(() => decodeCapsuleFrag(pointPair), (e: Error) => e instanceof UmbralError && /canonical/.test(e.message) && !/unreachable/.test(e.message));
    // The kfrag signature (64 bytes) where a scalar (32) belongs: the layout, not umbral-pre, refuses it.
    assert.throws(() => decodeCapsuleFrag(Uint8Array.from(cfrag, (b, i) => (i === 72 ? 0xc5 : b))), /canonical/);
    // A cfrag of another capsule does not verify.
    const [other] = umbral.encrypt(alice.pk, text('other'));
    assert.throws(() => verifyCfrag(other, cfrag, keys), UmbralError);
    // Nor one checked against another reader's key.
    assert.throws(() => verifyCfrag(capsule, cfrag, { ...keys, receiving: umbral.SecretKey.random().publicKey() }), UmbralError);
  });

  it('reads public keys compressed only', () => {
    const key = owner().pk.toCompressedBytes();
    assert.ok(decodePublicKey(key));
    assert.throws(() => decodePublicKey(key.slice(0, 32)), UmbralError);
    assert.throws(() => decodePublicKey(Uint8Array.from(key, (b, i) => (i === 0 ? 5 : b))), UmbralError);
    assert.throws(() => decodePublicKey(new Uint8Array(33)), UmbralError);
  });
});

describe('the kms file format', () => {
  const chunkSize = 16;
  const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);

  it('round-trips every size around the chunk boundaries, with the length the format says', async () => {
    const { pk, secret } = owner();
    for (const n of [0, 1, 15, 16, 17, 32, 47, 48, 1000]) {
      const file = await encryptBytes(pk, bytes(n), { chunkSize });
      assert.equal(file.length, HEADER_LEN + encryptedBodyLength(n, chunkSize), `size ${n}`);
      assert.deepEqual(await decryptBytes(file, ownerKey(secret)), bytes(n), `size ${n}`);
    }
  });

  it('streams: input in pieces of any size gives the same plaintext', async () => {
    const { pk, secret } = owner();
    const plain = bytes(100_000);
    const file = await encryptBytes(pk, plain, { chunkSize: 4096 });
    const pieces = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < file.length; at += 777) controller.enqueue(file.slice(at, at + 777));
        controller.close();
      },
    });
    const out: Uint8Array[] = [];
    const progress: number[] = [];
    await pieces.pipeThrough(decryptStream(ownerKey(secret), { onProgress: (n) => progress.push(n) })).pipeTo(
      new WritableStream({ write: (chunk) => void out.push(chunk) }),
    );
    assert.deepEqual(Buffer.concat(out), Buffer.from(plain));
    assert.equal(progress.at(-1), plain.length);
    // The encrypting side streams too.
    const written: Uint8Array[] = [];
    const writer = encryptStream(pk, { chunkSize: 4096 });
    const done = writer.readable.pipeTo(new WritableStream({ write: (chunk) => void written.push(chunk) }));
    const input = writer.writable.getWriter();
    for (let at = 0; at < plain.length; at += 1000) await input.write(plain.slice(at, at + 1000));
    await input.close();
    await done;
    assert.deepEqual(await decryptBytes(Buffer.concat(written), ownerKey(secret)), plain);
  });

  it('detects truncation, reordering, tampering and trailing data', async () => {
    const { pk, secret } = owner();
    const file = await encryptBytes(pk, bytes(48), { chunkSize });
    const window = chunkSize + TAG_LEN;
    const problem = async (mutated: Uint8Array) => {
      try {
        await decryptBytes(mutated, ownerKey(secret));
      } catch (error) {
        assert.ok(error instanceof FormatError, String(error));
        return error.problem;
      }
      return 'opened';
    };
    const body = file.subarray(HEADER_LEN);
    assert.equal(await problem(file.slice(0, HEADER_LEN + 2 * window)), 'truncated');
    assert.equal(await problem(file.slice(0, HEADER_LEN + window + 20)), 'tampered');
    assert.equal(await problem(file.slice(0, HEADER_LEN + 8)), 'truncated');
    const swapped = new Uint8Array([...file.subarray(0, HEADER_LEN), ...body.subarray(window, 2 * window), ...body.subarray(0, window), ...body.subarray(2 * window)]);
    assert.equal(await problem(swapped), 'tampered');
    assert.equal(await problem(Uint8Array.from(file, (b, i) => (i === HEADER_LEN + 3 ? b ^ 1 : b))), 'tampered');
    assert.equal(await problem(new Uint8Array([...file, ...file.subarray(HEADER_LEN + 2 * window)])), 'trailing-data');
    // The header is every chunk's associated data: a changed wrapped key fails, as does another owner.
    assert.equal(await problem(Uint8Array.from(file, (b, i) => (i === HEADER_LEN - 1 ? b ^ 1 : b))), 'key');
    await assert.rejects(decryptBytes(file, ownerKey(owner().secret)), (e) => e instanceof FormatError && e.problem === 'key');
  });

  it('refuses a header alone, or cut anywhere inside, and reports progress chunk by chunk', async () => {
    const { pk, secret } = owner();
    const file = await encryptBytes(pk, bytes(40), { chunkSize });
    const problem = async (input: Uint8Array) => {
      try {
        await decryptBytes(input, ownerKey(secret));
        return 'opened';
      } catch (error) {
        return (error as FormatError).problem;
      }
    };
    assert.equal(await problem(file.slice(0, HEADER_LEN)), 'truncated');
    for (const cut of [0, 7]) assert.equal(await problem(file.slice(0, cut)), 'not-kms-file', `cut at ${cut}`);
    for (const cut of [8, 9, 12, 13, 14, 15, 100, 119, 120, 121, 122, 150, HEADER_LEN - 1]) {
      assert.equal(await problem(file.slice(0, cut)), 'header', `cut at ${cut}`);
    }
    const progress: number[] = [];
    await decryptBytes(file, ownerKey(secret), { onProgress: (n) => progress.push(n) });
    assert.deepEqual(progress, [16, 32, 40]);
    const written: number[] = [];
    await encryptBytes(pk, bytes(32), { chunkSize, onProgress: (n) => written.push(n) });
    assert.deepEqual(written, [16, 32], 'a full last chunk is the final one, with no empty chunk after it');
  });

  it('copies what it is given: a producer reusing its buffer does not change the output', async () => {
    const { pk, secret } = owner();
    const buffer = new Uint8Array(10);
    const stream = encryptStream(pk, { chunkSize: 64 });
    const out: Uint8Array[] = [];
    const done = stream.readable.pipeTo(new WritableStream({ write: (chunk) => void out.push(chunk) }));
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 3; i++) {
      buffer.fill(i + 1);
      await writer.write(buffer);
    }
    await writer.close();
    await done;
    const plain = await decryptBytes(Buffer.concat(out), ownerKey(secret));
    assert.deepEqual([...plain], [...Array(10).fill(1), ...Array(10).fill(2), ...Array(10).fill(3)]);
  });

  it('checks the header field by field', async () => {
    const { pk } = owner();
    const file = await encryptBytes(pk, bytes(5), { chunkSize });
    const at = (i: number, value: number) => Uint8Array.from(file, (b, j) => (j === i ? value : b));
    const problem = (header: Uint8Array) => {
      try {
        readHeader(header);
        return 'read';
      } catch (error) {
        return (error as FormatError).problem;
      }
    };
    assert.equal(problem(file), 'read');
    assert.equal(problem(at(0, 0x4c)), 'not-kms-file');
    assert.equal(problem(file.slice(0, 5)), 'not-kms-file');
    assert.equal(problem(at(8, 2)), 'unsupported-version');
    assert.equal(problem(Uint8Array.from(file, (b, j) => (j >= 9 && j < 13 ? 0 : b))), 'header');
    assert.equal(problem(at(14, 104)), 'header');
    assert.equal(problem(at(18, 4)), 'header');
    assert.equal(problem(file.slice(0, HEADER_LEN - 1)), 'header');
    assert.throws(() => encryptStream(pk, { chunkSize: 0 }), FormatError);
    assert.throws(() => encryptStream(pk, { chunkSize: 16 * 1024 * 1024 + 1 }), FormatError);
  });
});

describe('short secrets', () => {
  it('round-trip for the owner and refuse what is not a secret', () => {
    const { pk, secret } = owner();
    const textForm = sealSecret(pk, text('the vault code'));
    assert.match(textForm, /^kms-secret-1:[A-Za-z0-9+/=]+$/);
    assert.equal(new TextDecoder().decode(openSecretAsOwner(secret, parseSecret(textForm))), 'the vault code');
    assert.throws(() => parseSecret('kms-secret-2:AAAA'), FormatError);
    // Base64 with stray bits in its last digit is not the text `kms` writes (nor reads): 160
    // bytes (a 15-byte secret) end in a digit with four unused bits, then `==`.
    const padded = sealSecret(pk, text('fifteen bytes!!'));
    assert.ok(padded.endsWith('=='));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = padded.at(-3)!;
    const stray = alphabet[alphabet.indexOf(last) ^ 1]!;
    assert.throws(() => parseSecret(padded.slice(0, -3) + stray + '=='), FormatError);
    assert.equal(new TextDecoder().decode(openSecretAsOwner(secret, parseSecret(padded))), 'fifteen bytes!!');
    assert.throws(() => parseSecret('kms-secret-1:' + 'A'.repeat(200_000)), FormatError);
    assert.throws(() => parseSecret('kms-secret-1:not base64!'), FormatError);
    assert.throws(() => sealSecret(pk, new Uint8Array(64 * 1024 + 1)), FormatError);
    assert.throws(() => openSecretAsOwner(owner().secret, parseSecret(textForm)), FormatError);
  });
});

describe('conditions', () => {
  const bob = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
  it('flatten to the chain\'s prefix order and back', () => {
    const tree = c.any(c.requesterIs(bob), c.all(c.minBalance(100n), c.notAfter(90_000)));
    const flat = c.flatten([tree], limits);
    assert.deepEqual(flat, [
      { Any: { count: 2 } },
      { RequesterIs: { account: bob } },
      { All: { count: 2 } },
      { MinBalance: { amount: 100n } },
      { NotAfter: { block: 90_000 } },
    ]);
    assert.deepEqual(c.unflatten(flat as never), [tree]);
    assert.equal(c.render(tree), `any(requester-is(${bob}), all(min-balance(100 plancks), not-after(90000)))`);
    // Several conditions together must all hold.
    assert.deepEqual(c.flatten([c.notBefore(5), c.notAfter(9)], limits), [{ All: { count: 2 } }, { NotBefore: { block: 5 } }, { NotAfter: { block: 9 } }]);
    assert.deepEqual(c.flatten([], limits), []);
  });

  it('are refused client-side beyond the chain\'s limits, naming the limit', () => {
    const limit = (conditions: c.Condition[]) => {
      try {
        c.flatten(conditions, limits);
        return 'ok';
      } catch (error) {
        assert.ok(error instanceof LimitError);
        return error.limit;
      }
    };
    assert.equal(limit([c.not(c.not(c.not(c.notAfter(1))))]), 'ok');
    assert.equal(limit([c.not(c.not(c.not(c.not(c.notAfter(1)))))]), 'Policies.MaxConditionDepth');
    assert.equal(limit([c.all(...Array.from({ length: 15 }, (_, i) => c.notAfter(i)))]), 'ok');
    assert.equal(limit([c.all(...Array.from({ length: 16 }, (_, i) => c.notAfter(i)))]), 'Policies.MaxConditionNodes');
    assert.equal(limit([c.any(c.payPerAccess(bob, 1n))]), 'payPerAccess under any/not');
    assert.equal(limit([c.not(c.payPerAccess(bob, 1n))]), 'payPerAccess under any/not');
    assert.equal(limit([c.all(c.payPerAccess(bob, 1n))]), 'ok');
    assert.equal(limit([c.all()]), 'all() subtrees');
    assert.equal(limit([c.notAfter(-1)]), 'notAfter block');
    assert.equal(limit([c.minBalance(1n << 128n)]), 'minBalance amount');
  });
});
