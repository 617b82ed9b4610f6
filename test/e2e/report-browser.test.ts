import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Investigation } from '../../src/core/investigation.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { renderFlamegraph } from '../../src/flamegraph/svg.ts';
import { assertBrowser, browserSuiteName, launchChromium, serveStatic, skipBrowser, type StaticServer } from '../helpers/browser.ts';

/** Screenshots for a human to look at; test/.tmp/ is git-ignored. */
const TMP = fileURLToPath(new URL('../.tmp/', import.meta.url));
const FOLDED = readFileSync(new URL('../fixtures/report/writer.folded', import.meta.url), 'utf8');

const ID = 'inv_01j9z3k4m5n6p7q8r9s0t1v2w8';
const BASE = `/v1/investigations/${ID}`;
const POD_DIR = '/var/lib/kubelet/pods/3f1c2e4a-9b7d-4c1e-8f2a-6d5e4c3b2a19/volumes/kubernetes.io~empty-dir/segment-cache';
const LONG_COMMAND = `findmnt -N 4242 --list --output TARGET,SOURCE,FSTYPE,PROPAGATION | awk '{print $1}' | sort | uniq -c | sort -rn | head -20 && df -h ${POD_DIR}`;
const FLAMEGRAPH = 'cpu/node-17.eu-west-1.compute.internal/flamegraph.svg';
const NODE = 'node-17.eu-west-1.compute.internal';

const stored = (name: string, size: number, contentType = 'application/json') => ({
  name,
  key: `investigations/${ID}/${name}`,
  contentType,
  size,
  url: `${BASE}/artifacts/${name}`,
});

/** What a real enospc run on a busy node records: long paths, a long command, every severity, notes, a branch not taken, a profile. */
const inv = Investigation.parse({
  id: ID,
  status: 'succeeded',
  playbook: 'enospc',
  symptom: 'log-writer in shop/cart-7d9f keeps failing with "No space left on device" since the 14:00 deploy',
  target: { pod: 'shop/cart-7d9f8b6c5d-x2x9q', cgroup: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3f1c2e4a_9b7d_4c1e_8f2a_6d5e4c3b2a19.slice' },
  params: { duration: 10_000 },
  createdAt: '2025-03-04T14:02:10.000Z',
  startedAt: '2025-03-04T14:02:10.400Z',
  finishedAt: '2025-03-04T14:02:23.100Z',
  requestedBy: 'slack:U2CERLKJA',
  steps: [
    {
      id: 'errors',
      title: 'Syscalls failing with ENOSPC',
      tool: 'syscount',
      node: NODE,
      status: 'succeeded',
      startedAt: '2025-03-04T14:02:10.600Z',
      finishedAt: '2025-03-04T14:02:20.900Z',
      artifacts: [`errors/${NODE}/result.json`, `errors/${NODE}/raw.json`],
    },
    {
      id: 'filesystems',
      title: 'Filesystems of the failing files',
      tool: 'df',
      node: NODE,
      status: 'succeeded',
      startedAt: '2025-03-04T14:02:21.000Z',
      finishedAt: '2025-03-04T14:02:21.300Z',
      artifacts: [`filesystems/${NODE}/result.json`],
    },
    { id: 'mounts', title: 'Mounts per mount namespace', tool: 'mount-namespaces', node: null, status: 'skipped', skip: 'not-needed', reason: 'not needed: no mount(2) failed', artifacts: [] },
    {
      id: 'watches',
      title: 'inotify watches per user',
      tool: 'inotify-watches',
      node: null,
      status: 'skipped',
      skip: 'not-needed',
      reason: 'not needed: no inotify_add_watch(2) failed',
      artifacts: [],
    },
    {
      id: 'write-path',
      title: 'Kernel path of the failing write',
      tool: 'funcgraph',
      node: NODE,
      status: 'skipped',
      skip: 'unsupported',
      reason: 'the kernel has no function_graph tracer (CONFIG_FUNCTION_GRAPH_TRACER is off)',
      artifacts: [],
    },
    {
      id: 'cpu',
      title: 'On-CPU stacks of the writer',
      tool: 'profile',
      node: NODE,
      status: 'succeeded',
      startedAt: '2025-03-04T14:02:10.700Z',
      finishedAt: '2025-03-04T14:02:20.800Z',
      result: {
        samples: 912,
        hz: 99,
        unknownSamples: 12,
        topFunctions: [
          { name: 'shmem_get_folio_gfp_[k]', self: 0.452, total: 0.452 },
          { name: 'LZ4_compress_fast', self: 0.294, total: 0.294 },
          { name: 'copy_page_from_iter_atomic_[k]', self: 0.146, total: 0.146 },
          { name: 'main', self: 0, total: 0.987 },
        ],
        artifacts: [`cpu/${NODE}/stacks.folded`],
      },
      artifacts: [`cpu/${NODE}/stacks.folded`, FLAMEGRAPH],
    },
  ],
  summary: {
    // Out of order on purpose: the page must sort them.
    headline: `write(2) to ${POD_DIR}/0000000000001234.log fails: ${POD_DIR} (tmpfs) is full, 512.0 MiB of 512.0 MiB used`,
    findings: [
      {
        severity: 'info',
        title: 'log-writer spends 45% of its CPU time allocating tmpfs pages',
        detail: 'shmem_get_folio_gfp: 45.2% self of 912 samples; the writer retries the failing write in a loop.',
        evidence: [`cpu/${NODE}/stacks.folded`],
      },
      {
        severity: 'critical',
        title: `${POD_DIR} (tmpfs) is full: 512.0 MiB of 512.0 MiB used`,
        detail: `write(2) failed with ENOSPC 4,812 times in 10s, all in log-writer (pid 4242, pod shop/cart-7d9f8b6c5d-x2x9q) on fd 7 → ${POD_DIR}/0000000000001234.log.`,
        evidence: [`errors/${NODE}/result.json`, `filesystems/${NODE}/result.json`],
        next: {
          commands: [LONG_COMMAND, `du -xsh ${POD_DIR}/* | sort -h | tail`],
          remedy: 'Raise the emptyDir sizeLimit (or the tmpfs size=) for this pod, or make log-writer rotate and delete old segments; deleted files that are still open keep their space until closed.',
        },
      },
      {
        severity: 'warning',
        title: 'Deleted segments still open: 96.0 MiB held by log-writer',
        detail: `3 files under ${POD_DIR} were unlinked but are still open (fd 9, 11, 12); their space returns only when log-writer closes them.`,
        evidence: [`filesystems/${NODE}/open-deleted.json`],
      },
    ],
    notes: ['write-path on node-17.eu-west-1.compute.internal could not run: the kernel has no function_graph tracer (CONFIG_FUNCTION_GRAPH_TRACER is off)'],
  },
  artifacts: [
    stored(`errors/${NODE}/result.json`, 3_172),
    stored(`errors/${NODE}/raw.json`, 1_284_511),
    stored(`filesystems/${NODE}/result.json`, 912),
    stored(`cpu/${NODE}/stacks.folded`, 5_630, 'text/plain'),
    stored(FLAMEGRAPH, 48_211, 'image/svg+xml'),
    stored('summary.json', 14_870),
    stored('report.md', 4_402, 'text/markdown; charset=utf-8'),
  ],
});

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 375, height: 812 },
] as const;

