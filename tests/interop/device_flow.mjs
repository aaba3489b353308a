// device_flow.mjs CONFIG.json - the device authorization grant (RFC 8628) between two standard
// pieces of software: openid-client (npm) is the device, headless Chromium (Debian's, driven by
// playwright-core, no browser download) is the person. Writes what happened to
// CONFIG.out_dir/result.json for tests/interop/test_device_flow.py to judge.
//
// CONFIG: chromium (path), issuer, client_id, client_secret, username, password, out_dir,
// allow_scope, deny_scope, settle_pending (how many authorization_pending answers the device sees
// before the person decides, so that the polling is seen to run alongside).
//
// Two runs, each in one process with the poll running while the browser works:
//  allow: openid-client discovers the issuer, authenticates with client_secret_basic, starts a
//         device authorization and polls (pollDeviceAuthorizationGrant, started first); the
//         browser loads verification_uri_qr (screenshot, decoded by jsqr from the PNG), then
//         verification_uri_complete: login page, sign in, confirmation page, Allow, "Device
//         connected". The poll's tokens are recorded, then refreshed through the library.
//  deny:  client_secret_post this time; the browser opens verification_uri (no code), types the
//         user code in lower case without the dash, reaches the confirmation page and presses
//         Deny; the poll must reject (recorded as is).
// Every request the library sends goes through a recording fetch (time sent and answered,
// status, the error code of each answer), so the test can judge the polling intervals.
// The script asserts nothing about Tessera beyond what it needs to go on (a form to fill, a
// button to press); on a step it cannot do it records `error` (run, step, URL, page text,
// screenshot) and exits 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import jsqrModule from 'jsqr';
import pngjs from 'pngjs';

const jsQR = jsqrModule.default ?? jsqrModule;
const { PNG } = pngjs;
const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const STEP_MS = 20000;
const POLL_LIMIT_MS = 90000;    // a poll that has not settled by then is abandoned
const here = dirname(fileURLToPath(import.meta.url));

