/* main.c - `tessera serve` and the dispatch to the administrative commands. */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "client.h"
#include "client_assertion.h"
#include "device.h"
#include "keys.h"
#include "writer.h"
#include "password.h"
#include "secret.h"
#include "throttle.h"
#include "tls.h"
#include "client_cert.h"
#include <openssl/rand.h>
#include "token.h"
#include "server.h"

static const char usage[] =
	"usage: tessera serve [--config FILE] [--db FILE] [--listen HOST:PORT] [--issuer URL]\n"
	"                     [--tls-cert FILE --tls-key FILE]\n"
	"       tessera init [--db FILE]\n"
	"       tessera client add|list|show|rm|disable|enable ... [--db FILE]\n"
	"       tessera user add|list|show|rm|passwd|disable|enable ... [--db FILE]\n"
	"       tessera key rotate|list|jwks [--db FILE]\n"
	"       tessera grant list [--user NAME] [--client ID] | scope ID \"SCOPES\" | revoke ID\n"
	"       tessera enrollment add --max-uses N --expires 30d [--template FILE] [--grant G]...\n"
	"                  [--scope S] [--auth-method M] [--token-format F] | list | show|revoke|rm ID\n"
	"       tessera device provision ID --format c-header|json [--out FILE] [--broker-ca FILE]\n"
	"                  [--enrollment-token T --url URL | --scope S --grant G ...]\n"
	"Every command also takes --config FILE. See tessera(8) and tessera.conf(5).\n";

/* Seconds a retired key stays published: the longest a token it signed can live, plus margin. */
static int64_t key_keep(const struct config *cfg)
{
	return (int64_t)cfg->access_token_ttl + 300;
}

/* Reloads the keyring when the newest key in the store is not the newest one loaded (after
 * `tessera key rotate`, here or on another node), or when a key loaded and published comes to
 * sign. Called every 100 ms from the main thread: a rotated key signs KEYS_PUBLISH_MS after it
 * was stored, by when every node publishes it (lib/keys.h). */
static void keys_refresh(struct server *srv, store *s)
{
	struct key_row *cur = NULL;
	struct keyring *ring = NULL, *in_use;
	int64_t now_ms = http_wall_ms();
	int same;

	if (store_key_current(s, &cur) != TS_OK)
		return;
	in_use = keys_acquire(&srv->keys);
	same = strcmp(cur->kid, in_use->newest) == 0 && !(in_use->next_ms &&
	                                                   in_use->next_ms <= now_ms);
	keys_release(&srv->keys);
	store_key_free(cur);
	if (same || keyring_load_ms(s, now_ms, key_keep(&srv->cfg), &ring) != TS_OK)
		return;
	keys_swap(&srv->keys, ring);
	token_cache_clear();
	fprintf(stderr, "tessera: now signing with key %s%s\n", jwt_key_kid(keyring_signer(ring)),
	        ring->next_ms ? ", publishing the next one" : "");
}

/* At start, a key rotated a moment ago and not signing yet: waits (at most KEYS_PUBLISH_MS)
 * for its time, so that the daemon starts signing with it. */
static struct keyring *keys_settled(store *s, struct keyring *ring, int64_t keep)
{
	struct keyring *again = NULL;
	int64_t wait = ring->next_ms - http_wall_ms();
	struct timespec nap;

	if (!ring->next_ms || wait <= 0 || wait > KEYS_PUBLISH_MS)
		return ring;
	nap.tv_sec = 0;
	nap.tv_nsec = (long)(wait + 1) * 1000000L;
	nanosleep(&nap, NULL);
	if (keyring_load_ms(s, http_wall_ms(), keep, &again) != TS_OK)
		return ring;
	keyring_free(ring);
	return again;
}

/* The hourly purges, by one node at a time: the node that takes the lease 'purge' for the next
 * hour purges; the others find it taken until then (docs/nodes.md). */
