/* cli_provision.c - tessera device provision: makes a device's ES256 key pair, registers the
 * device as a private_key_jwt client (directly in the database, or through an enrollment token
 * at a running Tessera's registration endpoint, RFC 7591), and writes what its firmware needs --
 * client id, issuer, token endpoint, the broker's CA and the private key -- as a C header or
 * JSON, in a file created mode 0600 (docs/enrollment.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "cli.h"
#include "client.h"
#include "enroll.h"
#include "jwt.h"
#include "scope.h"
#include "secret.h"
#include "store.h"

struct provision {
	const char *id, *format, *out, *broker_ca, *token, *url, *server_ca, *issuer_opt;
	char *scope, *grants;
	int token_reference;
	/* results */
	char *client_id, *issuer, *token_endpoint, *pem, *kid, *ca_pem;
	char *reg_uri, *reg_token;
	json_t *jwk;
};

static void provision_clear(struct provision *p)
{
	free(p->scope);
	free(p->grants);
	free(p->client_id);
	free(p->issuer);
	free(p->token_endpoint);
	secret_free(p->pem);
	free(p->kid);
	free(p->ca_pem);
	free(p->reg_uri);
	secret_free(p->reg_token);
	json_decref(p->jwk);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!b || cap > (1u << 20)) {
				free(b ? b : buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[n] = '\0';
	return buf;
}

/* issuer without a trailing '/' followed by path (malloc'd) */
static char *endpoint(const char *issuer, const char *path)
{
	size_t n = strlen(issuer);
	char *s;

	if (n && issuer[n - 1] == '/')
		n--;
	return asprintf(&s, "%.*s%s", (int)n, issuer, path) < 0 ? NULL : s;
}

/* The device's key pair: the PEM of its private key and its public JWK (kid: thumbprint). */
static int make_key(struct provision *p)
{
	jwt_key *k = NULL;

	if (jwt_key_generate("ES256", &p->pem) || jwt_key_load("ES256", p->pem, &k))
		return -1;
	p->jwk = jwt_key_public_jwk(k);
	p->kid = strdup(jwt_key_kid(k));
	jwt_key_free(k);
	return p->jwk && p->kid ? 0 : -1;
}

/* --- directly in the database --- */

static int register_direct(struct provision *p, const struct config *cfg)
{
	struct client c = {0};
	json_t *set = json_pack("{s:[O]}", "keys", p->jwk);
	const char *why;
	char *bad = NULL;
	store *s = NULL;
	ts_err e;
	int rc = 1;

	c.client_id = (char *)p->id;
	if ((why = client_id_problem(p->id))) {
		fprintf(stderr, "tessera: invalid client id \"%s\": %s\n", p->id, why);
		goto out;
	}
	if (p->scope && !scope_allowed_valid(p->scope, &bad)) {
		fprintf(stderr, "tessera: invalid scope token: %s\n", bad ? bad : p->scope);
		goto out;
	}
	c.name = "";
	c.redirect_uris = "";
	c.post_logout_redirect_uris = "";
	c.grant_types = p->grants ? p->grants : "client_credentials";
	c.scope = p->scope ? p->scope : "";
	c.refresh_rotation = 1;
	c.active = 1;
	c.token_reference = p->token_reference;
	c.auth_method = "private_key_jwt";
	c.jwks = set ? json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	c.created_at = c.updated_at = (int64_t)time(NULL);
	if (!c.jwks)
		goto out;
	if ((why = client_rules(&c))) {
		fprintf(stderr, "tessera: %s\n", why);
		goto out;
	}
	if (cli_open_store(cfg, &s) != TS_OK)
		goto out;
	if ((e = store_client_add(s, &c))) {
		fprintf(stderr, "tessera: %s: %s\n", p->id, e == TS_CONFLICT ? "already exists" :
		        e == TS_UNAVAILABLE ? "database is locked, try again" : "failed");
		goto out;
	}
	/* the issuer the daemon would take: --issuer, the configuration's, or its default */
	if (p->issuer_opt || cfg->issuer)
		p->issuer = strdup(p->issuer_opt ? p->issuer_opt : cfg->issuer);
	else if (asprintf(&p->issuer, "%s://%s", cfg->tls_cert ? "https" : "http",
	                  cfg->listen) < 0)
		p->issuer = NULL;
	p->token_endpoint = p->issuer ? endpoint(p->issuer, "/token") : NULL;
	p->client_id = strdup(p->id);
	rc = p->issuer && p->token_endpoint && p->client_id ? 0 : 1;
out:
	store_close(s);
	free(c.jwks);
	free(bad);
	json_decref(set);
	return rc;
}

/* --- through an enrollment token, over HTTP --- */

struct body {
	char *text;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *t;

	if (b->len + size * n > (1u << 20) || !(t = realloc(b->text, b->len + size * n + 1)))
		return 0;
	memcpy(t + b->len, data, size * n);
	b->len += size * n;
	t[b->len] = '\0';
	b->text = t;
	return size * n;
}

/* GET (body NULL) or POST a JSON body to url; *out the JSON answer, *status its HTTP status. */
static int http_json(const struct provision *p, const char *url, const char *body,
                     json_t **out, long *status)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct body b = {0};
	char *auth = NULL;
	CURLcode rc;

	*out = NULL;
	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (p->server_ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, p->server_ca);
	if (body) {
		if (asprintf(&auth, "Authorization: Bearer %s", p->token) < 0)
			auth = NULL;
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		if (auth)
			hdr = curl_slist_append(hdr, auth);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	secret_free(auth);
	if (rc != CURLE_OK) {
		fprintf(stderr, "tessera: %s: %s\n", url, curl_easy_strerror(rc));
		free(b.text);
		return -1;
	}
	*out = b.text ? json_loads(b.text, 0, NULL) : NULL;
	if (b.text)
		secret_wipe(b.text, b.len);
	free(b.text);
	return 0;
}

static char *string_of(const json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));

	return v ? strdup(v) : NULL;
}

