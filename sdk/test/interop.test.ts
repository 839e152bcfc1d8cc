// The SDK and the `kms` command line are one system: the same keys from the same keyring, files
// and secrets that move both ways, and policies granted by one and used by the other.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  KeyringError,
  KmsClient,
  decodePublicKey,
  decryptBytes,
  encryptBytes,
  openKeyring,
  openSecretAsOwner,
  ownerKey,
  parseSecret,
  sealSecret,
  toHex,
  type OpenedKeyring,
} from '../src/index.js';
import { DevNode, connect, devAccounts, kms, waitForNodes, workDir } from './harness.js';

const PASSPHRASE = 'sdk test passphrase';

describe('with the kms command line', { timeout: 600_000 }, () => {
  let node: DevNode;
  let client: KmsClient;
  let accounts: Awaited<ReturnType<typeof devAccounts>>;
  const dir = workDir();
  const aliceKeyring = join(dir, 'alice.keyring');
  const bobKeyring = join(dir, 'bob.keyring');
  let alice: OpenedKeyring;
  let bob: OpenedKeyring;
  const data = new TextEncoder().encode('a file that crosses from one implementation to the other\n'.repeat(3000));

  before(async () => {
    node = await DevNode.start();
    client = await connect(node);
    accounts = await devAccounts();
    kms(node, aliceKeyring, ['keys', 'new', '--suri', '//Alice']);
    kms(node, bobKeyring, ['keys', 'new', '--suri', '//Bob']);
    alice = await openKeyring(readFileSync(aliceKeyring, 'utf8'), PASSPHRASE);
    bob = await openKeyring(readFileSync(bobKeyring, 'utf8'), PASSPHRASE);
    await waitForNodes(client);
  });
  after(async () => {
    await client?.disconnect();
    node?.stop();
  });

  it('opens the CLI\'s keyring and derives the keys `kms keys show` prints', async () => {
    const shown = kms(node, aliceKeyring, ['keys', 'show', '--label', 'docs', '--label', 'photos/2026']) as {
      account: string;
      receiving_key: { hex: string };
      verifying_key: { hex: string };
      delegating_keys: Record<string, { hex: string }>;
    };
    assert.equal(alice.address, shown.account);
    assert.equal(accounts.keyring.addFromUri(alice.accountUri).address, shown.account);
    assert.equal(toHex(alice.identity.receivingPublicKey()), shown.receiving_key.hex);
    assert.equal(toHex(alice.identity.verifyingKey()), shown.verifying_key.hex);
    assert.equal(toHex(alice.identity.delegatingPublicKey('docs')), shown.delegating_keys.docs!.hex);
    assert.equal(toHex(alice.identity.delegatingPublicKey('photos/2026')), shown.delegating_keys['photos/2026']!.hex);
    await assert.rejects(openKeyring(readFileSync(aliceKeyring, 'utf8'), 'not the passphrase'), KeyringError);
    // The header is authenticated: the salt in capitals derives the same key, but the
    // associated data differs.
    const file = JSON.parse(readFileSync(aliceKeyring, 'utf8'));
    await assert.rejects(openKeyring(JSON.stringify({ ...file, kdf: { ...file.kdf, salt: file.kdf.salt.toUpperCase() } }), PASSPHRASE), /wrong passphrase/);
    // A hostile cost is refused before any work: 4 GiB of memory.
    const started = Date.now();
    await assert.rejects(openKeyring(JSON.stringify({ ...file, kdf: { ...file.kdf, memory_kib: 4 * 1024 * 1024 } }), PASSPHRASE), /memory_kib/);
    assert.ok(Date.now() - started < 1000, 'refused at once');
  });

  it('decrypts what `kms encrypt` wrote, as the owner and as a reader of a CLI grant', async () => {
    const plain = join(dir, 'cli-plain.txt');
    const encrypted = join(dir, 'cli.kms');
    writeFileSync(plain, data);
    kms(node, aliceKeyring, ['encrypt', '--label', 'docs', plain, '-o', encrypted]);
    const file = new Uint8Array(readFileSync(encrypted));
    assert.deepEqual(await decryptBytes(file, ownerKey(alice.identity.delegatingKey('docs'))), data);

    const granted = kms(node, aliceKeyring, [
      'grant', '--label', 'docs', '--to', toHex(bob.identity.receivingPublicKey()), '--threshold', '1', '--shares', '1',
      '--nodes', 'auto', '--expires', '100s', '--rate', '0.001', '--yes',
    ]) as { policy: string };
    const id = Uint8Array.from(Buffer.from(granted.policy.replace(/^0x/, ''), 'hex'));
    assert.deepEqual(await decryptBytes(file, client.readerKey(accounts.bob, bob.identity, id)), data);

    // A secret `kms secret put` printed opens through the same policy.
    const secret = kms(node, aliceKeyring, ['secret', 'put', '--label', 'docs', 'from the CLI']) as { secret: string };
    assert.equal(new TextDecoder().decode(await client.openSecret(accounts.bob, bob.identity, id, secret.secret)), 'from the CLI');
    assert.equal(new TextDecoder().decode(openSecretAsOwner(alice.identity.delegatingKey('docs'), parseSecret(secret.secret))), 'from the CLI');
  });

  it('writes what `kms decrypt` reads, through a policy the SDK granted', async () => {
    const file = await encryptBytes(decodePublicKey(alice.identity.delegatingPublicKey('docs')), data, { chunkSize: 1000 });
    const encrypted = join(dir, 'sdk.kms');
    const decrypted = join(dir, 'sdk-plain.txt');
    writeFileSync(encrypted, file);
    const granted = await (
      await client.planGrant(accounts.alice, alice.identity, {
        label: 'docs',
        receivingKey: bob.identity.receivingPublicKey(),
        threshold: 1,
        shares: 1,
        blocks: 50,
        feeRate: client.limits().minFeeRate,
      })
    ).submit();
    // The CLI reads finalized state.
    await client.finalize(granted.acceptance!);
    const shown = kms(node, bobKeyring, ['policy', 'show', granted.idHex]) as { owner?: string };
    assert.equal(shown.owner, accounts.alice.address);
    kms(node, bobKeyring, ['decrypt', '--policy', granted.idHex, encrypted, '-o', decrypted]);
    assert.deepEqual(new Uint8Array(readFileSync(decrypted)), data);
    // The owner's CLI opens the SDK's file and secret by label.
    kms(node, aliceKeyring, ['decrypt', '--label', 'docs', encrypted, '-o', decrypted + '.owner']);
    assert.deepEqual(new Uint8Array(readFileSync(decrypted + '.owner')), data);
    const secret = sealSecret(decodePublicKey(alice.identity.delegatingPublicKey('docs')), new TextEncoder().encode('from the SDK'));
    const opened = kms(node, bobKeyring, ['secret', 'get', '--policy', granted.idHex, secret]) as { value: string };
    assert.equal(opened.value, 'from the SDK');
  });
});