static void purge(struct server *srv, store *s, const char *node)
{
	int64_t now = http_now();
	int got = 0;

	if (store_lease_take(s, "purge", node, now, now + 3600 - 60, &got) != TS_OK || !got)
		return;
	store_revocations_purge(s, now);
	store_codes_purge(s, now);
	store_sessions_purge(s, now);
	store_reftokens_purge(s, now);
	store_dpop_purge(s, now);
	store_assertions_purge(s, now);
	store_devices_purge(s, now);
	store_changes_purge(s, now - 3600); /* brokers away longer: reset */
	store_failures_purge(s, http_wall_ms() - 3600 * 1000); /* the longest limit's forget */
	store_key_prune(s, now - key_keep(&srv->cfg));
}

/* Drops the client cache when a client was added, changed or removed by another connection (the
 * CLI, another node, or this daemon's own workers), so a disabled or removed client is refused
 * within one poll. The engine says cheaply that something was committed (SQLite's data version;
 * on PostgreSQL the NOTIFYs of the tables caches depend on, and every reconnect); only then is
 * the clients' version read (schema 018), which moves exactly when a client did: other writes
 * (a jti, a failed guess, a grant) leave the cache alone. */
static void caches_refresh(store *s, int64_t *data_version, int64_t *clients_version)
{
	int64_t dv, cv;

	if (store_data_version(s, &dv) != TS_OK || dv == *data_version ||
	    store_clients_version(s, &cv) != TS_OK)
		return;
	*data_version = dv;
	if (cv != *clients_version) {
		*clients_version = cv;
		client_cache_invalidate();
	}
}

static const char *sync_name(int v)
{
	static const char *const names[] = {"OFF", "NORMAL", "FULL", "EXTRA"};

	return v >= 0 && v <= 3 ? names[v] : "unknown";
}

/* Raises the soft limit on open files so that max_connections (and the margin answered 503) fit
 * with the database's files and a spare: up to the hard limit, with a warning when that is less. */
static void raise_fd_limit(const struct config *cfg)
{
	rlim_t want = (rlim_t)cfg->max_connections + http_overflow(cfg) + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		fprintf(stderr, "tessera: the open files limit (%llu) is below max_connections + %u; "
		        "raise it (LimitNOFILE=, ulimit -n) or lower max_connections\n",
		        (unsigned long long)rl.rlim_cur, http_overflow(cfg) + 256);
}

