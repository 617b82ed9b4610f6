import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { renderFlamegraph } from '../../src/flamegraph/svg.ts';
import {
  assertBrowser,
  browserSuiteName,
  launchChromium,
  serveStatic,
  skipBrowser,
  type StaticServer,
} from '../helpers/browser.ts';

/** Screenshots for a human to look at; test/.tmp/ is git-ignored. */
const TMP = fileURLToPath(new URL('../.tmp/', import.meta.url));

// 100 samples over a 1200 px image with 10 px padding: 11.8 px per sample.
const FOLDED = ['app;main;crunch_alpha 60', 'app;main;crunch_beta 30', 'app;other 10'].join('\n');
const WIDTH = 1200;
const XPAD = 10;
const FULL = WIDTH - 2 * XPAD;
const ARTIFACT = 'cpu/node-17/flamegraph.svg';

type Scope = Page | FrameLocator;

/** The `<g>` of the frame called `name` (its title is "name (N samples, P%)"). */
const frame = (scope: Scope, name: string): Locator =>
  scope.locator('#frames > g').filter({ has: scope.locator('title', { hasText: new RegExp(`^${name} \\(`) }) });

interface Geometry {
  x: number;
  y: number;
  width: number;
  fill: string;
  classes: string[];
  label: string;
}

async function geometry(g: Locator): Promise<Geometry> {
  return g.evaluate((el) => {
    const rect = el.querySelector('rect')!;
    return {
      x: Number(rect.getAttribute('x')),
      y: Number(rect.getAttribute('y')),
      width: Number(rect.getAttribute('width')),
      fill: rect.getAttribute('fill') ?? '',
      classes: [...el.classList],
      label: el.querySelector('text')?.textContent ?? '',
    };
  });
}

/** What the script writes into the URL query (x, y of the zoomed frame; s, ic of the search). */
async function urlState(page: Page): Promise<Record<string, string>> {
  const href = await page.evaluate(() => window.location.href);
  return Object.fromEntries(new URL(href).searchParams);
}

/**
 * Opens the search prompt — by clicking "Search" or with `how` (e.g. a key press) — and answers it with `term`.
 * Returns the prompt's default value (the current term, if any).
 */
async function searchFor(page: Page, term: string, how?: () => Promise<void>): Promise<string> {
  const seen: { type: string; message: string; defaultValue: string }[] = [];
  page.once('dialog', (dialog) => {
    seen.push({ type: dialog.type(), message: dialog.message(), defaultValue: dialog.defaultValue() });
    void dialog.accept(term);
  });
  await (how ?? (() => page.locator('#search').click()))();
  await expect.poll(() => seen.length).toBe(1);
  expect(seen[0]!.type).toBe('prompt');
  expect(seen[0]!.message).toMatch(/^Enter a search term/);
  return seen[0]!.defaultValue;
}

