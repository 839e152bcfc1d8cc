// The web demo: an owner encrypts a file and grants a reader, the reader decrypts in the
// browser, and the chain's policies and access log update live, decoded from the metadata.
import { Keyring } from '@polkadot/api';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import {
  KmsClient,
  UmbralIdentity,
  conditions as c,
  decodePublicKey,
  decryptBytes,
  encryptBytes,
  toHex,
  type Account,
  type Policy,
} from '@kms-chain/sdk';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const DEV = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

interface Person {
  name: string;
  account: Account;
  /** The Umbral keys of this page's session (a real dApp keeps the seed, or opens a `kms` keyring). */
  identity: UmbralIdentity;
}

const people = new Map<string, Person>();
let kms: KmsClient | undefined;
let shared: { policy: Uint8Array; file: Uint8Array; owner: Person; reader: Person; name: string } | undefined;
const policies = new Map<string, Policy>();
const log = new Map<string, { block: number; policy: string; requester: string; answered: string[]; state: string }>();

function short(address: string): string {
  const person = [...people.values()].find((p) => p.account.address === address);
  return person ? person.name : `${address.slice(0, 6)}…${address.slice(-4)}`;
}

function status(id: string, text: string, error = false): void {
  const element = $(id);
  element.textContent = text;
  element.classList.toggle('error', error);
}

function fail(id: string, error: unknown): void {
  console.error(error);
  const e = error as Error;
  status(id, `${e.name ?? 'Error'}: ${e.message ?? String(error)}`, true);
}

async function loadPeople(): Promise<void> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519' });
  for (const name of DEV) {
    people.set(name, { name, account: keyring.addFromUri(`//${name}`), identity: UmbralIdentity.generate().identity });
  }
  // Accounts of a browser extension (polkadot.js, Talisman, SubWallet…), if one is installed.
  const injected = (window as unknown as { injectedWeb3?: Record<string, { enable(origin: string): Promise<{ accounts: { get(): Promise<{ address: string; name?: string }[]> }; signer: never }> }> }).injectedWeb3;
  if (injected && Object.keys(injected).length > 0) {
    for (const [source, provider] of Object.entries(injected)) {
      try {
        const extension = await provider.enable('KMS Chain demo');
        for (const account of await extension.accounts.get()) {
          const name = `${account.name ?? account.address.slice(0, 8)} (${source})`;
          people.set(name, { name, account: { address: account.address, signer: extension.signer }, identity: UmbralIdentity.generate().identity });
        }
      } catch (error) {
        console.warn(`extension ${source}:`, error);
      }
    }
    status('extension', 'extension accounts added');
  }
  for (const select of [$<HTMLSelectElement>('owner'), $<HTMLSelectElement>('reader')]) {
    select.replaceChildren(...[...people.keys()].map((name) => new Option(name, name)));
  }
  $<HTMLSelectElement>('reader').value = 'Bob';
}

function renderPolicies(): void {
  const rows = [...policies.values()].sort((a, b) => b.start - a.start);
  $('policies').replaceChildren(
    ...rows.map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.policy = p.id;
      const accepted = p.nodes.filter((n) => n.accepted !== undefined).length;
      const cells = [
        p.id.slice(0, 18) + '…',
        short(p.owner),
        `${p.threshold}-of-${p.nodes.length} (${accepted} accepted), label “${p.label}”`,
        p.conditions.length ? p.conditions.map(c.render).map((t) => t.replace(/5[1-9A-HJ-NP-Za-km-z]{47}/g, short)).join(', ') : 'anyone with the key',
        `#${p.end}`,
        p.status.kind + (p.status.kind !== 'active' && p.status.block !== undefined ? ` at #${p.status.block}` : ''),
      ];
      tr.replaceChildren(...cells.map((text) => Object.assign(document.createElement('td'), { textContent: text })));
      return tr;
    }),
  );
}

function renderLog(): void {
  const rows = [...log.entries()].sort((a, b) => b[1].block - a[1].block);
  $('log').replaceChildren(
    ...rows.map(([request, entry]) => {
      const tr = document.createElement('tr');
      tr.dataset.request = request;
      const cells = [`#${entry.block}`, request, entry.policy.slice(0, 18) + '…', short(entry.requester), entry.answered.map(short).join(', ') || '—', entry.state];
      tr.replaceChildren(...cells.map((text) => Object.assign(document.createElement('td'), { textContent: text })));
      return tr;
    }),
  );
}

async function refreshPolicy(id: string): Promise<void> {
  const policy = await kms!.policy(id);
  if (policy) policies.set(id, policy);
  else policies.delete(id);
  renderPolicies();
}

