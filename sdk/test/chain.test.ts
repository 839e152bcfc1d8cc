// Against a real `kms-node --dev`: grant, request, verify, decrypt; every bound refused before
// anything is submitted; the chain's refusals as typed errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AccessDeniedError,
  ChainError,
  KmsClient,
  LimitError,
  RetrievalError,
  UmbralIdentity,
  conditions as c,
  decodePublicKey,
  decryptBytes,
  encryptBytes,
  sealSecret,
  umbral,
} from '../src/index.js';
import { DevNode, connect, devAccounts, setTamper, waitForNodes } from './harness.js';

describe('on a development chain', { timeout: 600_000 }, () => {
  let node: DevNode;
  let kms: KmsClient;
  let accounts: Awaited<ReturnType<typeof devAccounts>>;
  const owner = UmbralIdentity.generate().identity;
  const reader = UmbralIdentity.generate().identity;
  const capsuleOf = (data: string) => {
    const [capsule] = umbral.encrypt(decodePublicKey(owner.delegatingPublicKey('docs')), new TextEncoder().encode(data));
    return capsule.toBytes();
  };

  before(async () => {
    node = await DevNode.start();
    kms = await connect(node);
    accounts = await devAccounts();
    await waitForNodes(kms);
  });
  after(async () => {
    await kms?.disconnect();
    node?.stop();
  });

  const grant = async (options: Partial<Parameters<KmsClient['planGrant']>[2]> = {}) => {
    const plan = await kms.planGrant(accounts.alice, owner, {
      label: 'docs',
      receivingKey: reader.receivingPublicKey(),
      threshold: 1,
      shares: 1,
      blocks: 60,
      feeRate: kms.limits().minFeeRate,
      ...options,
    });
    return { plan, granted: await plan.submit() };
  };

  it('grants, and the reader decrypts a file through the policy', async () => {
    const { plan, granted } = await grant({ conditions: [c.requesterIs(accounts.bob.address)] });
    assert.equal(granted.escrowed, plan.fee, 'the previewed fee is what was escrowed');
    assert.deepEqual(granted.acceptance?.accepted, [accounts.alice.address]);
    const policy = await kms.policy(granted.id);
    assert.equal(policy?.owner, accounts.alice.address);
    assert.deepEqual(policy?.conditions, [c.requesterIs(accounts.bob.address)]);
    assert.deepEqual(policy?.receivingKey, reader.receivingPublicKey());
    assert.ok((await kms.policiesOf(accounts.alice.address)).includes(granted.idHex));

    const data = new TextEncoder().encode('the quarterly report '.repeat(5000));
    const file = await encryptBytes(decodePublicKey(owner.delegatingPublicKey('docs')), data, { chunkSize: 4096 });
    let answeredBy: string[] = [];
    const plain = await decryptBytes(file, kms.readerKey(accounts.bob, reader, granted.id, { onRetrieval: (r) => (answeredBy = r.answeredBy) }));
    assert.deepEqual(plain, data);
    assert.deepEqual(answeredBy, [accounts.alice.address]);

    // A short secret, the same way.
    const secret = sealSecret(decodePublicKey(owner.delegatingPublicKey('docs')), new TextEncoder().encode('the vault code'));
    assert.equal(new TextDecoder().decode(await kms.openSecret(accounts.bob, reader, granted.id, secret)), 'the vault code');

    // Only Bob's account meets the condition: Charlie is refused with the chain's reason.
    await assert.rejects(kms.openSecret(accounts.charlie, reader, granted.id, secret), (e) => e instanceof AccessDeniedError && e.reason === 'WrongRequester');
  });

  it('refuses every bound client-side, before anything is submitted', async () => {
    const { granted } = await grant();
    const nonce = async (who: string) => (await kms.api.rpc.system.accountNextIndex(who)).toNumber();
    const [alice, bob] = [await nonce(accounts.alice.address), await nonce(accounts.bob.address)];
    const limit = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        if (error instanceof LimitError) return error.limit;
        throw error;
      }
      return 'submitted';
    };
    const capsule = capsuleOf('x');
    const base = { label: 'docs', receivingKey: reader.receivingPublicKey(), threshold: 1, shares: 1, blocks: 60, feeRate: kms.limits().minFeeRate };
    const plan = (options: Partial<typeof base> & { conditions?: c.Condition[] }) => kms.planGrant(accounts.alice, owner, { ...base, ...options });
    assert.equal(await limit(kms.request(accounts.bob, granted.id, Array(9).fill(capsule))), 'Policies.MaxCapsules');
    assert.equal(await limit(kms.request(accounts.bob, granted.id, [])), 'Policies.MaxCapsules');
    assert.equal(await limit(kms.request(accounts.bob, granted.id, [new Uint8Array([...capsule, 0])])), 'capsule length');
    assert.equal(await limit(plan({ label: 'x'.repeat(129) })), 'Policies.MaxLabelLen');
    assert.equal(await limit(plan({ shares: 17, threshold: 1 })), 'Policies.MaxNodes');
    assert.equal(await limit(plan({ threshold: 2 })), 'threshold');
    assert.equal(await limit(plan({ feeRate: kms.limits().minFeeRate - 1n })), 'Policies.MinFeeRate..MaxFeeRate');
    assert.equal(await limit(plan({ conditions: [c.not(c.not(c.not(c.not(c.notAfter(1)))))] })), 'Policies.MaxConditionDepth');
    assert.equal(await limit(plan({ conditions: Array.from({ length: 16 }, (_, i) => c.notAfter(i)) })), 'Policies.MaxConditionNodes');
    // A key that is not a compressed point never reaches the pool either.
    await assert.rejects(plan({ receivingKey: new Uint8Array(33) }), /compressed point/);
    assert.equal(await nonce(accounts.alice.address), alice, 'Alice submitted nothing');
    assert.equal(await nonce(accounts.bob.address), bob, 'Bob submitted nothing');
  });

  it('reports the chain\'s refusals as typed errors with the pallet, the error and its docs', async () => {
    const { granted } = await grant();
    // Only the owner revokes.
    await assert.rejects(kms.revoke(accounts.bob, granted.id), (error) => {
      assert.ok(error instanceof ChainError);
      assert.equal(error.pallet, 'Policies');
      assert.equal(error.error, 'NotOwner');
      assert.ok(error.docs.length > 0, 'the runtime\'s documentation comes along');
      return true;
    });
    await kms.revoke(accounts.alice, granted.id);
    assert.equal((await kms.policy(granted.id))?.status.kind, 'revoked');
    // The reader is told why before paying for anything; a raw request is refused by the chain.
    await assert.rejects(kms.retrieve(accounts.bob, reader, granted.id, capsuleOf('x')), (e) => e instanceof AccessDeniedError && e.reason === 'Revoked');
    await assert.rejects(kms.request(accounts.bob, granted.id, [capsuleOf('x')]), (e) => e instanceof ChainError && e.is('Policies', 'PolicyRevoked'));
    // Reusing an id is refused too.
    await assert.rejects(grant({ id: granted.id }), (e) => e instanceof ChainError && e.pallet === 'Policies');
  });

  it('rotates a policy to another reader: the old one is refused, the new one decrypts', async () => {
    const { granted } = await grant();
    const next = UmbralIdentity.generate().identity;
    const rotated = await kms.rotate(accounts.alice, owner, granted.id, { receivingKey: next.receivingPublicKey(), threshold: 1, nodes: [accounts.alice.address] });
    assert.deepEqual(rotated.acceptance?.accepted, [accounts.alice.address]);
    assert.equal((await kms.policy(granted.id))?.version, 1);
    const secret = sealSecret(decodePublicKey(owner.delegatingPublicKey('docs')), new TextEncoder().encode('rotated'));
    await assert.rejects(kms.openSecret(accounts.bob, reader, granted.id, secret), (e) => e instanceof AccessDeniedError && e.reason === 'NotTheReader');
    assert.equal(new TextDecoder().decode(await kms.openSecret(accounts.bob, next, granted.id, secret)), 'rotated');
  });

  it('catches a lying node, challenges it (it is slashed), and says what arrived', async () => {
    const { granted } = await grant();
    const secret = sealSecret(decodePublicKey(owner.delegatingPublicKey('docs')), new TextEncoder().encode('x'));
    const stake = async () => BigInt(String(((await kms.api.query.staking!.ledgers!(accounts.alice.address)).toJSON() as { active: string | number }).active));
    const before = await stake();
    await setTamper(node, [accounts.alice.address]);
    try {
      await assert.rejects(kms.openSecret(accounts.bob, reader, granted.id, secret), (error) => {
        assert.ok(error instanceof RetrievalError, String(error));
        assert.equal(error.reason, 'too-few-valid');
        assert.equal(error.verified, 0);
        assert.equal(error.wrong.length, 1);
        assert.equal(error.wrong[0]!.node, accounts.alice.address);
        assert.match(error.wrong[0]!.error, /fails verification/);
        assert.equal(error.wrong[0]!.challenge, 'penalized');
        return true;
      });
    } finally {
      await setTamper(node, []);
    }
    assert.ok((await stake()) < before, 'the lying node lost stake');
  });

  it('names the node and the reason when a grant cannot be served', async () => {
    await assert.rejects(grant({ nodes: [accounts.bob.address] }), (e) => e instanceof AccessDeniedError && e.message.includes(accounts.bob.address) && e.reason === 'NotANode');
    await assert.rejects(grant({ shares: 2, threshold: 1 }), (e) => e instanceof AccessDeniedError && e.reason === 'NotEnoughNodes');
  });
});
