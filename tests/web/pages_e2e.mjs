// End to end in headless Chromium (Debian's, driven by playwright-core):
// the owner console and the customer usage page against a real `tollgate
// serve` that tests/integration/test_web_pages.py started and filled with
// real requests. Saves a screenshot of each page into SCREENSHOTS.
//
// Environment: NODE_MODULES (where playwright-core is), ADMIN_URL, DATA_URL,
// ACCESS_KEY_ID, SECRET_ACCESS_KEY, API (the API id, stage prod, GET /echo),
// PLAN_ID (the plan keys are added to), CUSTOMER_KEY and CUSTOMER_USED (a
// key of that plan and the requests it made), QUOTA (the plan's daily
// quota), SCREENSHOTS. Exits 1 on the first failed check.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const require = createRequire(join(env('NODE_MODULES'), 'noop.js'));
const { chromium } = require('playwright-core');

const admin = env('ADMIN_URL');
const data = env('DATA_URL');
const shots = env('SCREENSHOTS');

// Everything is on loopback: nothing may reach for the network.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
         '--disable-background-networking', '--disable-component-update', '--disable-domain-reliability',
         '--disable-sync', '--disable-default-apps', '--metrics-recording-only', '--safebrowsing-disable-auto-update'],
});

async function waitFor(what, check, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function dataStatus(key) {
  const res = await fetch(`${data}/restapis/${env('API')}/prod/_user_request_/echo`, { headers: { 'x-api-key': key } });
  await res.arrayBuffer();
  return res.status;
}

// Script errors on the pages fail the run.
const pageErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // Without a session there is only the sign-in form.
  await page.goto(`${admin}/console`);
  await page.fill('input[name=access_key_id]', env('ACCESS_KEY_ID'));
  await page.fill('input[name=secret_access_key]', 'not-the-secret');
  await page.click('button');
  assert.match(await page.textContent('body'), /Wrong access key id or secret/);
  await page.fill('input[name=access_key_id]', env('ACCESS_KEY_ID'));
  await page.fill('input[name=secret_access_key]', env('SECRET_ACCESS_KEY'));
  await page.click('button');
  await page.waitForSelector('#keys tbody tr');
  assert.equal(await page.textContent('#who'), env('ACCESS_KEY_ID'));

  // A key made in the console is listed, added to the plan, and served.
  await page.fill('#create-key input[name=name]', 'made-in-browser');
  await page.click('#create-key button');
  const row = page.locator('#keys tbody tr[data-name="made-in-browser"]');
  await row.waitFor();
  await page.waitForFunction(() => document.querySelector('#notice').textContent.includes('Its value'));
  const shown = (await page.textContent('#notice')).match(/Its value: (\S+)$/)[1];
  const keyId = await row.getAttribute('data-id');
  await page.selectOption('#attach select[name=plan]', env('PLAN_ID'));
  await page.selectOption('#attach select[name=key]', keyId);
  await page.click('#attach button[value=key]');
  await waitFor('the key listed in its plan', async () => (await row.textContent()).includes('%'));
  const value = await page.evaluate(async (id) => {
    const res = await fetch(`/console/api/mgmt/apikeys/${id}?includeValue=true`);
    return (await res.json()).value;
  }, keyId);
  assert.equal(shown, value);
  await waitFor('the data plane serving the new key', async () => (await dataStatus(value)) === 200);
  for (let i = 1; i < 5; ++i) assert.equal(await dataStatus(value), 200);

  // Its usage chart shows the 5 requests just sent.
  await waitFor('the key\'s usage in the console', async () => {
    await page.reload();
    await row.waitFor();
    return (await row.locator('td').nth(5).textContent()) === '5';
  });
  await row.locator('button', { hasText: 'Chart' }).click();
  await page.waitForSelector('#chart canvas');
  assert.match(await page.textContent('#chart-title'), /made-in-browser/);
  const charted = await page.evaluate(async ([plan, id]) => {
    const res = await fetch(`/console/api/usage?planId=${plan}&keyId=${id}&days=30`);
    return (await res.json()).days.at(-1).used;
  }, [env('PLAN_ID'), keyId]);
  assert.equal(charted, 5);
  // And its requests by outcome over the last hour: the same 5, allowed.
  await page.waitForSelector('#recent-chart canvas');
  assert.match(await page.textContent('#recent-title'), /made-in-browser/);
  const recent = await page.evaluate(async ([plan, id]) => {
    const res = await fetch(`/console/api/recent?planId=${plan}&keyId=${id}`);
    const minutes = (await res.json()).minutes;
    return ['allowed', 'throttled', 'quotaExceeded'].map(name => minutes.reduce((n, m) => n + m[name], 0));
  }, [env('PLAN_ID'), keyId]);
  assert.deepEqual(recent, [5, 0, 0]);
  await page.screenshot({ path: join(shots, 'console.png'), fullPage: true });

  // Keys are found by the start of their name.
  await page.fill('#find-keys input[name=nameQuery]', 'made-in');
  await page.click('#find-keys button');
  await waitFor('only the key found listed', async () => (await page.locator('#keys tbody tr').count()) === 1);
  assert.match(await page.textContent('#key-count'), /^1 of 1 key/);
  assert.equal(await page.isHidden('#more-keys'), true);
  // And listed by plan: both keys are in the plan.
  await page.click('#all-keys');
  await waitFor('every key listed again', async () => (await page.locator('#keys tbody tr').count()) === 2);
  await page.locator('#plans tbody tr', { hasText: env('PLAN_ID') }).locator('button', { hasText: 'Keys' }).click();
  await waitFor('the plan\'s keys listed', async () => /^2 of 2 key\(s\) in /.test(await page.textContent('#key-count')));

  // Disabled in the console, the key is refused by the data plane.
  await row.locator('button', { hasText: 'Disable' }).click();
  await waitFor('the key disabled', async () => (await row.locator('td').nth(3).textContent()) === 'no');
  await waitFor('the data plane refusing the key', async () => (await dataStatus(value)) === 403);

  // The customer page: the key's remaining quota; a wrong key sees nothing.
  const customer = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  customer.on('pageerror', (e) => pageErrors.push(e.message));
  await customer.goto(`${data}/_usage`);
  await customer.fill('#key', env('CUSTOMER_KEY'));
  await customer.click('#ask button');
  await customer.waitForSelector('#out section canvas');
  const quota = Number(env('QUOTA'));
  const used = Number(env('CUSTOMER_USED'));
  assert.match(await customer.textContent('#out .remaining'), new RegExp(`^Quota: ${quota - used} of ${quota} `));
  await customer.screenshot({ path: join(shots, 'usage.png'), fullPage: true });
  await customer.fill('#key', 'no-such-key-0123456789');
  await customer.click('#ask button');
  await customer.waitForSelector('#out .error');
  assert.equal(await customer.locator('#out section').count(), 0);
  await customer.screenshot({ path: join(shots, 'usage-wrong-key.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
  console.log('pages_e2e: every check passed');
} finally {
  await browser.close();
}
