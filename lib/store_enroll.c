/* store_enroll.c - the SQL of enrollment tokens and registrations (see store_enroll.h). */
#include <stdlib.h>
#include <string.h>

#include "store_enroll.h"
#include "store_priv.h"

enum { Q_ADD, Q_GET, Q_EACH, Q_REVOKE, Q_REMOVE, Q_USE, Q_REG_ADD, Q_REG_GET, Q_COUNT };

#define ENROLL_COLS "id, hash, name, grant_types, scope, auth_method, token_format, max_uses, " \
	"uses, expires_at, created_at, revoked_at"
#define REG_COLS "client_id, hash, enrollment_id, grant_types, scope, auth_method, " \
	"token_format, created_at"

const struct db_sql store_enroll_sql[] = {
	[Q_ADD] = {"INSERT INTO enrollment_tokens (" ENROLL_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, NULL)", NULL, 0},
	[Q_GET] = {"SELECT " ENROLL_COLS " FROM enrollment_tokens WHERE id = ?1", NULL, 0},
	[Q_EACH] = {"SELECT " ENROLL_COLS " FROM enrollment_tokens ORDER BY created_at, id",
		NULL, 0},
	[Q_REVOKE] = {"UPDATE enrollment_tokens SET revoked_at = coalesce(revoked_at, ?2) "
		"WHERE id = ?1", NULL, 0},
	[Q_REMOVE] = {"DELETE FROM enrollment_tokens WHERE id = ?1", NULL, 0},
	/* one statement with the condition in its WHERE: of racing registrations with the last use
	 * of a token exactly one finds it still usable */
	[Q_USE] = {"UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?1 AND "
		"revoked_at IS NULL AND expires_at > ?2 AND uses < max_uses", NULL, 0},
	[Q_REG_ADD] = {"INSERT INTO registrations (" REG_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", NULL, 0},
	[Q_REG_GET] = {"SELECT " REG_COLS " FROM registrations WHERE client_id = ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_enroll_sql[id])

static void template_clear(struct enroll_template *t)
{
	free(t->grant_types);
	free(t->scope);
	free(t->auth_method);
}

void store_enrollment_clear(struct enrollment *e)
{
	free(e->id);
	free(e->name);
	template_clear(&e->t);
	explicit_bzero(e, sizeof *e);
}

void store_enrollment_free(struct enrollment *e)
{
	if (!e)
		return;
	store_enrollment_clear(e);
	free(e);
}

void store_registration_free(struct registration *g)
{
	if (!g)
		return;
	free(g->client_id);
	free(g->enrollment_id);
	template_clear(&g->t);
	explicit_bzero(g, sizeof *g);
	free(g);
}

/* The template's columns from column i on: grant_types, scope, auth_method, token_format. */
static int template_read(db_stmt *st, int i, struct enroll_template *t)
{
	const char *fmt = db_text(st, i + 3);

	t->token_reference = fmt && strcmp(fmt, "reference") == 0;
	return store_col_text(st, i, 0, &t->grant_types) || store_col_text(st, i + 1, 0, &t->scope) ||
	       store_col_text(st, i + 2, 0, &t->auth_method);
}

static ts_err enrollment_read(db_stmt *st, void *out)
{
	struct enrollment *e = calloc(1, sizeof *e);

	*(struct enrollment **)out = NULL;
	if (!e)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 0, 0, &e->id) || store_col_hash(st, 1, e->hash) ||
	    store_col_text(st, 2, 0, &e->name) || template_read(st, 3, &e->t)) {
		store_enrollment_free(e);
		return TS_SERVER_ERROR;
	}
	e->max_uses = db_int(st, 7);
	e->uses = db_int(st, 8);
	e->expires_at = db_int(st, 9);
	e->created_at = db_int(st, 10);
	e->revoked_at = db_type(st, 11) == DB_NULL ? 0 : db_int(st, 11);
	*(struct enrollment **)out = e;
	return TS_OK;
}

static ts_err registration_read(db_stmt *st, void *out)
{
	struct registration *g = calloc(1, sizeof *g);

	*(struct registration **)out = NULL;
	if (!g)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 0, 0, &g->client_id) || store_col_hash(st, 1, g->hash) ||
	    store_col_text(st, 2, 0, &g->enrollment_id) || template_read(st, 3, &g->t)) {
		store_registration_free(g);
		return TS_SERVER_ERROR;
	}
	g->created_at = db_int(st, 7);
	*(struct registration **)out = g;
	return TS_OK;
}

STORE_KIND(static, enrollment_kind, struct enrollment, enrollment_read, store_enrollment_free);
STORE_KIND(static, registration_kind, struct registration, registration_read,
           store_registration_free);

static const char *format_text(const struct enroll_template *t)
{
	return t->token_reference ? "reference" : "jwt";
}

ts_err store_enrollment_add(store *s, const struct enrollment *e)
{
	if (!e || !e->id || !e->t.auth_method)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_ADD), ARGS(DB_T(e->id), DB_B(e->hash, 32), DB_T(nz(e->name)),
		DB_T(nz(e->t.grant_types)), DB_T(nz(e->t.scope)), DB_T(e->t.auth_method),
		DB_T(format_text(&e->t)), DB_I(e->max_uses), DB_I(e->expires_at),
		DB_I(e->created_at)));
}

ts_err store_enrollment_get(store *s, const char *id, struct enrollment **out)
{
	if (out)
		*out = NULL;
	if (!id || !out)
		return TS_SERVER_ERROR;
	return store_get(s, Q(Q_GET), ARGS(DB_T(id)), &enrollment_kind, out);
}

ts_err store_enrollment_each(store *s, int (*fn)(const struct enrollment *e, void *arg), void *arg)
{
	return store_each(s, Q(Q_EACH), NOARGS, &enrollment_kind, (void (*)(void))fn, arg);
}

ts_err store_enrollment_revoke(store *s, const char *id, int64_t now)
{
	return id ? store_change(s, Q(Q_REVOKE), ARGS(DB_T(id), DB_I(now))) : TS_SERVER_ERROR;
}

ts_err store_enrollment_remove(store *s, const char *id)
{
	return id ? store_change(s, Q(Q_REMOVE), ARGS(DB_T(id))) : TS_SERVER_ERROR;
}

ts_err store_register(store *s, const struct client *c, const struct registration *g, int64_t now)
{
	ts_err e;
	int nested;

	if (!c || !g || !g->enrollment_id || !c->client_id || !g->t.auth_method)
		return TS_SERVER_ERROR;
	if ((e = store_tx_start(s, &nested)))
		return e;
	e = store_change(s, Q(Q_USE), ARGS(DB_T(g->enrollment_id), DB_I(now)));
	if (!e)
		e = store_client_add(s, c);
	if (!e)
		e = store_run(s, Q(Q_REG_ADD), ARGS(DB_T(c->client_id), DB_B(g->hash, 32),
			DB_T(g->enrollment_id), DB_T(nz(g->t.grant_types)), DB_T(nz(g->t.scope)),
			DB_T(g->t.auth_method), DB_T(format_text(&g->t)), DB_I(g->created_at)));
	if (!e)
		e = store_tx_end(s, nested);
	if (e)
		store_tx_abort(s, nested);
	return e;
}

ts_err store_registration_get(store *s, const char *client_id, struct registration **out)
{
	if (out)
		*out = NULL;
	if (!client_id || !out)
		return TS_SERVER_ERROR;
	return store_get(s, Q(Q_REG_GET), ARGS(DB_T(client_id)), &registration_kind, out);
}
