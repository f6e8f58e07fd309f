// The headless Debian Chromium the browser tests drive (/usr/bin/chromium, or $CHROMIUM),
// in a fresh profile each time: nothing cached, nothing synced, no background requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Returns { context, close }: a persistent browser context at 1400 x 900, and the function
// that closes it and removes its profile directory.
export async function launchChromium() {
  const profile = mkdtempSync(join(tmpdir(), 'hvaudit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
