import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchBrowser, repoRoot, serveStatic } from '@mltrace/test-helpers';
import { describe, expect, it } from 'vitest';

const PAGE = `<!doctype html>
<html>
  <head><title>mltrace smoke</title></head>
  <body><h1 id="greeting">Hello from the test harness</h1></body>
</html>`;

describe('Chromium', () => {
  it('renders a page served on 127.0.0.1 and saves a screenshot', async () => {
    const server = await serveStatic({ '/': PAGE });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const response = await page.goto(server.url);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('mltrace smoke');
      expect(await page.textContent('#greeting')).toBe('Hello from the test harness');

      const dir = join(repoRoot(), 'test-artifacts', 'smoke');
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'chromium.png');
      await page.screenshot({ path });
      const png = await readFile(path);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
