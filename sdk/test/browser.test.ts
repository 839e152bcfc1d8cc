// The web demo, built as a dApp builds it, driven end to end in headless Chromium against a real
// development node: Alice encrypts and grants Bob, Bob decrypts in the page, and the live lists
// show the policy and who answered. Screenshots go to test-output/.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { DevNode, connect, waitForNodes } from './harness.js';

const sdk = fileURLToPath(new URL('../..', import.meta.url));
const demo = join(sdk, 'examples', 'web');
const output = join(sdk, 'test-output');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** Serves the built demo on loopback. */
function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })));
}

describe('the web demo in Chromium', { timeout: 600_000 }, () => {
  let node: DevNode;
  let browser: Browser;
  let site: { server: Server; url: string };

  before(async () => {
    node = await DevNode.start();
    await build({ configFile: join(demo, 'vite.config.ts') });
    site = await serve(join(demo, 'dist'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const kms = await connect(node);
    await waitForNodes(kms);
    await kms.disconnect();
  });
  after(async () => {
    await browser?.close();
    site?.server.close();
    node?.stop();
  });

  it('lets Alice share a file with Bob, who decrypts it in the page', async () => {
    mkdirSync(output, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 1300 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${site.url}?node=${encodeURIComponent(node.url)}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await page.click('#connect');
    await page.waitForFunction(() => /at block #\d+/.test(document.getElementById('chain')!.textContent ?? ''), null, { timeout: 30_000 });

    const message = `Meet at the usual place at nine. (${Date.now()})`;
    await page.selectOption('#owner', 'Alice');
    await page.selectOption('#reader', 'Bob');
    await page.fill('#text', message);
    await page.click('#grant');
    await page.waitForFunction(() => /granted in block/.test(document.getElementById('grant-status')!.textContent ?? '') || document.getElementById('grant-status')!.classList.contains('error'), null, { timeout: 120_000 });
    const granted = await page.textContent('#grant-status');
    assert.match(granted ?? '', /policy 0x[0-9a-f]{32} granted in block #\d+, accepted by Alice/, granted ?? '');

    await page.click('#decrypt');
    await page.waitForFunction(() => !document.getElementById('decrypted')!.hidden || document.getElementById('decrypt-status')!.classList.contains('error'), null, { timeout: 120_000 });
    assert.equal(await page.textContent('#decrypted'), message, (await page.textContent('#decrypt-status')) ?? '');

    // The live lists: the policy with its condition, and the request answered by Alice's node.
    await page.waitForFunction(() => [...document.querySelectorAll('#log tr')].some((row) => row.textContent?.includes('fulfilled')), null, { timeout: 60_000 });
    const policyRow = await page.textContent('#policies tr');
    assert.match(policyRow ?? '', /requester-is\(Bob\)/);
    assert.match(policyRow ?? '', /1-of-1 \(1 accepted\)/);
    const logRow = await page.textContent('#log tr');
    assert.match(logRow ?? '', /Bob.*Alice.*fulfilled/);
    await page.screenshot({ path: join(output, 'web-demo.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no errors in the page');
  });
});
