// browser_flow.mjs CONFIG.json - drives Debian's headless Chromium (playwright-core, no browser
// download) through Tessera's error, login and consent pages as a person would, and writes what
// it saw to CONFIG.out_dir/result.json for tests/interop/test_browser_flow.py to judge.
//
// CONFIG: chromium (path), error_url, authorize_url, redirect_uri, username, password,
// wrong_password, out_dir. The script asserts nothing about Tessera itself beyond what it needs to
// go on (a form to fill, a button to press); every check is made by the Python test on the report,
// so a failure shows all the facts. On a step it cannot do it records `error` with the step, the
// page's URL and text and a screenshot, and exits 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const STEP_MS = 20000;

const report = {
	requests: [],        // every request the browser made: url, method, type, navigation
	failed: [],          // requests that failed at the network level
	responses: [],       // every response: url, method, status, navigation, headers
	console: [],         // console messages of every type, with the page URL
	pageErrors: [],
	cspViolations: [],   // securitypolicyviolation events, reported from inside each page
	pages: {},           // per step: what the page showed
	screenshots: {},
	cookies: [],
	finalUrl: null,
	error: null,
};

let step = 'launch';
const pending = [];

function record(name, value) {
	report.pages[name] = value;
}

async function shot(page, name, opts = {}) {
	const path = join(cfg.out_dir, `${name}.png`);
	await page.screenshot({ path, fullPage: true, ...opts });
	report.screenshots[name] = path;
}

// What a person (and an auditor) would want to know about the page on screen.
async function describe(page, response) {
	const info = await page.evaluate(() => {
		const txt = (el) => (el ? el.innerText.trim() : null);
		const forms = [...document.forms].map((f) => ({
			action: f.getAttribute('action'),
			method: (f.getAttribute('method') || '').toLowerCase(),
			fields: [...f.elements].map((e) => ({
				tag: e.tagName.toLowerCase(),
				type: e.type || null,
				name: e.name || null,
				value: e.type === 'password' ? null : (e.value ?? null),
				id: e.id || null,
				autocomplete: e.getAttribute('autocomplete'),
				labels: e.labels ? [...e.labels].map((l) => l.innerText.trim()) : [],
				text: e.tagName === 'BUTTON' ? e.innerText.trim() : null,
			})),
		}));
		const body = getComputedStyle(document.body);
		const sheets = [...document.styleSheets].map((s) => {
			let rules = -1;
			try { rules = s.cssRules.length; } catch (e) { rules = -1; }
			return { href: s.href, rules };
		});
		return {
			url: location.href,
			title: document.title,
			lang: document.documentElement.lang,
			h1: txt(document.querySelector('h1')),
			text: document.body.innerText,
			alerts: [...document.querySelectorAll('[role="alert"]')].map((e) => e.innerText.trim()),
			listItems: [...document.querySelectorAll('li')].map((e) => e.innerText.trim()),
			viewport: document.querySelector('meta[name="viewport"]')?.getAttribute('content') ?? null,
			charset: document.characterSet,
			forms,
			links: [...document.querySelectorAll('a[href], area[href]')].map((a) => a.href),
			scripts: document.scripts.length,
			inlineStyles: document.querySelectorAll('[style]').length + document.querySelectorAll('style').length,
			stylesheets: sheets,
			bodyBackground: body.backgroundColor,
			bodyFont: body.fontFamily,
			textOverflow: document.documentElement.scrollWidth > window.innerWidth,
		};
	});
	if (response) {
		info.status = response.status();
		info.headers = await response.allHeaders();
	}
	return info;
}

// The main frame's latest document response (a redirect's target, not the 303 itself).
let lastDocument = null;

// Clicks and waits until the next document in the main frame has loaded; returns its response.
async function clickAndLoad(page, locator) {
	lastDocument = null;
	const loaded = page.waitForEvent('load', { timeout: STEP_MS });
	await locator.click({ timeout: STEP_MS });
	await loaded;
	return lastDocument;
}

async function phoneShot(page, name) {
	const desktop = page.viewportSize();
	await page.setViewportSize({ width: 375, height: 740 });
	await shot(page, name);
	await page.setViewportSize(desktop);
}