static int register_http(struct provision *p)
{
	json_t *disc = NULL, *req = NULL, *ans = NULL, *g;
	char *url = endpoint(p->url, "/.well-known/oauth-authorization-server"), *body = NULL;
	const char *reg, *s;
	long status = 0;
	int rc = 1;

	if (!url || http_json(p, url, NULL, &disc, &status))
		goto out;
	reg = json_string_value(json_object_get(disc, "registration_endpoint"));
	if (status != 200 || !reg) {
		fprintf(stderr, "tessera: %s: no registration_endpoint in the discovery document\n",
		        url);
		goto out;
	}
	req = json_pack("{s:s, s:s, s:{s:[O]}}", "client_name", p->id,
	                "token_endpoint_auth_method", "private_key_jwt", "jwks", "keys", p->jwk);
	if (req && p->scope)
		json_object_set_new(req, "scope", json_string(p->scope));
	if (req && p->grants) {
		g = json_array();
		for (s = p->grants; g && *s; s += strcspn(s, " "), s += strspn(s, " ")) {
			size_t n = strcspn(s, " ");

			json_array_append_new(g, n == 11 && !strncmp(s, "device_code", n)
			                      ? json_string("urn:ietf:params:oauth:grant-type:device_code")
			                      : json_stringn(s, n));
		}
		json_object_set_new(req, "grant_types", g);
	}
	if (!req || !(body = json_dumps(req, JSON_COMPACT)) || http_json(p, reg, body, &ans, &status))
		goto out;
	if (status != 201) {
		fprintf(stderr, "tessera: registration refused (%ld): %s%s%s\n", status,
		        json_string_value(json_object_get(ans, "error")) ?: "no error given",
		        json_object_get(ans, "error_description") ? ": " : "",
		        json_string_value(json_object_get(ans, "error_description")) ?: "");
		goto out;
	}
	p->client_id = string_of(ans, "client_id");
	p->reg_uri = string_of(ans, "registration_client_uri");
	p->reg_token = string_of(ans, "registration_access_token");
	p->issuer = string_of(disc, "issuer");
	p->token_endpoint = string_of(disc, "token_endpoint");
	if (!p->client_id || !p->issuer || !p->token_endpoint) {
		fprintf(stderr, "tessera: the registration's answer lacks client_id, or the "
		        "discovery document issuer or token_endpoint\n");
		goto out;
	}
	rc = 0;
out:
	free(url);
	free(body);
	json_decref(disc);
	json_decref(req);
	json_decref(ans);
	return rc;
}

