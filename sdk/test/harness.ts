/**
 * Test support: a real `kms-node --dev` started from the built binary, the `kms` CLI, and
 * development accounts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/api';
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';
import { KmsClient } from '../src/index.js';

/** Where the project's builds are (scripts/lib.sh): `$CARGO_TARGET_DIR/release`. */
export function binary(name: 'kms' | 'kms-node'): string {
  const env = name === 'kms' ? process.env.KMS_BIN : process.env.KMS_NODE_BIN;
  if (env) return env;
  const target = process.env.CARGO_TARGET_DIR ?? join(process.env.KMS_CACHE ?? join(homedir(), '.cache', 'kms-chain'), 'target');
  return join(target, 'release', name);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A running development node, its log in a temporary directory. */
export class DevNode {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  /** Starts `kms-node --dev --tmp` on free loopback ports and waits (120 s at most) until it serves RPC. */
  static async start(): Promise<DevNode> {
    const dir = mkdtempSync(join(tmpdir(), 'kms-sdk-node-'));
    const [rpc, p2p] = [await freePort(), await freePort()];
    const log = openSync(join(dir, 'node.log'), 'w');
    const child = spawn(
      binary('kms-node'),
      ['--dev', '--tmp', '--rpc-port', String(rpc), '--listen-addr', `/ip4/127.0.0.1/tcp/${p2p}`, '--no-telemetry', '--no-prometheus', '--no-mdns'],
      { stdio: ['ignore', 'ignore', log] },
    );
    const node = new DevNode(`ws://127.0.0.1:${rpc}`, child, dir);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`kms-node exited (${child.exitCode}):\n${node.logTail()}`);
      try {
        const response = await fetch(`http://127.0.0.1:${rpc}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_getHeader', params: [] }),
        });
        const { result } = (await response.json()) as { result?: { number: string } };
        if (result && Number(result.number) >= 1) return node;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        node.stop();
        throw new Error(`kms-node did not produce a block within 120 s:\n${node.logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The last lines of the node's log. */
  logTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'node.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops the node and removes its directory. */
  stop(): void {
    this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The development accounts, sr25519. */
export async function devAccounts() {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519' });
  return {
    alice: keyring.addFromUri('//Alice'),
    bob: keyring.addFromUri('//Bob'),
    charlie: keyring.addFromUri('//Charlie'),
    keyring,
  };
}

/** Connects an SDK client to `node`. */
export function connect(node: DevNode): Promise<KmsClient> {
  return KmsClient.connect(node.url);
}

/** Runs the `kms` CLI with `--json` against `node`; returns its JSON (or throws with its output). */
export function kms(node: DevNode, keyring: string, args: string[], input?: Uint8Array): Record<string, unknown> {
  const result = spawnSync(binary('kms'), ['--json', ...args], {
    env: { ...process.env, KMS_URL: node.url, KMS_KEYRING: keyring, KMS_PASSPHRASE: 'sdk test passphrase' },
    input,
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = result.stdout?.toString() ?? '';
  if (result.status !== 0) {
    throw new Error(`kms ${args.join(' ')} exited ${result.status}: ${stdout} ${result.stderr?.toString() ?? ''}`);
  }
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A temporary directory for a test's files. */
export function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'kms-sdk-test-'));
}

/**
 * Waits (180 s at most) until `count` nodes are eligible for a policy of `blocks` blocks in the
 * finalized state (what the `kms` CLI reads): a fresh chain's nodes first heartbeat.
 */
export async function waitForNodes(kms: KmsClient, count = 1, blocks = 60): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const finalized = await kms.api.rpc.chain.getFinalizedHead();
    const at = await kms.api.at(finalized);
    const end = (await kms.bestBlock()) + blocks;
    const eligible = (await at.call.policiesApi!.sampleNodes!(count, end, new Uint8Array(32))) as unknown as unknown[];
    if (eligible.length >= count) return;
    if (Date.now() > deadline) throw new Error(`fewer than ${count} nodes eligible after 180 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * The development binary's `test-tamper` switch (never in production builds): the KMS nodes
 * listed answer with well-formed cfrags of another capsule. Written to the node's offchain
 * storage through the unsafe RPC a local development node allows.
 */
export async function setTamper(node: DevNode, accounts: string[]): Promise<void> {
  const value = u8aConcat(compactToU8a(accounts.length), ...accounts.map((a) => decodeAddress(a)));
  const response = await fetch(node.url.replace('ws://', 'http://'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'offchain_localStorageSet', params: ['PERSISTENT', u8aToHex(new TextEncoder().encode('kms::test-tamper')), u8aToHex(value)] }),
  });
  const reply = (await response.json()) as { error?: unknown };
  if (reply.error) throw new Error(`offchain_localStorageSet: ${JSON.stringify(reply.error)}`);
}