static int serve(int argc, char **argv, struct config *cfg)
{
	struct server srv = {0};
	store *s = NULL;
	sigset_t set;
	int i, sig, rc = 1, ticks = 0, started, keys_live = 0;
	struct keyring *ring = NULL;
	int64_t data_version = -1, clients_version = -1;
	char *why = NULL, node[2 * 8 + 1], shown[512];
	unsigned char node_id[8];
	struct tls_pem tls = {0};
	struct timespec poll = {0, 100 * 1000 * 1000};
	struct throttle_policy code_addr = throttle_user_code_addr;
	struct throttle_policy code_total = throttle_user_code_total;

	for (i = 0; i < argc; i++) {
		const char *key = NULL;

		if (strcmp(argv[i], "--listen") == 0)
			key = "listen";
		else if (strcmp(argv[i], "--issuer") == 0)
			key = "issuer";
		else if (strcmp(argv[i], "--tls-cert") == 0)
			key = "tls_cert";
		else if (strcmp(argv[i], "--tls-key") == 0)
			key = "tls_key";
		if (!key || i + 1 >= argc) {
			fprintf(stderr, "tessera serve: unknown or incomplete option %s\n%s", argv[i],
			        usage);
			return 2;
		}
		if (config_set(cfg, "server", key, argv[++i], &why) != TS_OK) {
			fprintf(stderr, "tessera serve: %s\n", why ? why : "out of memory");
			free(why);
			return 2;
		}
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, "tessera serve: TLS needs both a certificate and a key "
		        "(--tls-cert and --tls-key, or tls_cert and tls_key in [server])\n");
		return 2;
	}
	if (!cfg->issuer && asprintf(&cfg->issuer, "%s://%s", cfg->tls_cert ? "https" : "http",
	                             cfg->listen) < 0)
		return 1;
	if (cfg->tls_cert && strncmp(cfg->issuer, "https://", 8) != 0) {
		/* every URL in discovery, redirects and tokens comes from the issuer */
		fprintf(stderr, "tessera serve: the issuer must be an https:// URL when serving TLS, "
		        "not \"%s\"\n", cfg->issuer);
		return 2;
	}
	if ((cfg->tls_client_certs && !cfg->tls_cert) ||
	    (cfg->tls_client_ca && !cfg->tls_client_certs)) {
		fprintf(stderr, "tessera serve: %s\n", !cfg->tls_cert ? "tls_client_certificates "
		        "needs TLS (tls_cert and tls_key)" : "tls_client_ca needs "
		        "tls_client_certificates = request");
		return 2;
	}
	if (cfg->tls_cert) {
		ts_err loaded = tls_pem_load(cfg->tls_cert, cfg->tls_key, http_now(), &tls, &why);

		if (why)  /* the reason it failed, or a warning (an expired certificate) */
			fprintf(stderr, "tessera: %s\n", why);
		free(why);
		why = NULL;
		if (loaded != TS_OK)
			return 1;
	}
	/* blocked before any thread starts, so every thread inherits the mask and the main loop's
	 * sigtimedwait is the one that takes SIGTERM, SIGINT and SIGHUP */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memory_setup();
	secret_init();
	srv.cfg = *cfg;
	srv.https = strncmp(cfg->issuer, "https://", 8) == 0;
	/* the guessing limits (lib/throttle.h lists them); the user codes' free attempts are set in
	 * the configuration */
	srv.user_throttle = throttle_with(65536, throttle_login_user);
	srv.addr_throttle = throttle_with(65536, throttle_login_addr);
	srv.secret_throttle = throttle_with(65536, throttle_client_secret);
	srv.enroll_throttle = throttle_with(4096, register_throttle_policy);
	code_addr.free_failures = cfg->user_code_attempts - 1;
	code_total.free_failures = cfg->user_code_attempts_total - 1;
	srv.code_addr_throttle = throttle_with(65536, code_addr);
	srv.code_total_throttle = throttle_with(1, code_total);
	if (metrics_setup(&srv) != 0)
		goto out;
	if (!srv.user_throttle || !srv.addr_throttle || !srv.secret_throttle || !srv.enroll_throttle ||
	    !srv.code_addr_throttle ||
	    !srv.code_total_throttle || RAND_bytes(node_id, sizeof node_id) != 1 ||
	    password_hash("not a password of anyone", &srv.dummy_hash) != TS_OK)
		goto out;
	if (store_open(cfg->db_path, cfg->busy_timeout_ms, cfg->synchronous, &s) != TS_OK) {
		fprintf(stderr, "tessera: cannot open database %s\n",
		        store_shown(cfg->db_path, shown, sizeof shown));
		goto out;
	}
	for (i = 0; i < (int)sizeof node_id; i++)
		sprintf(node + 2 * i, "%02x", node_id[i]);
	/* the CSRF key is the store's: a form served by one node posts to another */
	if (store_secret(s, "csrf", srv.csrf_key) != TS_OK) {
		fprintf(stderr, "tessera: cannot read or create the CSRF key\n");
		goto out;
	}
	if (keys_ensure(s, cfg->signing_alg, http_now(), NULL) != TS_OK ||
	    keyring_load_ms(s, http_wall_ms(), key_keep(cfg), &ring) != TS_OK ||
	    !(ring = keys_settled(s, ring, key_keep(cfg))) ||
	    keys_live_init(&srv.keys, ring) != 0) {
		keyring_free(ring);
		fprintf(stderr, "tessera: cannot create or load the signing keys\n");
		goto out;
	}
	keys_live = 1;
	/* the DPoP nonces' key: the database's, so that every process sharing it accepts them */
	if (store_secret(s, "dpop-nonce", srv.dpop_nonce_key) != TS_OK) {
		fprintf(stderr, "tessera: cannot read the DPoP nonce secret\n");
		goto out;
	}
	srv.discovery = discovery_build(cfg);
	if (!srv.discovery)
		goto out;
	if (cfg->tls_client_ca &&
	    client_ca_load(cfg->tls_client_ca, &srv.client_ca, &why) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", why ? why : "out of memory");
		free(why);
		why = NULL;
		goto out;
	}
	if (writer_start(cfg->db_path, cfg->busy_timeout_ms, cfg->synchronous, &srv.writer) != TS_OK) {
		fprintf(stderr, "tessera: cannot open database %s for writing\n",
		        store_shown(cfg->db_path, shown, sizeof shown));
		goto out;
	}
	/* what SQLite says, so that the log shows the durability actually in force */
	fprintf(stderr, "tessera: database synchronous: %s on the daemon's connection, %s on the "
	        "writer's\n", sync_name(store_synchronous(s)),
	        sync_name(writer_synchronous(srv.writer)));
	if (feed_hub_new(&srv, s) != 0)
		goto out;
	raise_fd_limit(cfg);
	client_jwks_set_ca_file(cfg->jwks_ca_file);
	started = http_start(&srv, cfg->tls_cert ? &tls : NULL);
	/* GnuTLS holds its own parsed copy of the key now: ours goes at once */
	tls_pem_wipe(&tls);
	if (started != 0)
		goto out;
	fprintf(stderr, "tessera: listening on %s (%s), issuer %s, database %s\n", cfg->listen,
	        cfg->tls_cert ? "https" : "http", cfg->issuer,
	        store_shown(cfg->db_path, shown, sizeof shown));
	for (;;) {
		sig = sigtimedwait(&set, NULL, &poll);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			/* `systemctl reload` (or a closed terminal): not a reason to stop. What the
			 * loop below re-reads every second (keys) and on every change (clients) is
			 * re-read now; the configuration file is read at start only. */
			keys_refresh(&srv, s);
			client_cache_invalidate();
			fprintf(stderr, "tessera: SIGHUP: signing keys and clients re-read; "
			        "configuration changes need a restart\n");
		}
		caches_refresh(s, &data_version, &clients_version);
		feed_tick(&srv, s);
		keys_refresh(&srv, s);
		if (++ticks % 10 == 0)
			memory_release();
		if (ticks % 600 == 0) /* each minute: the node whose hour came purges */
			purge(&srv, s, node);
	}
	fprintf(stderr, "tessera: stopping\n");
	feed_stop(&srv);
	http_stop(&srv);
	writer_stop(srv.writer);
	srv.writer = NULL;
	rc = 0;