/* --- the output --- */

/* s as C string literals, one per line of s, each line's '\n' kept; indented by a tab. */
static void c_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p) {
		fputs("\t\"\"", f);
		return;
	}
	while (*p) {
		fputs("\t\"", f);
		for (; *p && *p != '\n'; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(f, "\\%c", *p);
			else if (*p < 0x20 || *p >= 0x7f || *p == '?')
				fprintf(f, "\\%03o", *p); /* '?' too: no trigraphs */
			else
				fputc(*p, f);
		}
		if (*p == '\n') {
			fputs("\\n", f);
			p++;
		}
		fputs(*p ? "\"\n" : "\"", f);
	}
}

static void c_define(FILE *f, const char *name, const char *value)
{
	fprintf(f, "#define %s \\\n", name);
	c_string(f, value);
	fputc('\n', f);
}

static void write_header(FILE *f, const struct provision *p)
{
	fputs("/* The credentials of one device, made by `tessera device provision`: its OAuth client\n"
	      " * id, the issuer and token endpoint to ask for access tokens (private_key_jwt: an\n"
	      " * ES256-signed client assertion, RFC 7523), the MQTT broker's CA and the device's\n"
	      " * PRIVATE KEY. Keep this file secret and out of version control. */\n"
	      "#ifndef TESSERA_DEVICE_H\n#define TESSERA_DEVICE_H\n\n", f);
	c_define(f, "TESSERA_CLIENT_ID", p->client_id);
	c_define(f, "TESSERA_ISSUER", p->issuer);
	c_define(f, "TESSERA_TOKEN_ENDPOINT", p->token_endpoint);
	c_define(f, "TESSERA_AUTH_METHOD", "private_key_jwt");
	c_define(f, "TESSERA_KEY_ALG", "ES256");
	c_define(f, "TESSERA_KEY_ID", p->kid);
	if (p->reg_uri && p->reg_token) {
		fputs("/* RFC 7592: read, update (a new key) or delete this registration */\n", f);
		c_define(f, "TESSERA_REGISTRATION_CLIENT_URI", p->reg_uri);
		c_define(f, "TESSERA_REGISTRATION_ACCESS_TOKEN", p->reg_token);
	}
	fputs("\n/* the device's private key (PKCS#8 PEM) */\n"
	      "static const char tessera_private_key_pem[] =\n", f);
	c_string(f, p->pem);
	fputs(";\n\n/* the CA of the MQTT broker's TLS certificate (PEM; empty when not given) */\n"
	      "static const char tessera_broker_ca_pem[] =\n", f);
	c_string(f, p->ca_pem ? p->ca_pem : "");
	fputs(";\n\n#endif\n", f);
}

static int write_json(FILE *f, const struct provision *p)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}",
		"client_id", p->client_id, "issuer", p->issuer, "token_endpoint", p->token_endpoint,
		"token_endpoint_auth_method", "private_key_jwt", "alg", "ES256", "kid", p->kid,
		"private_key_pem", p->pem, "broker_ca_pem", p->ca_pem);
	int rc;

	if (j && p->reg_uri && p->reg_token) {
		json_object_set_new(j, "registration_client_uri", json_string(p->reg_uri));
		json_object_set_new(j, "registration_access_token", json_string(p->reg_token));
	}
	rc = j ? json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
	fputc('\n', f);
	json_decref(j);
	return rc;
}

/* Writes the file, created (or truncated) mode 0600 whatever the umask, never through a
 * symbolic link. */