describe.skipIf(skipBrowser)(browserSuiteName('report.html in headless chromium'), () => {
  const svg = renderFlamegraph(FOLDED, { title: 'log-writer on-CPU' });
  const report = renderReportHtml(inv, new Map([[FLAMEGRAPH, svg]]));
  const resultJson = JSON.stringify({ rows: [{ syscall: 'write', errno: 'ENOSPC', count: 4812 }] });

  let browser: Browser | undefined;
  let server: StaticServer | undefined;

  beforeAll(async () => {
    assertBrowser();
    mkdirSync(TMP, { recursive: true });
    writeFileSync(`${TMP}report-browser.html`, report);
    // Where the API serves them: the report at …/report, artifacts at …/artifacts/<name>.
    server = await serveStatic({
      [`${BASE}/report`]: { contentType: 'text/html; charset=utf-8', body: report },
      [`${BASE}/artifacts/errors/${NODE}/result.json`]: { contentType: 'application/json', body: resultJson },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.close();
    }
  });

  async function open(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser!.newContext({ viewport });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) errors.push(`console: ${msg.text()}`);
    });
    const res = await page.goto(`${server!.origin}${BASE}/report`);
    expect(res?.status()).toBe(200);
    return { context, page, errors };
  }

  for (const vp of VIEWPORTS) {
    it(`reads at ${vp.width}x${vp.height} with no sideways scrolling, the answer first, cards in severity order`, async () => {
      const { context, page, errors } = await open(vp);
      try {
        // The flamegraph frame has drawn (its own script ran) before the screenshot.
        const fg = page.frameLocator(`iframe[title="${FLAMEGRAPH}"]`);
        await expect.poll(() => fg.locator('#frames > g').count()).toBeGreaterThan(10);

        const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
        expect(widths.inner).toBe(vp.width);
        expect(widths.scroll).toBeLessThanOrEqual(widths.inner);

        // The headline is on the first screen at both widths; the first card too on a desktop.
        const headline = page.locator('.headline p').first();
        await expect.poll(() => headline.isVisible()).toBe(true);
        expect(await headline.textContent()).toBe(inv.summary!.headline);
        const headBox = (await headline.boundingBox())!;
        expect(headBox.y + headBox.height).toBeLessThanOrEqual(vp.height);
        const firstCard = page.locator('article.card').first();
        expect(await firstCard.isVisible()).toBe(true);
        if (vp.width >= 1280) expect((await firstCard.boundingBox())!.y).toBeLessThan(vp.height);

        expect(await page.locator('article.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-severity')))).toEqual(['critical', 'warning', 'info']);
        expect(await firstCard.locator('h3').textContent()).toBe(inv.summary!.findings[1]!.title);

        // No box sticks out of the page; the long command scrolls inside its own block instead.
        const outside = await page.evaluate(() => {
          // Inside a box that scrolls or clips, content may be wider than the page: the box is what must fit.
          const clipped = (el: Element) => {
            for (let p = el.parentElement; p; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return true;
            return false;
          };
          return [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !clipped(el))
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        });
        expect(outside).toEqual([]);
        const cmd = await page.locator('pre.cmd').first().evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, overflow: getComputedStyle(el).overflowX }));
        expect(cmd.overflow).toBe('auto');
        expect(cmd.scroll).toBeGreaterThan(cmd.client);

        // The status says how it went, in colour.
        const badge = await page.locator('.badge').evaluate((el) => ({ text: el.textContent, color: getComputedStyle(el).color }));
        expect(badge).toEqual({ text: 'succeeded', color: 'rgb(26, 127, 55)' });

        // The whole page at this width. Not `fullPage`: chromium leaves the sandboxed frame blank in those.
        await page.setViewportSize({ width: vp.width, height: await page.evaluate(() => document.documentElement.scrollHeight) });
        await expect.poll(() => fg.locator('#frames > g').first().isVisible()).toBe(true);
        await page.screenshot({ path: `${TMP}report-${vp.width}.png` });
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }

  it('links evidence to the artifacts where the API serves them, and shows spooled evidence as code', async () => {
    const { context, page, errors } = await open(VIEWPORTS[0]);
    try {
      const anchors = await page.locator('.evidence a').evaluateAll((as) => as.map((a) => ({ text: a.textContent, href: (a as HTMLAnchorElement).href })));
      expect(anchors).toEqual(
        [`errors/${NODE}/result.json`, `filesystems/${NODE}/result.json`, `cpu/${NODE}/stacks.folded`].map((name) => ({
          text: name,
          href: `${server!.origin}${BASE}/artifacts/${name}`,
        })),
      );
      expect(await page.locator('.evidence code').allTextContents()).toEqual([`filesystems/${NODE}/open-deleted.json`]);
      await page.locator('.evidence a').first().click();
      await expect.poll(() => page.url()).toBe(`${server!.origin}${BASE}/artifacts/errors/${NODE}/result.json`);
      expect(await page.locator('body').textContent()).toBe(resultJson);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows a step that was not needed only in the steps table, with its reason in words', async () => {
    const { context, page } = await open(VIEWPORTS[1]);
    try {
      const seen = await page.evaluate(() => {
        const body = document.body.cloneNode(true) as HTMLElement;
        const table = body.querySelector('table.steps')!;
        const inTable = table.textContent ?? '';
        table.remove();
        return { inTable, elsewhere: body.textContent ?? '' };
      });
      expect(seen.inTable).toContain('not needed: no inotify_add_watch(2) failed');
      expect(seen.inTable).toContain('not needed: no mount(2) failed');
      expect(seen.elsewhere).not.toMatch(/not needed|inotify|Mounts per mount namespace/);
      // On a phone each step is a block with labelled cells, its duration among them.
      const cpu = page.locator('table.steps tr[data-step="cpu"]');
      expect(await cpu.locator('td[data-label="duration"]').textContent()).toBe('10.1 s');
      expect(await cpu.evaluate((tr) => getComputedStyle(tr).display)).toBe('block');
    } finally {
      await context.close();
    }
  });

  it('copies a next step\'s commands with its button', async () => {
    const { context, page, errors } = await open(VIEWPORTS[0]);
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server!.origin });
      const button = page.locator('.card.sev-critical .next button.copy');
      await button.click();
      await expect.poll(() => button.textContent()).toBe('Copied');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${LONG_COMMAND}\ndu -xsh ${POD_DIR}/* | sort -h | tail`);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