function versionOf(pkg) {
	try {
		return JSON.parse(readFileSync(join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
	} catch (e) {
		return null;
	}
}

const t0 = performance.now();
const ms = () => Math.round((performance.now() - t0) * 10) / 10;

const report = {
	versions: {
		node: process.version,
		'openid-client': versionOf('openid-client'),
		oauth4webapi: versionOf('oauth4webapi'),
		'playwright-core': versionOf('playwright-core'),
		jsqr: versionOf('jsqr'),
		pngjs: versionOf('pngjs'),
		chromium: null,
	},
	metadata: null,      // what the library discovered
	http: [],            // every request of the library: at, done, method, path, grant_type, status, error, run
	runs: {},
	screenshots: {},
	error: null,
};

let step = 'start';
let failedStep = null;   // the browser's step that failed (the poll is awaited after it)
let runName = null;

// ---------------------------------------------------------------- the device's side

// Which run a device code belongs to (so that the recorded polls can be told apart).
const runOfDeviceCode = new Map();
// Waiters for authorization_pending answers: run -> [{count, resolve}]
const pendingWaiters = new Map();

function noteAnswer(run, entry) {
	if (entry.error !== 'authorization_pending')
		return;
	const n = report.http.filter((h) => h.run === run && h.error === 'authorization_pending').length;
	for (const w of pendingWaiters.get(run) || [])
		if (n >= w.count)
			w.resolve(n);
}

function pendingSeen(run, count, timeoutMs) {
	return new Promise((resolve) => {
		const n = report.http.filter((h) => h.run === run && h.error === 'authorization_pending').length;
		if (n >= count)
			return resolve(n);
		const list = pendingWaiters.get(run) || [];
		const w = { count, resolve };
		list.push(w);
		pendingWaiters.set(run, list);
		setTimeout(() => resolve(report.http.filter((h) => h.run === run &&
			h.error === 'authorization_pending').length), timeoutMs);
	});
}

// The library's fetch, recorded. The original Response goes back to the library untouched (a
// clone is read here).
async function recordingFetch(url, options) {
	const u = new URL(url);
	const body = options?.body instanceof URLSearchParams ? options.body : null;
	const deviceCode = body?.get('device_code') ?? null;
	const entry = {
		at: ms(),
		done: null,
		method: options?.method ?? 'GET',
		path: u.pathname,
		grant_type: body?.get('grant_type') ?? null,
		auth: options?.headers && Object.keys(options.headers).some((k) => k.toLowerCase() === 'authorization')
			? 'basic' : (body?.has('client_secret') ? 'post' : 'none'),
		run: deviceCode ? (runOfDeviceCode.get(deviceCode) ?? null) : runName,
		status: null,
		error: null,
		cache_control: null,
		content_type: null,
	};
	report.http.push(entry);
	let response;
	try {
		response = await fetch(url, options);
	} catch (e) {
		entry.done = ms();
		entry.error = 'fetch failed: ' + String(e);
		throw e;
	}
	entry.done = ms();
	entry.status = response.status;
	entry.cache_control = response.headers.get('cache-control');
	entry.content_type = response.headers.get('content-type');
	if (entry.content_type?.includes('json')) {
		try {
			const j = await response.clone().json();
			if (j && typeof j.error === 'string')
				entry.error = j.error;
			else if (j && typeof j.access_token === 'string')
				entry.tokens = true;
		} catch (e) {
			entry.error = 'unreadable JSON: ' + String(e);
		}
	}
	noteAnswer(entry.run, entry);
	return response;
}

async function discover(auth) {
	const config = await client.discovery(new URL(cfg.issuer), cfg.client_id,
		{ client_secret: cfg.client_secret }, auth, {
			execute: [client.allowInsecureRequests],   // plain http on loopback
			[client.customFetch]: recordingFetch,
			timeout: 15,
		});
	// ID tokens' signatures checked against the issuer's jwks_uri, not only their claims.
	client.enableNonRepudiationChecks(config);
	return config;
}

function describeError(e) {
	if (!e)
		return null;
	return {
		name: e.name ?? null,
		message: String(e.message ?? e),
		code: e.code ?? null,
		error: e.error ?? null,
		error_description: e.error_description ?? null,
		status: e.status ?? null,
		cause: e.cause ? String(e.cause.message ?? e.cause) : null,
	};
}

function tokensOf(result) {
	let claims = null;
	try {
		claims = result.claims() ?? null;
	} catch (e) {
		claims = { error: String(e) };
	}
	return {
		access_token: result.access_token ?? null,
		token_type: result.token_type ?? null,
		expires_in: result.expires_in ?? null,
		scope: result.scope ?? null,
		id_token: result.id_token ?? null,
		refresh_token: result.refresh_token ?? null,
		id_token_claims: claims,
		expiresIn: typeof result.expiresIn === 'function' ? result.expiresIn() : null,
	};
}

// Starts the library's poll; the returned promise never rejects: it settles to {ok, ...}.
function startPoll(config, da, run, abort) {
	run.poll_started = ms();
	const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(POLL_LIMIT_MS)]);
	return client.pollDeviceAuthorizationGrant(config, da, undefined, { signal }).then(
		(result) => {
			run.poll_settled = ms();
			return { ok: true, tokens: tokensOf(result) };
		},
		(e) => {
			run.poll_settled = ms();
			return { ok: false, error: describeError(e) };
		});
}

// ---------------------------------------------------------------- the person's side

async function shot(page, name, fullPage = true) {
	const path = join(cfg.out_dir, `${runName}-${name}.png`);
	const buf = await page.screenshot({ path, fullPage });
	report.screenshots[`${runName}-${name}`] = path;
	return buf;
}

async function describe(page, response) {
	const info = await page.evaluate(() => {
		const forms = [...document.forms].map((f) => ({
			action: f.getAttribute('action'),
			method: (f.getAttribute('method') || '').toLowerCase(),
			fields: [...f.elements].map((e) => ({
				tag: e.tagName.toLowerCase(),
				type: e.type || null,
				name: e.name || null,
				value: e.type === 'password' ? null : (e.value ?? null),
				text: e.tagName === 'BUTTON' ? e.innerText.trim() : null,
			})),
		}));
		return {
			url: location.href,
			title: document.title,
			h1: document.querySelector('h1')?.innerText.trim() ?? null,
			text: document.body ? document.body.innerText : '',
			html: document.documentElement.outerHTML,
			listItems: [...document.querySelectorAll('li')].map((e) => e.innerText.trim()),
			codes: [...document.querySelectorAll('code')].map((e) => e.innerText.trim()),
			scripts: document.scripts.length,
			forms,
		};
	});
	if (response) {
		info.status = response.status();
		info.headers = await response.allHeaders();
	}
	return info;
}

