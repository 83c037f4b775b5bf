// End-to-end: the real `xeno demo` (service, worker, Shopify simulator, PostgreSQL) driven
// through the built dashboard in headless Chromium. Screenshots land in e2e/artifacts/.
//
//   node e2e/run.mjs            (after `cargo build --bin xeno` and `npm run build`)
//
// XENO_BIN overrides the binary; CHROMIUM the browser.

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const artifacts = path.join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const binary = process.env.XENO_BIN ?? path.join(root, 'target/debug/xeno');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
for (const [what, file] of [['xeno', binary], ['Chromium', browserPath], ['the built dashboard', path.join(root, 'web/dist/index.html')]]) {
  if (!existsSync(file)) {
    console.error(`e2e: ${what} is missing at ${file}`);
    process.exit(2);
  }
}

const SHOP = 'e2e-goods.myshopify.com';
const database = `xeno_e2e_${Date.now()}`;
const port = await freePort();
const base = `http://127.0.0.1:${port}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port: found } = server.address();
      server.close(() => resolve(found));
    });
    server.on('error', reject);
  });
}

function psql(sql) {
  execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', sql], { stdio: 'ignore' });
}

const step = (name) => console.log(`e2e: ${name}`);

// The service, as a newcomer runs it: `xeno demo` (a small demo shop, so it starts fast).
const demo = spawn(binary, ['demo', '--orders', '300', '--customers', '120'], {
  env: {
    ...process.env,
    DATABASE_URL: `postgres://xeno_app@127.0.0.1:5432/${database}`,
    DATABASE_ADMIN_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    XENO_BIND: `127.0.0.1:${port}`,
    XENO_PUBLIC_URL: base,
    XENO_WEB_DIR: path.join(root, 'web/dist'),
    XENO_BULK_POLL_MS: '100',
    RUST_LOG: 'warn',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const simUrl = await new Promise((resolve, reject) => {
  let seen = '';
  const timer = setTimeout(() => reject(new Error(`xeno demo did not start: ${seen}`)), 120_000);
  demo.stdout.on('data', (chunk) => {
    seen += chunk;
    const found = seen.match(/Shopify simulator: (\S+)/);
    if (found) {
      clearTimeout(timer);
      resolve(found[1]);
    }
  });
  demo.on('exit', (code) => reject(new Error(`xeno demo exited with ${code}: ${seen}`)));
});

