/* keys.c - signing key life-cycle and the keyring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keys.h"
#include "secret.h"

/* A new key's kid: the first KEYS_KID_LEN characters of its RFC 7638 thumbprint, short for
 * constrained links (every access token's header names it). A kid that another stored key
 * already has is refused by the store (TS_CONFLICT): the key is then made again, so two keys
 * of one issuer never share a kid. Keys from before keep the whole thumbprint they are stored
 * under (keyring_load loads each under its stored kid). */
static ts_err add_key_once(store *s, const char *alg, int64_t now, int64_t signs_from, int first,
                           char **kid)
{
	struct key_row row = {0};
	char short_kid[KEYS_KID_LEN + 1];
	jwt_key *k = NULL;
	char *pem = NULL;
	ts_err rc;

	rc = jwt_key_generate(alg, &pem);
	if (rc != TS_OK)
		return rc;
	rc = jwt_key_load(alg, pem, &k);
	if (rc != TS_OK)
		goto out;
	snprintf(short_kid, sizeof short_kid, "%s", jwt_key_kid(k));
	row.kid = short_kid;
	row.alg = (char *)jwt_key_alg(k);
	row.pem = pem;
	row.created_at = now;
	row.signs_from = signs_from;
	if (first) {
		int added = 0;

		rc = store_key_add_first(s, &row, &added);
		/* another process made the first key: that one is the key */
		if ((rc == TS_OK && !added) || rc == TS_CONFLICT)
			rc = TS_NOT_FOUND;
	} else {
		rc = store_key_add(s, &row);
	}
	if (rc == TS_OK && kid && !(*kid = strdup(row.kid)))
		rc = TS_SERVER_ERROR;
out:
	jwt_key_free(k);
	secret_free(pem);
	return rc;
}

static ts_err add_key(store *s, const char *alg, int64_t now, int64_t signs_from, char **kid)
{
	ts_err rc;
	int tries = 0;

	do
		rc = add_key_once(s, alg, now, signs_from, 0, kid);
	while (rc == TS_CONFLICT && ++tries < 8);
	return rc;
}

/* Several processes may start on an empty database at once: the first key is inserted only
 * while there is none (store_key_add_first), and a process that finds one made meanwhile takes
 * that one, so they all sign with one key. */
ts_err keys_ensure(store *s, const char *alg, int64_t now, char **kid)
{
	struct key_row *cur = NULL;
	ts_err rc;
	int tries = 0;

	for (;;) {
		rc = store_key_current(s, &cur);
		if (rc != TS_NOT_FOUND || tries++ >= 8)
			break;
		/* made here, or by another process meanwhile: read back either way */
		rc = add_key_once(s, alg, now, 0, 1, NULL);
		if (rc != TS_OK && rc != TS_NOT_FOUND && rc != TS_CONFLICT)
			return rc;
	}
	if (rc == TS_OK && kid && !(*kid = strdup(cur->kid)))
		rc = TS_SERVER_ERROR;
	store_key_free(cur);
	return rc;
}

ts_err keys_rotate(store *s, const char *alg, int64_t now, char **kid)
{
	return add_key(s, alg, now, now * 1000, kid);
}

ts_err keys_rotate_at(store *s, const char *alg, int64_t now, int64_t signs_from, char **kid)
{
	return add_key(s, alg, now, signs_from, kid);
}

struct load_ctx {
	struct keyring *ring;
	int64_t oldest, now_ms;
	int signer;      /* the index of the signer in ring->keys, -1 until found */
	ts_err rc;
};