let lastDocument = null;

async function clickAndLoad(page, locator) {
	lastDocument = null;
	const loaded = page.waitForEvent('load', { timeout: STEP_MS });
	await locator.click({ timeout: STEP_MS });
	await loaded;
	return lastDocument;
}

async function newPage(context, viewport) {
	const page = await context.newPage();
	page.setDefaultTimeout(STEP_MS);
	if (viewport)
		await page.setViewportSize(viewport);
	page.on('response', (r) => {
		const s = r.status();
		if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && (s < 300 || s > 399))
			lastDocument = r;
	});
	return page;
}

async function hasForm(page, action) {
	return (await page.locator(`form[action="${action}"]`).count()) > 0;
}

async function signIn(page, run) {
	await page.locator('form[action="/login"] [name="username"]').fill(cfg.username);
	await page.locator('form[action="/login"] [name="password"]').fill(cfg.password);
	return clickAndLoad(page, page.locator('form[action="/login"] [type="submit"]'));
}

// The QR code at verification_uri_qr as Chromium draws it, read back by jsqr from the PNG.
async function readQr(context, url, run) {
	const page = await newPage(context, { width: 480, height: 480 });
	try {
		const resp = await page.goto(url, { waitUntil: 'load' });
		const body = await resp.text();
		const qr = {
			url,
			status: resp.status(),
			headers: await resp.allHeaders(),
			bytes: body.length,
			svg_head: body.slice(0, 300),
			root: await page.evaluate(() => {
				const r = document.documentElement.getBoundingClientRect();
				return { tag: document.documentElement.localName, width: r.width, height: r.height,
					scripts: document.querySelectorAll('script').length };
			}),
			decoded: null,
			decoded_version: null,
			png: null,
		};
		// An SVG that gives itself a size in modules would be a few dozen pixels: draw it larger
		// (a person's phone camera would see it on a screen several hundred pixels wide).
		if (qr.root.tag === 'svg' && Math.min(qr.root.width, qr.root.height) < 200) {
			await page.evaluate(() => {
				document.documentElement.setAttribute('width', '400');
				document.documentElement.setAttribute('height', '400');
			});
			qr.resized = true;
		}
		// the viewport only: a full-page screenshot waits forever on an SVG document (no body)
		const buf = await shot(page, 'qr', false);
		const png = PNG.sync.read(buf);
		qr.png = { width: png.width, height: png.height };
		const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
			png.width, png.height);
		if (code) {
			qr.decoded = code.data;
			qr.decoded_version = code.version;
		}
		run.qr = qr;
	} finally {
		await page.close();
	}
}

// ---------------------------------------------------------------- the two runs

async function allowRun(context) {
	runName = 'allow';
	const run = report.runs.allow = { auth: 'client_secret_basic', scope: cfg.allow_scope, pages: {} };
	step = 'discovery';
	const config = await discover(client.ClientSecretBasic(cfg.client_secret));
	report.metadata = config.serverMetadata();
	step = 'device authorization';
	const da = await client.initiateDeviceAuthorization(config, { scope: cfg.allow_scope });
	run.device_authorization = { ...da, answered: ms() };
	runOfDeviceCode.set(da.device_code, 'allow');
	const abort = new AbortController();
	const poll = startPoll(config, da, run, abort);   // the device polls from now on
	try {
		step = 'qr';
		if (da.verification_uri_qr)
			await readQr(context, da.verification_uri_qr, run);
		else
			run.qr = null;

		const page = await newPage(context);
		step = 'verification_uri_complete';
		let resp = await page.goto(da.verification_uri_complete, { waitUntil: 'load' });
		run.pages.login = await describe(page, resp);
		await shot(page, 'login');
		if (!(await hasForm(page, '/login')))
			throw new Error('verification_uri_complete shows no login form (form action="/login")');

		step = 'login';
		resp = await signIn(page, run);
		run.pages.confirm = await describe(page, resp);
		await shot(page, 'confirm');
		if (!(await page.locator('form[action="/device"] button[name="decision"][value="allow"]').count()))
			throw new Error('after signing in there is no Allow button (form action="/device", ' +
				'button name=decision value=allow)');

		// The person reads the page while the device keeps asking.
		step = 'waiting for the device to poll';
		run.pending_before_decision = await pendingSeen('allow', cfg.settle_pending, 15000);
		run.decided = ms();

		step = 'allow';
		resp = await clickAndLoad(page,
			page.locator('form[action="/device"] button[name="decision"][value="allow"]'));
		run.pages.connected = await describe(page, resp);
		await shot(page, 'connected');
		await page.close();
	} catch (e) {
		failedStep = step;
		abort.abort(new Error('the browser failed at ' + step));
		throw e;
	} finally {
		step = 'poll (allow)';
		run.poll = await poll;
	}

	if (run.poll.ok && run.poll.tokens.refresh_token) {
		step = 'refresh';
		try {
			const r = await client.refreshTokenGrant(config, run.poll.tokens.refresh_token);
			run.refresh = { ok: true, tokens: tokensOf(r) };
		} catch (e) {
			run.refresh = { ok: false, error: describeError(e) };
		}
	}
}

