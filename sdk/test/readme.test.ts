// The README's quick start, run exactly as written (only KMS_URL points it at the test's node).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DevNode, connect, waitForNodes } from './harness.js';

const sdk = fileURLToPath(new URL('../..', import.meta.url));

describe('the README', { timeout: 300_000 }, () => {
  let node: DevNode;
  before(async () => {
    node = await DevNode.start();
    const kms = await connect(node);
    await waitForNodes(kms);
    await kms.disconnect();
  });
  after(() => node?.stop());

  it('quick start runs as written and shares the file from Alice to Bob', async () => {
    const readme = readFileSync(`${sdk}/README.md`, 'utf8');
    const section = readme.split('## Five-minute quick start')[1] ?? '';
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code, 'the quick start has a js block');
    // Inside the package, `@kms-chain/sdk` resolves to the package itself (its `exports`).
    const script = `${sdk}/.build/quickstart.mjs`;
    writeFileSync(script, code);
    const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, KMS_URL: node.url }, timeout: 240_000 });
    assert.match(stdout, /as the owner: the quarterly report/);
    assert.match(stdout, /policy 0x[0-9a-f]{32} in block \d+/);
    assert.match(stdout, /as the reader: the quarterly report/);
  });
});