static int load_one(const struct key_row *row, void *arg)
{
	struct load_ctx *ctx = arg;
	jwt_key **grown, *k = NULL;

	if (row->retired_at && row->retired_at < ctx->oldest)
		return 0;
	ctx->rc = jwt_key_load_kid(row->alg, row->pem, row->kid, &k);
	if (ctx->rc != TS_OK)
		return 1;
	grown = realloc(ctx->ring->keys, (ctx->ring->n + 1) * sizeof *grown);
	if (!grown) {
		jwt_key_free(k);
		ctx->rc = TS_SERVER_ERROR;
		return 1;
	}
	ctx->ring->keys = grown;
	grown[ctx->ring->n] = k;
	/* newest first: the first that signs by now is the signer; the ones before it are
	 * published and sign later */
	if (!ctx->ring->newest && !(ctx->ring->newest = strdup(row->kid))) {
		ctx->rc = TS_SERVER_ERROR;
		return 1;
	}
	if (ctx->signer < 0 && row->signs_from <= ctx->now_ms)
		ctx->signer = (int)ctx->ring->n;
	else if (ctx->signer < 0 && (!ctx->ring->next_ms || row->signs_from < ctx->ring->next_ms))
		ctx->ring->next_ms = row->signs_from;
	ctx->ring->n++;
	return 0;
}

ts_err keyring_load(store *s, int64_t now, int64_t keep, struct keyring **out)
{
	return keyring_load_ms(s, now * 1000, keep, out);
}

ts_err keyring_load_ms(store *s, int64_t now_ms, int64_t keep, struct keyring **out)
{
	struct load_ctx ctx = {calloc(1, sizeof(struct keyring)), now_ms / 1000 - keep, now_ms, -1,
	                       TS_OK};
	json_t *jwks = NULL, *arr;
	jwt_key *signer;
	ts_err rc;
	size_t i;

	*out = NULL;
	if (!ctx.ring)
		return TS_SERVER_ERROR;
	rc = store_key_each(s, load_one, &ctx);
	if (ctx.rc != TS_OK)
		rc = ctx.rc;
	if (rc != TS_OK)
		goto fail;
	rc = TS_NOT_FOUND;
	if (ctx.ring->n == 0 || ctx.signer < 0)
		goto fail;
	/* the signer goes first */
	signer = ctx.ring->keys[ctx.signer];
	memmove(ctx.ring->keys + 1, ctx.ring->keys, (size_t)ctx.signer * sizeof *ctx.ring->keys);
	ctx.ring->keys[0] = signer;
	rc = TS_SERVER_ERROR;
	jwks = json_object();
	if (!jwks || json_object_set_new(jwks, "keys", arr = json_array()) || !arr)
		goto fail;
	for (i = 0; i < ctx.ring->n; i++)
		if (json_array_append_new(arr, jwt_key_public_jwk(ctx.ring->keys[i])))
			goto fail;
	ctx.ring->jwks = json_dumps(jwks, JSON_COMPACT);
	if (!ctx.ring->jwks)
		goto fail;
	json_decref(jwks);
	*out = ctx.ring;
	return TS_OK;
fail:
	json_decref(jwks);
	keyring_free(ctx.ring);
	return rc;
}

void keyring_free(struct keyring *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		jwt_key_free(k->keys[i]);
	free(k->keys);
	free(k->jwks);
	free(k->newest);
	free(k);
}

const jwt_key *keyring_signer(const struct keyring *k)
{
	return k->keys[0];
}

int keys_live_init(struct keys_live *l, struct keyring *ring)
{
	if (pthread_rwlock_init(&l->lock, NULL) != 0)
		return -1;
	l->ring = ring;
	return 0;
}

struct keyring *keys_acquire(struct keys_live *l)
{
	pthread_rwlock_rdlock(&l->lock);
	return l->ring;
}

void keys_release(struct keys_live *l)
{
	pthread_rwlock_unlock(&l->lock);
}

void keys_swap(struct keys_live *l, struct keyring *ring)
{
	struct keyring *old;

	pthread_rwlock_wrlock(&l->lock);
	old = l->ring;
	l->ring = ring;
	pthread_rwlock_unlock(&l->lock);
	keyring_free(old);
}

void keys_live_free(struct keys_live *l)
{
	keyring_free(l->ring);
	l->ring = NULL;
	pthread_rwlock_destroy(&l->lock);
}