static int write_out(const struct provision *p, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;
	int rc;

	if (fd < 0 || fchmod(fd, 0600) != 0) {
		fprintf(stderr, "tessera: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		return -1;
	}
	if (strcmp(p->format, "json") == 0)
		rc = write_json(f, p);
	else
		write_header(f, p), rc = 0;
	if (fclose(f) != 0 || rc) {
		fprintf(stderr, "tessera: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static int append_word(char **list, const char *w)
{
	size_t n = *list ? strlen(*list) : 0;
	char *s = realloc(*list, n + strlen(w) + 2);

	if (!s)
		return -1;
	if (n)
		s[n++] = ' ';
	strcpy(s + n, w);
	*list = s;
	return 0;
}

static int provision(int argc, char **argv, const struct config *cfg)
{
	struct provision p = {0};
	char *path = NULL;
	const char *opt_bad = NULL;
	json_t *summary;
	int i, rc = 2;

	if (argc < 1 || argv[0][0] == '-')
		return cli_usage("device provision needs a device ID", NULL);
	p.id = argv[0];
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		opt_bad = opt;
		if (!val)
			goto bad_opt;
		i++;
		if (strcmp(opt, "--format") == 0)
			p.format = val;
		else if (strcmp(opt, "--out") == 0)
			p.out = val;
		else if (strcmp(opt, "--broker-ca") == 0)
			p.broker_ca = val;
		else if (strcmp(opt, "--enrollment-token") == 0)
			p.token = val;
		else if (strcmp(opt, "--url") == 0)
			p.url = val;
		else if (strcmp(opt, "--server-ca") == 0)
			p.server_ca = val;
		else if (strcmp(opt, "--issuer") == 0)
			p.issuer_opt = val;
		else if (strcmp(opt, "--scope") == 0) {
			free(p.scope);
			if (!(p.scope = strdup(val)))
				goto out;
		} else if (strcmp(opt, "--grant") == 0) {
			if (strcmp(val, "client_credentials") && strcmp(val, "device_code") &&
			    strcmp(val, "refresh_token")) {
				cli_usage("--grant takes client_credentials, device_code or refresh_token", val);
				goto out;
			}
			if (!client_list_has(p.grants, val) && append_word(&p.grants, val))
				goto out;
		} else if (strcmp(opt, "--token-format") == 0 &&
		           (!strcmp(val, "jwt") || !strcmp(val, "reference")))
			p.token_reference = strcmp(val, "reference") == 0;
		else
			goto bad_opt;
	}
	if (!p.format || (strcmp(p.format, "c-header") && strcmp(p.format, "json"))) {
		cli_usage("device provision needs --format c-header or --format json", p.format);
		goto out;
	}
	if (!p.token != !p.url) {
		cli_usage("--enrollment-token and --url go together", NULL);
		goto out;
	}
	if (p.token && p.issuer_opt) {
		cli_usage("--issuer is for registering directly in the database", NULL);
		goto out;
	}
	if (!p.out) { /* ID.h or ID.json here, for an ID that is a plain file name */
		if (!p.id[0] || p.id[0] == '.' || strspn(p.id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(p.id)) {
			cli_usage("this device ID is not a plain file name: give --out FILE", p.id);
			goto out;
		}
		if (asprintf(&path, "%s.%s", p.id, strcmp(p.format, "json") ? "h" : "json") < 0)
			goto out;
		p.out = path;
	}
	rc = 1;
	if (p.broker_ca && !(p.ca_pem = read_file(p.broker_ca))) {
		fprintf(stderr, "tessera: cannot read %s\n", p.broker_ca);
		goto out;
	}
	if (make_key(&p)) {
		fprintf(stderr, "tessera: cannot make a key pair\n");
		goto out;
	}
	if (p.token ? register_http(&p) : register_direct(&p, cfg))
		goto out;
	if (write_out(&p, p.out))
		goto out;
	summary = json_pack("{s:s, s:s, s:s}", "client_id", p.client_id, "file", p.out,
	                    "format", p.format);
	if (summary)
		json_dumpf(summary, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(summary);
	fputc('\n', stdout);
	rc = summary && fflush(stdout) == 0 ? 0 : 1;
	goto out;
bad_opt:
	cli_usage("unknown option or missing value", opt_bad);
out:
	free(path);
	provision_clear(&p);
	return rc;
}

int cli_device(int argc, char **argv, struct config *cfg)
{
	if (argc < 1 || strcmp(argv[0], "provision") != 0)
		return cli_usage("device takes provision", argc ? argv[0] : NULL);
	return provision(argc - 1, argv + 1, cfg);
}