/** Follows the chain's events, decoded from the runtime's metadata, block by block. */
async function follow(): Promise<void> {
  const api = kms!.api;
  for (const person of people.values()) {
    for (const id of await kms!.policiesOf(person.account.address)) await refreshPolicy(id);
  }
  await api.query.system!.events!(async (records: unknown) => {
    const header = await api.rpc.chain.getHeader();
    const block = header.number.toNumber();
    $('chain').textContent = `${(await api.rpc.system.chain()).toString()} at block #${block}`;
    for (const { event } of records as { event: { section: string; method: string; data: { toJSON(): unknown[]; names?: string[] | null } } }[]) {
      if (event.section !== 'policies') continue;
      const values = event.data.toJSON();
      const names = event.data.names ?? [];
      const field = (name: string) => String(values[names.indexOf(name)]);
      switch (event.method) {
        case 'ReencryptionRequested':
          log.set(field('request'), { block, policy: field('policy'), requester: field('requester'), answered: [], state: `pending until #${field('deadline')}` });
          break;
        case 'CfragsSubmitted':
          log.get(field('request'))?.answered.push(field('node'));
          break;
        case 'RequestFulfilled':
        case 'RequestFailed': {
          const entry = log.get(field('request'));
          if (entry) entry.state = event.method === 'RequestFulfilled' ? 'fulfilled' : 'failed';
          break;
        }
        default:
          if (names.includes('id')) await refreshPolicy(field('id'));
      }
    }
    renderLog();
  });
}

async function connect(): Promise<void> {
  const url = $<HTMLInputElement>('url').value.trim();
  status('chain', `connecting to ${url}…`);
  try {
    await kms?.disconnect();
    kms = await KmsClient.connect(url, { timeoutMs: 15_000 });
    status('chain', `connected to ${url}`);
    $<HTMLButtonElement>('grant').disabled = false;
    await follow();
  } catch (error) {
    fail('chain', error);
  }
}

async function grant(): Promise<void> {
  const owner = people.get($<HTMLSelectElement>('owner').value)!;
  const reader = people.get($<HTMLSelectElement>('reader').value)!;
  const label = $<HTMLInputElement>('label').value;
  const upload = $<HTMLInputElement>('file').files?.[0];
  const name = upload?.name ?? 'message.txt';
  const plaintext = upload ? new Uint8Array(await upload.arrayBuffer()) : new TextEncoder().encode($<HTMLTextAreaElement>('text').value);
  const button = $<HTMLButtonElement>('grant');
  button.disabled = true;
  try {
    status('grant-status', `encrypting ${plaintext.length} bytes to ${owner.name}'s label “${label}”…`);
    const file = await encryptBytes(decodePublicKey(owner.identity.delegatingPublicKey(label)), plaintext);
    $('encrypted').hidden = false;
    $('encrypted').textContent = `${name}.kms: ${file.length} bytes, header ${toHex(file.subarray(0, 24))}…`;
    const conditions = $<HTMLInputElement>('only-reader').checked ? [c.requesterIs(reader.account.address)] : [];
    const plan = await kms!.planGrant(owner.account, owner.identity, {
      label,
      receivingKey: reader.identity.receivingPublicKey(),
      threshold: 1,
      shares: 1,
      blocks: Number($<HTMLInputElement>('blocks').value),
      feeRate: kms!.limits().minFeeRate,
      conditions,
    });
    status('grant-status', `granting ${reader.name} through ${plan.nodes.length} node(s); fee ${plan.fee} plancks for ${plan.periods} periods; waiting for the nodes to accept…`);
    const granted = await plan.submit();
    shared = { policy: granted.id, file, owner, reader, name };
    await refreshPolicy(granted.idHex);
    status('grant-status', `policy ${granted.idHex} granted in block #${granted.included.block}, accepted by ${granted.acceptance?.accepted.map(short).join(', ')}`);
    $<HTMLButtonElement>('decrypt').disabled = false;
  } catch (error) {
    fail('grant-status', error);
  } finally {
    button.disabled = false;
  }
}

async function decrypt(): Promise<void> {
  const { policy, file, reader, name } = shared!;
  const button = $<HTMLButtonElement>('decrypt');
  button.disabled = true;
  try {
    status('decrypt-status', `${reader.name} requests re-encryption…`);
    const plaintext = await decryptBytes(
      file,
      kms!.readerKey(reader.account, reader.identity, policy, {
        onRetrieval: (r) => status('decrypt-status', `request ${r.request}: cfrags from ${r.answeredBy.map(short).join(', ')} verified; decrypting…`),
      }),
    );
    const output = $('decrypted');
    output.hidden = false;
    output.textContent = new TextDecoder().decode(plaintext);
    output.dataset.bytes = String(plaintext.length);
    status('decrypt-status', `${reader.name} decrypted ${name} (${plaintext.length} bytes)`);
  } catch (error) {
    fail('decrypt-status', error);
  } finally {
    button.disabled = false;
  }
}

const node = new URLSearchParams(location.search).get('node');
if (node) $<HTMLInputElement>('url').value = node;
$('connect').addEventListener('click', () => void connect());
$('grant').addEventListener('click', () => void grant());
$('decrypt').addEventListener('click', () => void decrypt());
await loadPeople();
document.body.dataset.ready = 'true';