let browser;
let failed = false;
try {
  // A second shop in the simulator for the new account to connect.
  const created = await fetch(`${simUrl}/_sim/shops`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ domain: SHOP, seed: 77, name: 'E2E Goods', customers: 150, products: 20, orders: 400, days: 120, currency: 'EUR', timezone: 'Europe/Berlin' }),
  });
  assert.equal(created.status, 201, 'the simulator creates the shop');

  browser = await chromium.launch({
    executablePath: browserPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  // The browser is in Los Angeles; the store in Berlin: every date shown must be Berlin's.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'America/Los_Angeles', acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
  const api = async (apiPath) => {
    const token = await page.evaluate(() => localStorage.getItem('xeno.token'));
    const response = await fetch(`${base}${apiPath}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, apiPath);
    return response.json();
  };
  const digits = (text) => text.replace(/[^0-9-]/g, '');

  step('sign up, with a field error first');
  await page.goto(`${base}/signup`);
  await page.fill('#field-tenant_name', 'E2E Goods');
  await page.fill('#field-email', 'owner@e2e.example');
  await page.fill('#field-password', 'short');
  await page.click('button[type=submit]');
  await page.locator('#field-password-error').waitFor();
  assert.match(await page.locator('#field-password-error').innerText(), /at least 12/);
  await shot('signup-error');
  // The browser logs the deliberate 422; only what follows must be clean.
  consoleErrors.length = 0;
  await page.fill('#field-password', 'a long enough password');
  await page.click('button[type=submit]');
  await page.getByText('No store is connected yet').waitFor();
  await shot('overview-empty');

  step('the session survives a reload');
  await page.reload();
  await page.getByText('No store is connected yet').waitFor();

  step('an expired token is renewed silently with the refresh token');
  const before = await page.evaluate(() => localStorage.getItem('xeno.refresh'));
  await page.evaluate(() => localStorage.setItem('xeno.token', 'expired.token.value'));
  await page.reload();
  await page.getByText('No store is connected yet').waitFor();
  const renewed = await page.evaluate(() => [localStorage.getItem('xeno.token'), localStorage.getItem('xeno.refresh')]);
  assert.notEqual(renewed[0], 'expired.token.value', 'a new token');
  assert.notEqual(renewed[1], before, 'the refresh token rotated');
  // The browser logs the deliberate 401 that started the renewal; what follows must be clean.
  consoleErrors.length = 0;

  step('connect the simulated store through OAuth');
  await page.getByRole('link', { name: 'Stores' }).click();
  await page.fill('input[name=shop]', SHOP);
  await page.getByRole('button', { name: 'Connect with Shopify' }).click();
  await page.waitForURL(/\/stores\/[0-9a-f-]+\?connected=1/, { timeout: 30_000 });
  const card = page.locator(`[data-store="${SHOP}"]`);
  await card.locator('[data-fact=status]').getByText('active').waitFor();
  await card.locator('[data-fact=sync]').getByText('Full sync completed').waitFor({ timeout: 120_000 });
  const listed = (await api('/api/stores')).data.find((s) => s.shop_domain === SHOP);
  assert.ok(listed.counts.orders > 0);
  await card.locator('[data-fact=data]').getByText(`${listed.counts.orders} orders`).waitFor({ timeout: 20_000 });

  step('the store is checked against Shopify Analytics');
  const [check] = (await api(`/api/reconciliation?store_id=${listed.id}`)).data;
  assert.equal(check.status, 'matched', JSON.stringify(check));
  assert.ok(check.days_checked > 0);
  await card
    .locator('[data-fact=reconciliation]')
    .getByText(`Matches Shopify Analytics for ${check.days_matched} of ${check.days_checked} days`)
    .waitFor({ timeout: 20_000 });
  await shot('stores');

  step('sync now shows progress and completes');
  const runsBefore = (await api(`/api/sync/runs?store_id=${listed.id}`)).data.length;
  await card.getByRole('button', { name: 'Sync now' }).click();
  await page.waitForFunction(
    async ([storeId, before]) => {
      const token = localStorage.getItem('xeno.token');
      const runs = await (await fetch(`/api/sync/runs?store_id=${storeId}`, { headers: { authorization: `Bearer ${token}` } })).json();
      return runs.data.length > before && runs.data[0].status === 'completed';
    },
    [listed.id, runsBefore],
    { timeout: 120_000, polling: 500 },
  );
  // Sync now is incremental: what changed since the backfill.
  await card.locator('[data-fact=sync]').getByText(/^Sync completed/).waitFor({ timeout: 20_000 });

  step('the definitions page states each figure');
  await page.getByRole('link', { name: 'Definitions' }).click();
  await page.getByRole('heading', { name: 'How figures are computed' }).waitFor();
  await page.getByText('Gross sales − discounts − returns.').waitFor();
  await shot('definitions');

  step('the overview shows the API figures');
  await page.getByRole('link', { name: 'Overview' }).click();
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 150 * 86_400_000).toISOString().slice(0, 10);
  await page.fill('input[name=from]', from);
  await page.fill('input[name=to]', today);
  const wide = await api(`/api/metrics/dashboard?from=${from}&to=${today}&compare=previous_period`);
  assert.ok(wide.totals.orders > 0, 'the shop has orders in range');
  const ordersKpi = page.locator('[data-kpi=orders] .kpi-value');
  await page.waitForFunction((expected) => document.querySelector('[data-kpi=orders] .kpi-value')?.textContent?.replace(/[^0-9]/g, '') === expected, String(wide.totals.orders), { timeout: 15_000 });
  const eur = wide.totals.sales.find((s) => s.currency === 'EUR');
  assert.equal(digits(await page.locator('[data-kpi=net_sales-EUR] .kpi-value').innerText()), digits(Number(eur.net_sales).toFixed(2)));
  assert.equal(digits(await page.locator('[data-kpi=aov-EUR] .kpi-value').innerText()), digits(Number(eur.average_order_value).toFixed(2)));
  assert.equal(digits(await page.locator('[data-kpi=customers] .kpi-value').innerText()), String(wide.totals.buyers));
  await page.locator('.chart svg').first().waitFor();
  // What existing customers are expected to spend in 90 days, when the store is fitted.
  const [fit] = (await api('/api/predictions/summary')).data;
  if (fit?.expected_revenue_90 != null) {
    const shown = await page.locator(`[data-kpi="expected_90-${fit.store_id}"] .kpi-value`).innerText();
    assert.equal(digits(shown), digits(Number(fit.expected_revenue_90).toFixed(2)));
  }
  // The previous period is drawn beside the range, dashed.
  await page.locator('.chart path[stroke-dasharray="4 4"]').first().waitFor({ state: 'attached' });
  await shot('overview');

  step('the sales breakdown is the API breakdown, in the store\'s zone');
  for (const line of ['gross_sales', 'discounts', 'returns', 'net_sales', 'shipping', 'taxes', 'duties', 'additional_fees', 'total_sales']) {
    const shown = await page.locator(`[data-line=${line}] [data-currency=EUR]`).innerText();
    assert.equal(digits(shown), digits(Number(eur[line]).toFixed(2)), line);
  }
  assert.equal(await page.locator('[data-zone]').getAttribute('data-zone'), 'Europe/Berlin');

  step('against the same days a year before, as the API compares them');
  await page.selectOption('select[name=compare]', 'year');
  await page.waitForURL(/compare=year/);
  const yearly = await api(`/api/metrics/dashboard?from=${from}&to=${today}&compare=previous_year`);
  const yearChange = yearly.previous.change.orders;
  const expectedChange = yearChange === null ? '—' : new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(yearChange);
  await page.waitForFunction((text) => document.querySelector('[data-kpi=orders] .kpi-change')?.textContent === text, expectedChange, { timeout: 15_000 });
  assert.equal(await page.locator('[data-kpi=orders] .kpi-change').getAttribute('title'), 'against the same days a year before');
  await page.selectOption('select[name=compare]', 'period');

  step('best sellers by variant are the API variants, kept in the URL');
  await page.selectOption('select[name=sellers-by]', 'variant');
  await page.waitForURL(/by=variant/);
  const variants = await api(`/api/metrics/products?from=${from}&to=${today}&limit=5&by=variant`);
  assert.ok(variants.data.length > 0, 'variants sold in range');
  const firstSeller = variants.data[0].variant_id ?? variants.data[0].product_id;
  await page.locator(`[data-seller="${firstSeller}"]`).first().waitFor();
  assert.equal(await page.locator('[data-seller]').count(), variants.data.length);
  await page.selectOption('select[name=sellers-by]', 'product');

  step('a shorter range changes the figures to the API figures for it');
  await page.getByRole('button', { name: 'Last 7 days' }).click();
  // Presets end today where the store is, not where the browser is.
  const storeToday = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date());
  const weekFrom = new Date(Date.parse(storeToday) - 6 * 86_400_000).toISOString().slice(0, 10);
  const week = await api(`/api/metrics/dashboard?from=${weekFrom}&to=${storeToday}`);
  assert.notEqual(week.totals.orders, wide.totals.orders, 'the week differs from the wide range');
  await page.waitForFunction((expected) => document.querySelector('[data-kpi=orders] .kpi-value')?.textContent?.replace(/[^0-9]/g, '') === expected, String(week.totals.orders), { timeout: 15_000 });
  assert.equal(digits(await ordersKpi.innerText()), String(week.totals.orders));

  step('the view lives in the URL: a reload keeps range and granularity');
  await page.selectOption('select[name=granularity]', 'week');
  await page.waitForURL(/range=7d.*granularity=week|granularity=week.*range=7d/);
  await page.reload();
  await page.locator('[data-kpi=orders]').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Last 7 days' }).getAttribute('aria-pressed'), 'true');
  assert.equal(await page.locator('select[name=granularity]').inputValue(), 'week');
  await page.locator('figure[aria-label="Net sales and orders by week"]').waitFor();
  assert.equal(digits(await ordersKpi.innerText()), String(week.totals.orders));

  step('an impossible range says why and keeps the last figures');
  // A start after the end, in one change (the end stays today).
  const tomorrow = new Date(Date.parse(storeToday) + 86_400_000).toISOString().slice(0, 10);
  await page.fill('input[name=from]', tomorrow);
  await page.getByRole('alert').getByText('The start is after the end.').waitFor();
  assert.equal(digits(await ordersKpi.innerText()), String(week.totals.orders));
  assert.equal(await page.locator('.loading').count(), 0, 'no endless spinner');
  await page.getByRole('button', { name: 'Last 7 days' }).click();

  step('customers open on the biggest spenders, as the API sorts them');
  await page.getByRole('link', { name: 'Customers' }).click();
  // Pages load lazily: wait for this one's heading, not the last page's table.
  await page.getByRole('heading', { name: 'Customers', exact: true, level: 1 }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  const topSpenders = (await api('/api/customers?sort=spent&limit=25')).data;
  const shownNames = await page.locator('tbody tr td:first-child').allInnerTexts();
  assert.equal(shownNames.length, topSpenders.length);
  const shownSpent = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
  assert.deepEqual(shownSpent.map(digits), topSpenders.map((c) => (c.currency ? digits(Number(c.spent).toFixed(2)) : '')));

  step('open a customer');
  await shot('customers');
  const first = page.locator('tbody tr td a').first();
  const href = await first.getAttribute('href');
  await first.click();
  const [, storeId, customerId] = href.split('/').filter(Boolean);
  const detail = await api(`/api/customers/${storeId}/${customerId}`);
  await page.locator('[data-fact=orders]').waitFor();
  assert.equal(await page.locator('[data-fact=orders]').innerText(), String(detail.customer.orders));
  // The store's models' outlook for the customer, as the API gives it.
  if (detail.predictions) {
    assert.equal(await page.locator('[data-fact=p_alive]').innerText(), `${Math.round(detail.predictions.p_alive * 1000) / 10}%`);
    assert.equal(digits(await page.locator('[data-fact=clv_365]').innerText()), digits(Number(detail.predictions.clv_365).toFixed(2)));
  } else {
    await page.getByText('No outlook yet').waitFor();
  }
  await shot('customer');

  step("orders show the store's day, whatever the browser's zone");
  await page.getByRole('link', { name: 'Orders' }).click();
  // Pages load lazily: wait for this one's heading, not the last page's table.
  await page.getByRole('heading', { name: 'Orders', exact: true, level: 1 }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  const listed25 = (await api('/api/orders?limit=25')).data;
  const berlinDay = (iso) => new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'Europe/Berlin' });
  const laDay = (iso) => new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'America/Los_Angeles' });
  const shownDays = await page.locator('tbody tr td:nth-child(2)').allInnerTexts();
  assert.deepEqual(shownDays, listed25.map((o) => berlinDay(o.processed_at)));
  assert.ok(listed25.some((o) => berlinDay(o.processed_at) !== laDay(o.processed_at)), 'some order falls on another day in the browser zone');

  step('orders filtered by payment, kept in the URL');
  await page.selectOption('select[name=financial_status]', 'paid');
  await page.waitForURL(/status=paid/);
  const paid = (await api('/api/orders?limit=25&financial_status=paid')).data;
  await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length === n, paid.length);
  await page.reload();
  await page.locator('tbody tr').first().waitFor();
  assert.equal(await page.locator('select[name=financial_status]').inputValue(), 'paid');
  const payments = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
  assert.ok(payments.length > 0 && payments.every((p) => p.startsWith('Paid')), payments.join(', '));
  await page.selectOption('select[name=financial_status]', '');

  step('orders and products page through');
  await page.locator('tbody tr').first().waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Page 2').waitFor();
  await shot('orders');
  const orderLink = page.locator('tbody tr td a').first();
  const orderHref = await orderLink.getAttribute('href');
  await orderLink.click();
  const order = await api(`/api/${orderHref.split('/').filter(Boolean).join('/')}`);
  await page.locator('[data-line]').first().waitFor();
  assert.equal(await page.locator('[data-line]').count(), order.line_items.length);
  await shot('order');
  await page.getByRole('link', { name: 'Products' }).click();
  // Pages load lazily: wait for this one's heading, not the last page's table.
  await page.getByRole('heading', { name: 'Products', exact: true, level: 1 }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  // Each product's units in the last 30 days (the store's days), as the API counts them.
  const monthFrom = new Date(Date.parse(storeToday) - 29 * 86_400_000).toISOString().slice(0, 10);
  const productPage = (await api(`/api/products?limit=25&from=${monthFrom}&to=${storeToday}`)).data;
  await page.waitForFunction((n) => document.querySelectorAll('[data-units]').length === n, productPage.length);
  const unitsShown = await page.locator('[data-units]').allInnerTexts();
  assert.deepEqual(unitsShown, productPage.map((p) => String(p.sales.reduce((n, s) => n + s.units, 0))));
  assert.ok(productPage.some((p) => p.sales.length > 0), 'some product sold in the month');
  await shot('products');
  const productLink = page.locator('tbody tr td a').first();
  const productHref = await productLink.getAttribute('href');
  await productLink.click();
  const product = await api(`/api/${productHref.split('/').filter(Boolean).join('/')}`);
  await page.getByRole('heading', { name: 'Variants' }).waitFor();
  assert.equal(await page.locator('[data-variant]').count(), product.variants.length);
  await shot('product');

  step('cohorts and checkouts');
  await page.getByRole('link', { name: 'Cohorts' }).click();
  await page.locator('table.heatmap tbody tr').first().waitFor();
  // Each cohort's value per customer so far, as the API computes it.
  await page.selectOption('select[name=metric]', 'value');
  await page.waitForURL(/metric=value/);
  const cohortsFrom = new Date(Date.parse(storeToday) - 364 * 86_400_000).toISOString().slice(0, 10);
  const [firstCohort] = (await api(`/api/metrics/cohorts?from=${cohortsFrom}&to=${storeToday}`)).data;
  const m0 = await page.locator(`[data-cohort="${firstCohort.cohort}"] td`).nth(1).innerText();
  assert.equal(digits(m0), digits(Number(firstCohort.retention[0].cumulative_revenue_per_customer[0].amount).toFixed(2)));
  await shot('cohorts');
  await page.getByRole('link', { name: 'Checkouts' }).click();
  // The cohorts page has date inputs too: fill the checkouts page's, once it is there.
  await page.getByRole('heading', { name: 'Checkouts' }).waitFor();
  await page.fill('input[name=from]', from);
  await page.locator('.funnel').first().waitFor();
  await shot('checkouts');

  step('download a segment as CSV');
  await page.getByRole('link', { name: 'Segments' }).click();
  const champions = page.locator('[data-segment=champions]');
  await champions.waitFor();
  await shot('segments');
  // Predictive segments beside RFM, as the API counts them, once the store is fitted.
  const predictive = (await api(`/api/predictions/segments?store_id=${listed.id}`)).data;
  let predictedPage = null;
  if (predictive.some((s) => s.customers > 0)) {
    for (const s of predictive) {
      const shown = await page.locator(`[data-predictive=${s.segment}] [data-count]`).innerText();
      assert.equal(digits(shown), String(s.customers), s.segment);
    }
    // A predictive segment opens its customers, as the API lists them.
    const opened = predictive.find((s) => s.customers > 0);
    await page.locator(`[data-predictive=${opened.segment}]`).getByRole('link').click();
    const members = await api(`/api/predictions/segments/customers?store_id=${listed.id}&segment=${opened.segment}&limit=25`);
    await page.locator(`[data-predicted-member="${members.data[0].customer_id}"]`).waitFor();
    assert.equal(await page.locator('[data-predicted-member]').count(), members.data.length);
    const predictedUrl = new URL(page.url());
    predictedPage = [predictedUrl.pathname + predictedUrl.search, '[data-predicted-member]'];
    await page.goBack();
    await champions.waitFor();
    // Switched on for a Shopify tag, the segment says what the next sync will change; switched
    // off, that the tag comes off.
    const tagged = page.locator(`[data-segment-tag=${opened.segment}]`);
    await tagged.getByRole('button', { name: 'Tag in Shopify' }).click();
    const status = tagged.locator('[data-tag-status]');
    await status.waitFor();
    assert.ok((await status.innerText()).startsWith(`0 tagged · ${new Intl.NumberFormat('en-US').format(opened.customers)} to add`), await status.innerText());
    await shot('segment-tag');
    await tagged.getByRole('button', { name: 'Switch off' }).click();
    await tagged.getByText('coming off at the next sync').waitFor();
  }
  const count = Number(digits(await champions.locator('[data-count]').innerText()));
  assert.ok(count > 0, 'some champions');
  const [download] = await Promise.all([page.waitForEvent('download'), champions.getByRole('button', { name: 'Download CSV' }).click()]);
  const file = path.join(artifacts, 'champions.csv');
  await download.saveAs(file);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.match(lines[0], /^store_id,customer_id,email/);
  assert.equal(lines.length - 1, count, 'one line per champion');

  step('a segment opens its customers, most spent first, sortable');
  await champions.getByRole('link').click();
  await page.locator('[data-member]').first().waitFor();
  assert.equal(await page.locator('[data-total]').getAttribute('data-total'), String(count));
  assert.equal(await page.locator('[data-member]').count(), Math.min(25, count));
  const spentShown = (await page.locator('[data-spent]').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-spent')))));
  assert.ok(spentShown.every((v, i) => i === 0 || spentShown[i - 1] >= v), 'most spent first');
  await page.selectOption('select[name=sort]', 'orders');
  await page.waitForURL(/sort=orders/);
  await shot('segment-customers');
  const segmentMembers = new URL(page.url());

  step('a viewer joins by an invitation link and sees figures without personal data');
  await page.getByRole('link', { name: 'Team' }).click();
  await page.fill('input[name=invite_email]', 'viewer@e2e.example');
  await page.selectOption('select[name=invite_role]', 'viewer');
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const link = await page.locator('[data-invitation-link]').innerText();
  assert.ok(link.startsWith(`${base}/accept?token=xinv_`), link);
  await page.locator('[data-invitation="viewer@e2e.example"]').waitFor();
  const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'America/Los_Angeles' });
  const viewer = await viewerContext.newPage();
  await viewer.goto(link);
  await viewer.fill('input[name=password]', 'a viewer joins 42 today');
  await viewer.getByRole('button', { name: 'Join' }).click();
  await viewer.locator('[data-kpi=orders]').waitFor();
  await viewer.getByRole('link', { name: 'Customers' }).click();
  await viewer.waitForURL(/\/customers/);
  await viewer.getByRole('heading', { name: 'Customers', exact: true }).waitFor();
  await viewer.locator('main tbody tr').first().waitFor();
  const shownEmails = await viewer.locator('main table').first().innerText();
  assert.ok(shownEmails.includes('•••'), `emails are masked for a viewer: ${shownEmails.slice(0, 400)}`);
  assert.ok(!/@[a-z]+\.[a-z]+/i.test(shownEmails), 'no email address is shown to a viewer');
  await viewer.getByRole('link', { name: 'Team' }).click();
  await viewer.locator('[data-member-email="viewer@e2e.example"]').waitFor();
  assert.ok(await viewer.getByRole('button', { name: 'Create invitation' }).isDisabled(), 'a viewer cannot invite');
  await viewerContext.close();
  await page.reload();
  await page.locator('[data-audit="member.join"]').waitFor();
  await page.locator('[data-member-email="viewer@e2e.example"]').waitFor();
  await shot('team');

  step('invited into a second account with the same email, the owner joins with their password and switches');
  const second = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant_name: 'Second Shop', email: 'second@e2e.example', password: 'another long password 5' }),
  }).then((r) => r.json());
  const invited = await fetch(`${base}/api/members/invitations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${second.token}` },
    body: JSON.stringify({ email: 'owner@e2e.example', role: 'analyst' }),
  }).then((r) => r.json());
  await page.goto(invited.link);
  await page.fill('input[name=password]', 'a long enough password');
  await page.getByRole('button', { name: 'Join' }).click();
  const switcher = page.getByRole('combobox', { name: 'Account' });
  await switcher.waitFor();
  assert.equal(await switcher.locator('option:checked').innerText(), 'Second Shop (analyst)');
  assert.deepEqual(await switcher.locator('option').allInnerTexts(), ['E2E Goods (owner)', 'Second Shop (analyst)']);
  await switcher.selectOption({ label: 'E2E Goods (owner)' });
  await page.locator('[data-kpi=orders]').waitFor();
  await page.waitForFunction(() => document.querySelector('select[aria-label=Account] option:checked')?.textContent === 'E2E Goods (owner)');

  step('the owner sees their sign-ins and takes all the data away');
  await page.getByRole('link', { name: 'Account' }).click();
  await page.locator('[data-sign-in=current]').waitFor();
  const [exported] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download all data' }).click()]);
  assert.match(exported.suggestedFilename(), /^xeno-export-\d{4}-\d{2}-\d{2}\.zip$/);
  const zipped = readFileSync(await exported.path());
  assert.equal(zipped.subarray(0, 2).toString(), 'PK', 'a ZIP file');
  assert.ok(await page.getByRole('button', { name: 'Delete the account' }).isDisabled(), 'deleting waits for the name');
  await shot('account');

  step('an API key, created once, reads the API until it is revoked');
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.fill('input[name=key_name]', 'Looker');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = await page.locator('[data-secret]').innerText();
  assert.match(secret, /^xeno_/);
  const withKey = (p) => fetch(`${base}${p}`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal((await withKey('/api/orders?limit=5')).status, 200);
  assert.equal((await fetch(`${base}/api/sync/${listed.id}`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } })).status, 403);
  await page.locator('[data-key=Looker]').getByRole('button', { name: 'Revoke' }).click();
  await page.locator('[data-key=Looker]').getByText(/^revoked/).waitFor();
  assert.equal((await withKey('/api/orders?limit=5')).status, 401);
  await shot('keys');

  step('no page has a serious accessibility violation (axe-core)');
  const pages = [
    ['/', '[data-kpi=orders]'],
    ['/customers', 'tbody tr'],
    ['/orders', 'tbody tr'],
    ['/products', 'tbody tr'],
    ['/cohorts', 'table.heatmap'],
    ['/segments', '[data-segment]'],
    ['/checkouts', '.funnel, .empty'],
    ['/stores', '[data-store]'],
    ['/keys', 'h1'],
    ['/team', '[data-member-email]'],
    ['/account', '[data-sign-in]'],
    ['/definitions', 'h1'],
    [segmentMembers.pathname + segmentMembers.search, '[data-member]'],
    ...(predictedPage ? [predictedPage] : []),
  ];
  const violations = [];
  for (const [to, ready] of pages) {
    await page.goto(`${base}${to}`);
    await page.locator(ready).first().waitFor();
    // Evaluated by the browser's debugger protocol: the page's CSP (no inline scripts) stays on.
    await page.evaluate(axeSource);
    const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations);
    for (const v of found.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
      violations.push(`${to}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
    }
  }
  assert.deepEqual(violations, [], violations.join('\n'));

  step('at phone width no page scrolls sideways');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [to, ready] of pages) {
    await page.goto(`${base}${to}`);
    await page.locator(ready).first().waitFor();
    const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scrollWidth <= width, `${to} scrolls sideways at 390 px: ${scrollWidth} > ${width}`);
    await shot(`phone${to === '/' ? '-overview' : to.split('?')[0].replace(/[^a-z0-9]+/gi, '-')}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  assert.deepEqual(consoleErrors, [], 'no console errors');

  step('an API failure shows a clear message');
  await page.route('**/api/metrics/dashboard**', (route) =>
    route.fulfill({
      status: 500,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'about:blank', title: 'Internal Server Error', status: 500, code: 'internal', detail: 'The figures could not be computed.' }),
    }),
  );
  await page.goto(`${base}/`);
  await page.getByRole('alert').getByText('The figures could not be computed.').waitFor({ timeout: 20_000 });
  await shot('overview-error');

  step('signing out ends the session on the server');
  await page.unrouteAll();
  const ended = await page.evaluate(() => localStorage.getItem('xeno.token'));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const after = await fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${ended}` } });
  assert.equal(after.status, 401, 'the signed-out token is refused');
  step('passed');
} catch (error) {
  failed = true;
  console.error('e2e failed:', error);
} finally {
  await browser?.close();
  if (demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGTERM');
    await exited;
  }
  try {
    psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } catch {
    // Left for the next run's clean-up.
  }
}
process.exit(failed ? 1 : 0);