async function denyRun(context) {
	runName = 'deny';
	const run = report.runs.deny = { auth: 'client_secret_post', scope: cfg.deny_scope, pages: {} };
	step = 'discovery';
	const config = await discover(client.ClientSecretPost(cfg.client_secret));
	step = 'device authorization';
	const da = await client.initiateDeviceAuthorization(config, { scope: cfg.deny_scope });
	run.device_authorization = { ...da, answered: ms() };
	runOfDeviceCode.set(da.device_code, 'deny');
	const abort = new AbortController();
	const poll = startPoll(config, da, run, abort);
	try {
		const page = await newPage(context);
		step = 'verification_uri';
		let resp = await page.goto(da.verification_uri, { waitUntil: 'load' });
		run.pages.entry = await describe(page, resp);
		await shot(page, 'entry');
		const input = page.locator('form[action="/device"] [name="user_code"]');
		if (!(await input.count()))
			throw new Error('verification_uri shows no user_code field in a form action="/device"');

		step = 'enter code';
		run.typed = da.user_code.replace(/-/g, '').toLowerCase();
		await input.fill(run.typed);
		resp = await clickAndLoad(page, page.locator('form[action="/device"] [type="submit"]'));
		run.pages.after_entry = await describe(page, resp);
		if (await hasForm(page, '/login')) {
			// not signed in in this browser after all: sign in first
			step = 'login';
			await shot(page, 'login');
			resp = await signIn(page, run);
		}
		run.pages.confirm = await describe(page, resp);
		await shot(page, 'confirm');
		if (!(await page.locator('form[action="/device"] button[name="decision"][value="deny"]').count()))
			throw new Error('no Deny button (form action="/device", button name=decision value=deny)');

		step = 'waiting for the device to poll';
		run.pending_before_decision = await pendingSeen('deny', cfg.settle_pending, 15000);
		run.decided = ms();

		step = 'deny';
		resp = await clickAndLoad(page,
			page.locator('form[action="/device"] button[name="decision"][value="deny"]'));
		run.pages.denied = await describe(page, resp);
		await shot(page, 'denied');
		await page.close();
	} catch (e) {
		failedStep = step;
		abort.abort(new Error('the browser failed at ' + step));
		throw e;
	} finally {
		step = 'poll (deny)';
		run.poll = await poll;
	}
}

// ---------------------------------------------------------------- main

let browser;
let context;
try {
	step = 'launch';
	browser = await chromium.launch({
		executablePath: cfg.chromium,
		headless: true,
		timeout: 60000,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	report.versions.chromium = browser.version();
	// One person, one phone: the deny run finds the session of the allow run.
	context = await browser.newContext({ viewport: { width: 1024, height: 720 }, locale: 'en-US' });
	await allowRun(context);
	await denyRun(context);
} catch (e) {
	report.error = { run: runName, step: failedStep ?? step, message: String(e && e.stack ? e.stack : e),
		detail: describeError(e) };
	try {
		const pages = context ? context.pages() : [];
		const page = pages[pages.length - 1];
		if (page) {
			report.error.url = page.url();
			report.error.text = (await page.evaluate(() => document.body ? document.body.innerText : ''))
				.slice(0, 2000);
			await shot(page, 'failure');
		}
	} catch (e2) {
		report.error.page = String(e2);
	}
} finally {
	if (browser)
		await browser.close().catch(() => {});
	writeFileSync(join(cfg.out_dir, 'result.json'), JSON.stringify(report, null, 1));
}
process.exit(report.error ? 1 : 0);