let browser;
let page;
try {
	browser = await chromium.launch({
		executablePath: cfg.chromium,
		headless: true,
		timeout: 60000,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	const context = await browser.newContext({
		viewport: { width: 1024, height: 720 },
		locale: 'en-US',
		colorScheme: 'light',
	});
	// bypassCSP stays false: the pages run under their own policy. The listener is injected by
	// the DevTools protocol, which the page's CSP does not govern, and reports out through a
	// binding so violations survive navigations.
	await context.exposeBinding('__tesseraCspViolation', (source, v) => {
		report.cspViolations.push({ ...v, page: source.frame.url() });
	});
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__tesseraCspViolation({
				directive: e.violatedDirective,
				blocked: e.blockedURI,
				source: e.sourceFile,
				line: e.lineNumber,
			});
		});
	});
	context.on('request', (r) => {
		report.requests.push({ url: r.url(), method: r.method(), type: r.resourceType(),
			navigation: r.isNavigationRequest() });
	});
	context.on('requestfailed', (r) => {
		report.failed.push({ url: r.url(), error: r.failure()?.errorText ?? null });
	});
	context.on('response', (r) => {
		const entry = { url: r.url(), method: r.request().method(), status: r.status(),
			navigation: r.request().isNavigationRequest(), headers: null };
		report.responses.push(entry);
		pending.push(r.allHeaders().then((h) => { entry.headers = h; }, () => {}));
	});

	page = await context.newPage();
	page.setDefaultTimeout(STEP_MS);
	page.on('console', (m) => report.console.push({ type: m.type(), text: m.text(), page: page.url() }));
	page.on('response', (r) => {
		const s = r.status();
		if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && (s < 300 || s > 399))
			lastDocument = r;
	});
	page.on('pageerror', (e) => report.pageErrors.push({ message: String(e), page: page.url() }));

	// 1. An authorization request the server must not redirect: its error page.
	step = 'error page';
	let resp = await page.goto(cfg.error_url, { waitUntil: 'load' });
	record('error', await describe(page, resp));
	await shot(page, 'error');

	// 2. The authorization URL the client library built: the login page.
	step = 'login page';
	resp = await page.goto(cfg.authorize_url, { waitUntil: 'load' });
	record('login', await describe(page, resp));
	await shot(page, 'login');
	await phoneShot(page, 'login-phone');

	// 3. A typo in the password first: the login page again, with an error message.
	step = 'wrong password';
	await page.getByLabel('Username', { exact: false }).fill(cfg.username);
	await page.getByLabel('Password', { exact: false }).fill(cfg.wrong_password);
	resp = await clickAndLoad(page, page.locator('form[action="/login"] [type="submit"]'));
	record('login_error', await describe(page, resp));
	await shot(page, 'login-error');

	// 4. The right password: the consent page.
	step = 'login';
	await page.getByLabel('Username', { exact: false }).fill(cfg.username);
	await page.getByLabel('Password', { exact: false }).fill(cfg.password);
	resp = await clickAndLoad(page, page.locator('form[action="/login"] [type="submit"]'));
	record('consent', await describe(page, resp));
	if (!(await page.locator('form[action="/consent"]').count()))
		throw new Error('after signing in there is no consent form (form action="/consent")');
	await shot(page, 'consent');
	await phoneShot(page, 'consent-phone');
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot(page, 'consent-dark');
	await page.emulateMedia({ colorScheme: 'light' });

	// 5. Allow: the browser lands on the client's redirect URI with the code.
	step = 'allow';
	const landed = page.waitForURL((u) => u.href.startsWith(cfg.redirect_uri), { waitUntil: 'load' });
	await page.getByRole('button', { name: 'Allow' }).click();
	await landed;
	report.finalUrl = page.url();
	report.cookies = (await context.cookies()).map((c) => ({ name: c.name, domain: c.domain,
		path: c.path, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite }));
} catch (e) {
	report.error = { step, message: String(e && e.stack ? e.stack : e) };
	if (page) {
		try {
			report.error.url = page.url();
			report.error.text = (await page.evaluate(() => document.body ? document.body.innerText : ''))
				.slice(0, 2000);
			await shot(page, 'failure');
		} catch (e2) {
			report.error.page = String(e2);
		}
	}
} finally {
	await Promise.all(pending);
	if (browser)
		await browser.close().catch(() => {});
	writeFileSync(join(cfg.out_dir, 'result.json'), JSON.stringify(report, null, 1));
}
process.exit(report.error ? 1 : 0);

