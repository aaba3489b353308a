// dpop_flow.mjs - DPoP (RFC 9449) against Tessera from two standard pieces of npm software, for
// tests/interop/test_dpop_interop.py: openid-client (discovery, a DPoP handle on a random ES256
// key, clientCredentialsGrant, fetchProtectedResource on /scim/v2, its use_dpop_nonce retries)
// and jose (proofs made by hand: SignJWT with the jwk header, calculateJwkThumbprint, the access
// token verified against /jwks with createRemoteJWKSet and jwtVerify). Writes what happened to
// the report file named in the config; the Python side judges it.
//
// Usage: node dpop_flow.mjs CONFIG.json  (issuer, client_id, client_secret, report)
import { readFileSync, writeFileSync } from 'node:fs';
import * as client from 'openid-client';
import * as jose from 'jose';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = { steps: [], error: null };
const basic = 'Basic ' + Buffer.from(encodeURIComponent(cfg.client_id) + ':' +
	encodeURIComponent(cfg.client_secret)).toString('base64');

function done() {
	writeFileSync(cfg.report, JSON.stringify(report, null, 1));
}

// What a fetch answered, for the report.
async function answer(r) {
	const text = await r.text();
	let body = null;
	try { body = JSON.parse(text); } catch (e) { body = text; }
	return { status: r.status, body, www_authenticate: r.headers.get('www-authenticate'),
		dpop_nonce: r.headers.get('dpop-nonce') };
}

async function withOpenidClient() {
	const config = await client.discovery(new URL(cfg.issuer), cfg.client_id, cfg.client_secret,
		undefined, { execute: [client.allowInsecureRequests] });
	report.dpop_signing_alg_values_supported =
		config.serverMetadata().dpop_signing_alg_values_supported;
	const keyPair = await client.randomDPoPKeyPair('ES256');
	const DPoP = client.getDPoPHandle(config, keyPair);
	const tokens = await client.clientCredentialsGrant(config, { scope: 'scim' }, { DPoP });
	const jwk = await jose.exportJWK(keyPair.publicKey);
	report.openid_client = {
		token_type: tokens.token_type,
		access_token: tokens.access_token,
		jkt: await jose.calculateJwkThumbprint(jwk, 'sha256'),
	};
	const r = await client.fetchProtectedResource(config, tokens.access_token,
		new URL(cfg.issuer + '/scim/v2/Users?count=1'), 'GET', undefined, undefined, { DPoP });
	report.openid_client.scim = await answer(r);
	// the same token without its proof is a bearer token no more
	const bare = await fetch(cfg.issuer + '/scim/v2/Users',
		{ headers: { authorization: 'Bearer ' + tokens.access_token } });
	report.openid_client.as_bearer = await answer(bare);
	report.steps.push('openid-client');
}

// A proof made with jose alone.
async function proof(privateKey, publicJwk, htm, htu, extra = {}) {
	return new jose.SignJWT({ htm, htu, jti: crypto.randomUUID(), ...extra })
		.setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: publicJwk })
		.setIssuedAt()
		.sign(privateKey);
}

async function withJose() {
	const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
	const jwk = await jose.exportJWK(publicKey);
	const tokenUrl = cfg.issuer + '/token';
	const post = async (p) => fetch(tokenUrl, {
		method: 'POST',
		headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded',
			...(p ? { dpop: p } : {}) },
		body: 'grant_type=client_credentials&scope=scim',
	});
	let nonce;
	let r = await answer(await post(await proof(privateKey, jwk, 'POST', tokenUrl)));
	if (r.status === 400 && r.body.error === 'use_dpop_nonce') {
		nonce = r.dpop_nonce;
		report.jose_nonce_asked = true;
		r = await answer(await post(await proof(privateKey, jwk, 'POST', tokenUrl, { nonce })));
	}
	const out = report.jose = { token: r, jkt: await jose.calculateJwkThumbprint(jwk, 'sha256') };
	const at = r.body.access_token;
	const jwks = jose.createRemoteJWKSet(new URL(cfg.issuer + '/jwks'));
	const { payload, protectedHeader } = await jose.jwtVerify(at, jwks,
		{ issuer: cfg.issuer, typ: 'at+jwt', algorithms: ['ES256'] });
	out.verified = { cnf: payload.cnf, typ: protectedHeader.typ };
	// the resource, with a proof whose ath is the token's hash
	const url = cfg.issuer + '/scim/v2/Users';
	const ath = jose.base64url.encode(new Uint8Array(
		await crypto.subtle.digest('SHA-256', new TextEncoder().encode(at))));
	const p = await proof(privateKey, jwk, 'GET', url, { ath, ...(nonce ? { nonce } : {}) });
	const get = async (pr) => answer(await fetch(url,
		{ headers: { authorization: 'DPoP ' + at, dpop: pr } }));
	out.scim = await get(p);
	out.replayed = await get(p);
	const other = await jose.generateKeyPair('ES256');
	out.other_key = await get(await proof(other.privateKey, await jose.exportJWK(other.publicKey),
		'GET', url, { ath, ...(nonce ? { nonce } : {}) }));
	report.steps.push('jose');
}

try {
	await withOpenidClient();
	await withJose();
} catch (e) {
	report.error = { message: String(e && e.stack || e), cause: e && e.cause ? String(e.cause) : null };
}
done();
