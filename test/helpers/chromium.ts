/**
 * Debian's headless Chromium for the page tests (the inspector, the report): launched through
 * puppeteer-core (`CHROMIUM_PATH`, else `/usr/bin/chromium`), and killed with the suite should
 * the test process die before its `afterAll` closes it.
 */
import puppeteer, { type Browser } from 'puppeteer-core';
import { diesWithSuite } from './suite-processes.js';

/** Where the tests find Chromium. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium that dies with the suite. */
export async function launchChromium(): Promise<Browser> {
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu'] });
  diesWithSuite(browser.process()!);
  return browser;
}
