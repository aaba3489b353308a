// mqtt5_driver.mjs - one MQTT.js (npm `mqtt`, locked in tests/interop) MQTT 5 client driven by
// tests/broker/test_broker_reauth.py over stdin/stdout, one JSON object a line.
//
// argv[2]: {"port", "clientId", "method", "token"}: CONNECT with Authentication Method `method`
// and the token as Authentication Data (as for Azure Event Grid's OAUTH2-JWT); with "tls":
// {"ca", "cert", "key"} (file names) over TLS, presenting that client certificate.
// Commands in: {"cmd":"subscribe","filter"} {"cmd":"publish","topic","payload","qos"}
// {"cmd":"reauth","token","method"} (an AUTH packet, reason 0x19) {"cmd":"end"}.
// Events out: {"ev":"packet","cmd","reasonCode","granted"} for every packet received (connack,
// auth, suback, puback, disconnect...), {"ev":"message","topic","payload"}, {"ev":"close"},
// {"ev":"error","message","code"}.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(new URL('../interop/package.json', import.meta.url));
const mqtt = require('mqtt');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const tls = cfg.tls ? { protocol: 'mqtts', servername: 'localhost', rejectUnauthorized: true,
	ca: fs.readFileSync(cfg.tls.ca), cert: fs.readFileSync(cfg.tls.cert),
	key: fs.readFileSync(cfg.tls.key) } : {};
const client = mqtt.connect({
	...tls,
	host: '127.0.0.1',
	port: cfg.port,
	protocolVersion: 5,
	clientId: cfg.clientId,
	clean: true,
	reconnectPeriod: 0,
	connectTimeout: 10000,
	keepalive: 30,
	properties: {
		authenticationMethod: cfg.method,
		authenticationData: Buffer.from(cfg.token, 'utf8'),
	},
});

client.on('packetreceive', (p) => {
	out({ ev: 'packet', cmd: p.cmd, reasonCode: p.reasonCode ?? p.returnCode ?? null,
		granted: p.granted ?? null });
});
client.on('message', (topic, payload) => out({ ev: 'message', topic, payload: payload.toString() }));
client.on('close', () => out({ ev: 'close' }));
// MQTT.js reports an AUTH packet other than "continue" (re-authentication success too) as an
// error; the packets above say what came
client.on('error', (e) => out({ ev: 'error', message: String(e.message), code: e.code ?? null }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
	const c = JSON.parse(line);
	if (c.cmd === 'subscribe') {
		client.subscribe(c.filter, { qos: 1 });
	} else if (c.cmd === 'publish') {
		client.publish(c.topic, c.payload, { qos: c.qos ?? 1 });
	} else if (c.cmd === 'reauth') {
		// MQTT.js has no call for it: the packet as its own auth handler sends one
		client._sendPacket({
			cmd: 'auth',
			reasonCode: 0x19,
			properties: {
				authenticationMethod: c.method ?? cfg.method,
				authenticationData: Buffer.from(c.token, 'utf8'),
			},
		});
	} else if (c.cmd === 'end') {
		client.end(true, () => process.exit(0));
	}
});
rl.on('close', () => client.end(true, () => process.exit(0)));