out:
	tls_pem_wipe(&tls);
	client_ca_free(srv.client_ca);
	writer_stop(srv.writer);
	feed_hub_free(&srv);
	token_cache_clear();
	dpop_cache_clear();
	client_cache_invalidate();
	throttle_free(srv.user_throttle);
	throttle_free(srv.addr_throttle);
	throttle_free(srv.secret_throttle);
	throttle_free(srv.enroll_throttle);
	throttle_free(srv.code_addr_throttle);
	throttle_free(srv.code_total_throttle);
	free(srv.dummy_hash);
	secret_wipe(srv.csrf_key, sizeof srv.csrf_key);
	secret_wipe(srv.metrics_token_hash, sizeof srv.metrics_token_hash);
	secret_wipe(srv.dpop_nonce_key, sizeof srv.dpop_nonce_key);
	if (keys_live)
		keys_live_free(&srv.keys);
	free(srv.discovery);
	store_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct command {
		const char *name;
		int (*fn)(int argc, char **argv, struct config *cfg);
	} commands[] = {
		{"serve", serve}, {"init", cli_init}, {"client", cli_client},
		{"user", cli_user}, {"key", cli_key}, {"grant", cli_grant},
		{"enrollment", cli_enrollment}, {"device", cli_device},
	};
	struct config cfg;
	size_t i;
	int rc = 2;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	umask(077);
	if (config_defaults(&cfg) != TS_OK)
		return 1;
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		argc -= 2;
		argv += 2;
		rc = cli_common(&argc, argv, &cfg);
		if (rc == 0)
			rc = commands[i].fn(argc, argv, &cfg);
		config_free(&cfg);
		return rc;
	}
	fprintf(stderr, "tessera: unknown command \"%s\"\n%s", argv[1], usage);
	config_free(&cfg);
	return 2;
}