describe.skipIf(skipBrowser)(browserSuiteName('interactive flamegraph in headless chromium'), () => {
  const svg = renderFlamegraph(FOLDED, { width: WIDTH, title: 'browser test' });
  const inv: Investigation = {
    id: 'inv-browser',
    status: 'succeeded',
    playbook: 'cpu-profile',
    params: {},
    createdAt: '2024-01-01T00:00:00.000Z',
    requestedBy: 'vitest',
    steps: [],
    artifacts: [],
  };
  const report = renderReportHtml(inv, new Map([[ARTIFACT, svg]]));

  let browser: Browser | undefined;
  let server: StaticServer | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    assertBrowser();
    mkdirSync(TMP, { recursive: true });
    server = await serveStatic({
      '/flamegraph.svg': { contentType: 'image/svg+xml', body: svg },
      '/report.html': { contentType: 'text/html; charset=utf-8', body: report },
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

  beforeEach(async () => {
    pageErrors.length = 0;
    context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      // The browser asks for /favicon.ico by itself; the test server has none.
      if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) {
        pageErrors.push(`console: ${msg.text()} (${msg.location().url})`);
      }
    });
  });

  afterEach(async () => {
    await context?.close();
    // The script must never throw, whatever the test did.
    expect(pageErrors).toEqual([]);
  });

  async function openSvg(query = ''): Promise<void> {
    const res = await page.goto(`${server!.origin}/flamegraph.svg${query}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('image/svg+xml');
    // Served as image/svg+xml, the page is an SVG document (not HTML with an inline <svg>).
    expect(await page.evaluate(() => document.documentElement.localName)).toBe('svg');
    await expect.poll(() => page.locator('#frames > g').count()).toBe(6);
  }

  it('zooms into a clicked frame, keeps the zoom in the URL across a reload, and resets it', async () => {
    await openSvg();
    const alpha = frame(page, 'crunch_alpha');
    const before = {
      alpha: await geometry(alpha),
      beta: await geometry(frame(page, 'crunch_beta')),
      main: await geometry(frame(page, 'main')),
      other: await geometry(frame(page, 'other')),
    };
    expect(before.alpha).toMatchObject({ x: XPAD, width: 0.6 * FULL, label: 'crunch_alpha' });
    expect(before.main.width).toBeCloseTo(0.9 * FULL, 2);
    expect(before.other.width).toBeCloseTo(0.1 * FULL, 2);
    await expect.poll(() => page.locator('#unzoom').isVisible()).toBe(false);

    // Hovering shows the frame's tooltip in the details line.
    await alpha.hover();
    await expect.poll(() => page.locator('#details').textContent()).toBe('Function: crunch_alpha (60 samples, 60.00%)');

    await alpha.click();
    const checkZoomed = async () => {
      const a = await geometry(alpha);
      expect(a.x).toBeCloseTo(XPAD, 1);
      expect(a.width).toBeGreaterThan(FULL - 1);
      expect(a.classes).not.toContain('parent');
      await expect.poll(() => alpha.isVisible()).toBe(true);
      const box = (await alpha.locator('rect').boundingBox())!;
      expect(box.width).toBeGreaterThan(FULL - 2);
      // Ancestors: still visible, stretched to the full width and dimmed (class "parent", opacity 0.5).
      for (const name of ['all', 'app', 'main']) {
        const g = frame(page, name);
        await expect.poll(() => g.isVisible()).toBe(true);
        const geo = await geometry(g);
        expect(geo.classes, name).toContain('parent');
        expect(geo.width, name).toBeCloseTo(FULL, 1);
        expect(await g.evaluate((el) => getComputedStyle(el).opacity), name).toBe('0.5');
      }
      // Frames outside the zoomed one: hidden.
      for (const name of ['crunch_beta', 'other']) {
        const g = frame(page, name);
        await expect.poll(() => g.isVisible()).toBe(false);
        expect((await geometry(g)).classes, name).toContain('hide');
      }
      await expect.poll(() => page.locator('#unzoom').isVisible()).toBe(true);
    };
    await checkZoomed();
    expect(await urlState(page)).toEqual({ x: String(before.alpha.x), y: String(before.alpha.y) });

    await page.screenshot({ path: `${TMP}flamegraph-zoomed.png` });

    // The state lives in the URL: a reload (or sharing the link) comes back zoomed.
    await page.reload();
    await expect.poll(() => page.locator('#frames > g').count()).toBe(6);
    await checkZoomed();
    expect(await urlState(page)).toEqual({ x: String(before.alpha.x), y: String(before.alpha.y) });

    // "Reset Zoom" puts every frame back where it was.
    await page.locator('#unzoom').click();
    await expect.poll(() => page.locator('#unzoom').isVisible()).toBe(false);
    expect(await geometry(alpha)).toEqual(before.alpha);
    expect(await geometry(frame(page, 'crunch_beta'))).toEqual(before.beta);
    expect(await geometry(frame(page, 'main'))).toEqual(before.main);
    expect(await geometry(frame(page, 'other'))).toEqual(before.other);
    expect(await urlState(page)).toEqual({});
    await page.screenshot({ path: `${TMP}flamegraph-full.png` });

    // Clicking a non-leaf frame zooms to it with its children scaled; clicking the root (full width) unzooms.
    await frame(page, 'main').click();
    const beta = await geometry(frame(page, 'crunch_beta'));
    expect(beta.x).toBeCloseTo(XPAD + (2 / 3) * FULL, 1);
    expect(beta.width).toBeCloseTo(FULL / 3, 1);
    await expect.poll(() => frame(page, 'other').isVisible()).toBe(false);
    await frame(page, 'all').click();
    await expect.poll(() => frame(page, 'other').isVisible()).toBe(true);
    expect(await urlState(page)).toEqual({});

    // Escape undoes a zoom too.
    await alpha.click();
    await expect.poll(() => frame(page, 'other').isVisible()).toBe(false);
    await page.keyboard.press('Escape');
    await expect.poll(() => frame(page, 'other').isVisible()).toBe(true);
    expect(await geometry(alpha)).toEqual(before.alpha);
  });

  it('highlights search matches, shows the matched share, and toggles case sensitivity', async () => {
    await openSvg();
    const matched = page.locator('#matched');
    const alpha = frame(page, 'crunch_alpha');
    const beta = frame(page, 'crunch_beta');
    const main = frame(page, 'main');
    const original = {
      alpha: (await geometry(alpha)).fill,
      beta: (await geometry(beta)).fill,
      main: (await geometry(main)).fill,
    };

    await searchFor(page, 'crunch_');
    // crunch_alpha (60) + crunch_beta (30) of 100 samples.
    await expect.poll(() => matched.textContent()).toBe('Matched: 90.0%');
    await expect.poll(() => page.locator('#search').textContent()).toBe('Reset Search');
    expect((await geometry(alpha)).fill).toBe('rgb(230,0,230)');
    expect((await geometry(beta)).fill).toBe('rgb(230,0,230)');
    expect((await geometry(main)).fill).toBe(original.main);
    expect(await urlState(page)).toEqual({ s: 'crunch_' });
    await page.screenshot({ path: `${TMP}flamegraph-search.png` });

    // The share is of the current view: zoomed into crunch_alpha, it is all matched.
    await alpha.click();
    await expect.poll(() => matched.textContent()).toBe('Matched: 100%');
    await page.locator('#unzoom').click();
    await expect.poll(() => matched.textContent()).toBe('Matched: 90.0%');

    // "Reset Search" (the same button) clears the highlight.
    await page.locator('#search').click();
    await expect.poll(() => matched.textContent()).toBe(' ');
    await expect.poll(() => page.locator('#search').textContent()).toBe('Search');
    expect((await geometry(alpha)).fill).toBe(original.alpha);
    expect((await geometry(beta)).fill).toBe(original.beta);
    expect(await urlState(page)).toEqual({});

    // Case-sensitive by default: an upper-case pattern matches nothing until "ic" is toggled.
    await searchFor(page, 'CRUNCH_ALPHA');
    await expect.poll(() => matched.textContent()).toBe('Matched: 0.0%');
    expect((await geometry(alpha)).fill).toBe(original.alpha);
    await page.locator('#ignorecase').click();
    await expect.poll(() => matched.textContent()).toBe('Matched: 60.0%');
    expect((await geometry(alpha)).fill).toBe('rgb(230,0,230)');
    expect((await geometry(beta)).fill).toBe(original.beta);
    expect(await urlState(page)).toEqual({ s: 'CRUNCH_ALPHA', ic: '1' });
    // Ctrl-I toggles it back.
    await page.keyboard.press('Control+i');
    await expect.poll(() => matched.textContent()).toBe('Matched: 0.0%');
    expect(await urlState(page)).toEqual({ s: 'CRUNCH_ALPHA' });

    // Ctrl-F opens the prompt again, pre-filled with the current term; an invalid regexp is reported, not thrown.
    expect(await searchFor(page, 'crunch_(', () => page.keyboard.press('Control+f'))).toBe('CRUNCH_ALPHA');
    await expect.poll(() => matched.textContent()).toBe('Invalid regexp: crunch_(');
  });

  it('restores zoom and a case-insensitive search from the URL on load', async () => {
    await openSvg();
    const alpha = await geometry(frame(page, 'crunch_alpha'));
    await openSvg(`?x=${alpha.x}&y=${alpha.y}&s=CRUNCH_&ic=1`);
    expect((await geometry(frame(page, 'crunch_alpha'))).width).toBeGreaterThan(FULL - 1);
    await expect.poll(() => frame(page, 'other').isVisible()).toBe(false);
    await expect.poll(() => page.locator('#ignorecase').getAttribute('class')).toBe('show');
    // Zoomed into crunch_alpha, the matches (crunch_alpha; crunch_beta is out of view) cover the whole view.
    await expect.poll(() => page.locator('#matched').textContent()).toBe('Matched: 100%');
  });

  it('works inside the report page: the sandboxed srcdoc iframe shows a clickable, zoomable flamegraph', async () => {
    const res = await page.goto(`${server!.origin}/report.html`);
    expect(res?.status()).toBe(200);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Investigation inv-browser: cpu-profile');
    const iframe = page.locator(`iframe[title="${ARTIFACT}"]`);
    await expect.poll(() => iframe.isVisible()).toBe(true);
    const fg = page.frameLocator(`iframe[title="${ARTIFACT}"]`);
    await expect.poll(() => fg.locator('#frames > g').count()).toBe(6);
    await expect.poll(() => fg.locator('#title').textContent()).toBe('browser test');

    const alpha = frame(fg, 'crunch_alpha');
    const before = await geometry(alpha);
    expect(before.width).toBeCloseTo(0.6 * FULL, 2);
    await alpha.hover();
    await expect.poll(() => fg.locator('#details').textContent()).toBe('Function: crunch_alpha (60 samples, 60.00%)');

    await alpha.click();
    const zoomed = await geometry(alpha);
    expect(zoomed.x).toBeCloseTo(XPAD, 1);
    expect(zoomed.width).toBeGreaterThan(FULL - 1);
    await expect.poll(() => frame(fg, 'main').getAttribute('class')).toBe('parent');
    await expect.poll(() => frame(fg, 'main').isVisible()).toBe(true);
    await expect.poll(() => frame(fg, 'other').isVisible()).toBe(false);
    await expect.poll(() => frame(fg, 'crunch_beta').isVisible()).toBe(false);
    await expect.poll(() => fg.locator('#unzoom').isVisible()).toBe(true);
    // about:srcdoc in an opaque-origin sandbox: the zoom state still goes into the frame's own URL.
    expect(await alpha.evaluate(() => window.location.href)).toBe(`about:srcdoc?x=${before.x}&y=${before.y}`);
    // The embedding page itself did not navigate.
    expect(page.url()).toBe(`${server!.origin}/report.html`);
    await iframe.screenshot({ path: `${TMP}report-iframe-zoomed.png` });

    await fg.locator('#unzoom').click();
    expect(await geometry(alpha)).toEqual(before);
    await expect.poll(() => frame(fg, 'other').isVisible()).toBe(true);
  });

  // Search asks with window.prompt(), which a sandboxed iframe may only show with "allow-modals".
  it('searches inside the report page iframe', async () => {
    const asked: string[] = [];
    page.on('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept('crunch_');
    });
    try {
      await page.goto(`${server!.origin}/report.html`);
      const fg = page.frameLocator(`iframe[title="${ARTIFACT}"]`);
      await expect.poll(() => fg.locator('#frames > g').count()).toBe(6);
      await fg.locator('#search').click();
      await expect.poll(() => fg.locator('#matched').textContent(), { timeout: 2000 }).toBe('Matched: 90.0%');
      expect(asked).toHaveLength(1);
    } finally {
      // The blocked prompt is logged as a console error: expected here, not a script error.
      const blocked = pageErrors.filter((e) => e.includes("Ignored call to 'prompt()'"));
      pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !blocked.includes(e)));
    }
  });
});
