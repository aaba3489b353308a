// screenshots.mjs CONFIG.json - run by tools/screenshots.sh: Debian's headless Chromium
// (playwright-core from tests/interop/node_modules, no browser download) visits the daemon's
// pages as a person would and saves error.png, login.png, consent.png, device.png and
// device-confirm.png in CONFIG.out_dir. CONFIG: chromium, url, out_dir, username, password,
// user_code (a pending code of the device client).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(new URL('../tests/interop/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const authorize = cfg.url + '/authorize?' + new URLSearchParams({
	response_type: 'code', client_id: 'webapp', redirect_uri: 'http://127.0.0.1:9/callback',
	scope: 'openid profile email mqtt:sub:home/alice/# mqtt:pub:home/alice/cmd',
	state: 'af0ifjsldkj', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
	code_challenge_method: 'S256',
});
// an authorization request Tessera must not redirect: an unknown client
const unknown = cfg.url + '/authorize?response_type=code&client_id=no-such-app' +
	'&redirect_uri=https%3A%2F%2Fevil.example%2F';

const browser = await chromium.launch({
	executablePath: cfg.chromium,
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
	// a phone-like width keeps the pictures small and shows the layout most people get
	const context = await browser.newContext({
		viewport: { width: 480, height: 320 }, deviceScaleFactor: 1, locale: 'en-US',
		colorScheme: 'light',
	});
	const page = await context.newPage();
	page.setDefaultTimeout(20000);
	const shot = (name) => page.screenshot({ path: join(cfg.out_dir, name + '.png'), fullPage: true });
	const load = async (action) => {
		const loaded = page.waitForEvent('load');
		await action();
		await loaded;
	};

	await page.goto(unknown, { waitUntil: 'load' });
	await shot('error');

	await page.goto(authorize, { waitUntil: 'load' });
	await page.getByLabel('Username', { exact: false }).fill(cfg.username);
	await shot('login');
	await page.getByLabel('Password', { exact: false }).fill(cfg.password);
	await load(() => page.locator('form[action="/login"] [type="submit"]').click());
	if (!(await page.locator('form[action="/consent"]').count()))
		throw new Error('no consent page after signing in: ' + page.url());
	await shot('consent');

	await page.goto(cfg.url + '/device', { waitUntil: 'load' });
	await page.locator('#user_code').fill(cfg.user_code.toLowerCase());
	await shot('device');
	await load(() => page.locator('form[action="/device"] [type="submit"]').click());
	if (!(await page.getByRole('button', { name: 'Allow' }).count()))
		throw new Error('no confirmation page for the user code: ' + page.url());
	await shot('device-confirm');
} catch (e) {
	console.error('screenshots: ' + (e && e.stack ? e.stack : e));
	failed = true;
} finally {
	await browser.close();
}
process.exit(failed ? 1 : 0);
