// private_key_jwt.mjs keys|run CONFIG.json - private_key_jwt (RFC 7523 §2.2) between Tessera
// and two standard pieces of software: openid-client (its PrivateKeyJwt client authentication)
// and jose (assertions made by hand with SignJWT). For tests/interop/test_pkjwt_libraries.py.
//
// keys: makes a key pair for each of ES256, RS256, PS256 and EdDSA with jose, and writes
//       CONFIG.out_dir/keys.json: {alg: {public: JWK, private: JWK}} (the test registers the
//       public ones as clients "oc-ALG" and "jose-ALG").
// run:  openid-client, for each alg, discovers the issuer with client "oc-ALG" and PrivateKeyJwt,
//       gets a token (client credentials), introspects it, revokes it and starts a device
//       authorization; jose signs assertions for "jose-ALG" (aud the token endpoint URL), POSTs
//       them to /token, and sends the first one again. Results go to CONFIG.out_dir/result.json;
//       the script judges nothing (it records what each call gave).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import * as jose from 'jose';

const [mode, cfgPath] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
const ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'];

async function keys() {
	const out = {};
	for (const alg of ALGS) {
		const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
		const pub = await jose.exportJWK(publicKey);
		const priv = await jose.exportJWK(privateKey);
		pub.kid = priv.kid = 'interop-' + alg.toLowerCase();
		pub.alg = priv.alg = alg;
		out[alg] = { public: pub, private: priv };
	}
	writeFileSync(join(cfg.out_dir, 'keys.json'), JSON.stringify(out));
}

function errorOf(e) {
	return { name: e?.name, code: e?.code, error: e?.error, status: e?.status,
		message: String(e?.message ?? e) };
}

async function viaOpenidClient(alg, priv) {
	const r = { steps: {} };
	const key = await jose.importJWK(priv, alg);
	const config = await client.discovery(new URL(cfg.issuer), 'oc-' + alg.toLowerCase(),
		undefined, client.PrivateKeyJwt({ key, kid: priv.kid }),
		{ execute: [client.allowInsecureRequests] });
	const step = async (name, fn) => {
		try {
			r.steps[name] = { ok: true, value: await fn() };
		} catch (e) {
			r.steps[name] = { ok: false, error: errorOf(e) };
		}
		return r.steps[name];
	};
	const tok = await step('client_credentials', async () => {
		const t = await client.clientCredentialsGrant(config, { scope: 'telemetry' });
		return { token_type: t.token_type, access_token: t.access_token };
	});
	const at = tok.ok ? tok.value.access_token : 'none';
	await step('introspect', async () => (await client.tokenIntrospection(config, at)).active);
	await step('revoke', async () => { await client.tokenRevocation(config, at); return true; });
	await step('introspect_after_revoke', async () =>
		(await client.tokenIntrospection(config, at)).active);
	await step('device_authorization', async () =>
		typeof (await client.initiateDeviceAuthorization(config, { scope: 'telemetry' }))
			.device_code);
	return r;
}

async function viaJose(alg, priv, tokenEndpoint) {
	const key = await jose.importJWK(priv, alg);
	const id = 'jose-' + alg.toLowerCase();
	const assertion = await new jose.SignJWT({})
		.setProtectedHeader({ alg, kid: priv.kid, typ: 'JWT' })
		.setIssuer(id).setSubject(id).setAudience(tokenEndpoint)
		.setIssuedAt().setExpirationTime('2m').setJti(crypto.randomUUID())
		.sign(key);
	const post = async () => {
		const res = await fetch(tokenEndpoint, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'client_credentials',
				client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
				client_assertion: assertion,
			}),
		});
		const body = await res.json();
		return { status: res.status, error: body.error ?? null, token_type: body.token_type ?? null };
	};
	return { first: await post(), replay: await post() };
}

async function run() {
	const keysOf = JSON.parse(readFileSync(join(cfg.out_dir, 'keys.json'), 'utf8'));
	const meta = await (await fetch(cfg.issuer + '/.well-known/openid-configuration')).json();
	const result = { openid_client: {}, jose: {}, versions: {} };
	for (const p of ['openid-client', 'oauth4webapi', 'jose']) {
		try {
			result.versions[p] = JSON.parse(readFileSync(new URL(
				`./node_modules/${p}/package.json`, import.meta.url), 'utf8')).version;
		} catch (e) {
			result.versions[p] = null;
		}
	}
	for (const alg of ALGS) {
		try {
			result.openid_client[alg] = await viaOpenidClient(alg, keysOf[alg].private);
		} catch (e) {
			result.openid_client[alg] = { error: errorOf(e) };
		}
		try {
			result.jose[alg] = await viaJose(alg, keysOf[alg].private, meta.token_endpoint);
		} catch (e) {
			result.jose[alg] = { error: errorOf(e) };
		}
	}
	writeFileSync(join(cfg.out_dir, 'result.json'), JSON.stringify(result, null, 1));
}

await (mode === 'keys' ? keys() : run());
