/* test_store.c - the store's core: opening, migrations, file mode, locking, transactions,
 * the schema's shape and what is really stored.
 *
 * Each test gets a fresh directory (store_fixture.h). A few tests open the database file
 * with SQLite directly, as a second party would: to hold a lock, and to see what is really
 * stored. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"
#include "username.h"
#include "schema.h" /* the embedded migrations: to build an old database by hand */
#include "store_fixture.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(open_creates_file_0600)
{
	struct stat st;
	char wal[PATH_MAX + 8];
	store *s = open_db();

	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	ck_assert_int_eq(stat(wal, &st), 0); /* WAL mode */
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	store_close(s);
}
END_TEST

START_TEST(open_0600_whatever_the_umask)
{
	struct stat st;
	store *s;

	umask(0);
	s = open_db();
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	store_close(s);
}
END_TEST

START_TEST(migrations_idempotent)
{
	store *s = open_db();
	store *s2;

	ck_assert_int_ge(store_schema_latest(), 1);
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(store_client_add(s, &(struct client){.client_id = "keep", .is_public = 1,
			.active = 1}), TS_OK);
	store_close(s);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	s2 = open_db(); /* a second connection at the same time */
	ck_assert_int_eq(store_schema_version(s2), store_schema_latest());
	store_close(s2);
	store_close(s);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	{
		struct client *c = NULL;

		ck_assert_int_eq(store_client_get(s, "keep", &c), TS_OK); /* data survived */
		store_client_free(c);
	}
	store_close(s);
}
END_TEST

/* Several processes opening (creating, migrating) one new database at the same moment all
 * succeed; repeated on fresh files since a race shows only some of the time. */
START_TEST(concurrent_first_open)
{
	enum { ROUNDS = 30, N = 6 };
	char path[160];
	pid_t pid[N];
	int r, i, status;
	store *s;

	for (r = 0; r < ROUNDS; r++) {
		snprintf(path, sizeof(path), "%s/c%d.db", dir, r);
		for (i = 0; i < N; i++) {
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				store *c = NULL;
				ts_err e = store_open(path, 10000, 1, &c);

				if (e == TS_OK)
					e = store_revoke_jti(c, "jti-from-child", 2000000000);
				if (e == TS_OK && store_schema_version(c) != store_schema_latest())
					e = TS_ERR_COUNT;
				store_close(c);
				_exit(e == TS_OK ? 0 : 10 + (int)e);
			}
		}
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					"round %d child %d: status %d", r, i, status);
		}
		ck_assert_int_eq(store_open(path, 1000, 1, &s), TS_OK);
		ck_assert_int_eq(store_schema_version(s), store_schema_latest());
		store_close(s);
	}
}
END_TEST

START_TEST(newer_schema_refused)
{
	sqlite3 *raw;
	store *s = open_db();

	store_close(s);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	s = (store *)1;
	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_SERVER_ERROR);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(open_bad_arguments)
{
	store *s = (store *)1;

	ck_assert_int_eq(store_open(db, 1000, 3, &s), TS_SERVER_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(store_open("/nonexistent-dir/x/t.db", 1000, 1, &s), TS_SERVER_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(store_open(NULL, 1000, 1, &s), TS_SERVER_ERROR);
}
END_TEST

START_TEST(memory_database)
{
	store *s = NULL;
	struct client *c = NULL;

	ck_assert_int_eq(store_open(":memory:", 100, 0, &s), TS_OK);
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(store_client_add(s, &(struct client){.client_id = "m", .is_public = 1}), TS_OK);
	ck_assert_int_eq(store_client_get(s, "m", &c), TS_OK);
	store_client_free(c);
	store_close(s);
}
END_TEST

START_TEST(free_null_is_fine)
{
	store_close(NULL);
	store_client_free(NULL);
	store_user_free(NULL);
	store_key_free(NULL);
	store_grant_free(NULL);
	store_code_free(NULL);
	store_rollback(NULL);
	ck_assert_int_eq(store_schema_version(NULL), -1);
}
END_TEST

START_TEST(locked_database_unavailable)
{
	struct client c = client_of("late"), *got = NULL;
	struct key_row k = key_of("k1", 100);
	sqlite3 *raw;
	store *s = NULL;
	double t0, dt;
	int r;

	ck_assert_int_eq(store_open(db, 200, 1, &s), TS_OK);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

	t0 = now_s();
	ck_assert_int_eq(store_client_add(s, &c), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_msg(dt >= 0.15 && dt < 2.0, "client_add waited %.3f s", dt);

	t0 = now_s();
	ck_assert_int_eq(store_key_add(s, &k), TS_UNAVAILABLE);
	ck_assert_int_eq(store_revoke_jti(s, "j", 10), TS_UNAVAILABLE);
	ck_assert_int_eq(store_user_set_password(s, "x", "y", 1), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_msg(dt < 2.0, "three writes waited %.3f s", dt);

	/* WAL: readers are not blocked by the writer */
	ck_assert_int_eq(store_client_get(s, "late", &got), TS_NOT_FOUND);
	ck_assert_int_eq(store_is_revoked(s, "j", &r), TS_OK);

	/* once the lock is gone everything works, nothing is left half done */
	ck_assert_int_eq(sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k), TS_OK);
	ck_assert_int_eq(store_client_get(s, "late", &got), TS_OK);
	store_client_free(got);
	sqlite3_close(raw);
	store_close(s);
}
END_TEST

START_TEST(locked_new_database_open_unavailable)
{
	sqlite3 *raw;
	store *s = (store *)1;
	double t0, dt;

	/* a rollback-journal database held exclusively: nobody may even read it */
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "BEGIN EXCLUSIVE; "
			"CREATE TABLE other (x);", NULL, NULL, NULL), SQLITE_OK);
	t0 = now_s();
	ck_assert_int_eq(store_open(db, 200, 1, &s), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_ptr_null(s);
	ck_assert_msg(dt >= 0.15 && dt < 2.0, "open waited %.3f s", dt);
	sqlite3_close(raw);

	ck_assert_int_eq(store_open(db, 200, 1, &s), TS_OK);
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	store_close(s);
}
END_TEST

START_TEST(odd_strings_verbatim)
{
	static const char *const odd[] = {
		"x'); DROP TABLE clients; --",
		"\"quoted\" 'single' `back` \\ %_ * ? [a] ; -- /* */",
		"Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80 \xe2\x80\xae!dlrow \xef\xbb\xbf",
		"tab\tnew\nline\rcr \x01\x1f\x7f",
		"a_b",
	};
	struct client *c = NULL;
	struct user *u = NULL;
	struct key_row *k = NULL;
	char name[32];
	size_t i;
	int r;
	store *s = open_db();

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct client in = client_of(odd[i]);
		struct user ui = user_of(odd[i]);
		struct key_row ki = key_of(odd[i], 100 + (int64_t)i);

		in.name = in.redirect_uris = in.grant_types = in.scope = (char *)odd[i];
		ck_assert_int_eq(store_client_add(s, &in), TS_OK);
		ck_assert_int_eq(store_client_get(s, odd[i], &c), TS_OK);
		ck_assert_str_eq(c->client_id, odd[i]);
		ck_assert_str_eq(c->name, odd[i]);
		ck_assert_str_eq(c->redirect_uris, odd[i]);
		ck_assert_str_eq(c->grant_types, odd[i]);
		ck_assert_str_eq(c->scope, odd[i]);
		store_client_free(c);

		ui.password_hash = ui.email = ui.name = ui.scope = (char *)odd[i];
		if (username_problem(odd[i])) {
			/* controls and invisible characters are no userName (lib/username.h) */
			ck_assert_int_eq(store_user_add(s, &ui), TS_INVALID_REQUEST);
			ui.username = name;
			snprintf(name, sizeof(name), "odd-%zu", i);
		}
		ck_assert_int_eq(store_user_add(s, &ui), TS_OK);
		ck_assert_int_eq(store_user_get(s, ui.username, &u), TS_OK);
		ck_assert_str_eq(u->username, ui.username);
		ck_assert_str_eq(u->password_hash, odd[i]);
		ck_assert_str_eq(u->email, odd[i]);
		ck_assert_str_eq(u->name, odd[i]);
		ck_assert_str_eq(u->scope, odd[i]);
		store_user_free(u);

		ki.alg = ki.pem = (char *)odd[i];
		ck_assert_int_eq(store_key_add(s, &ki), TS_OK);
		ck_assert_int_eq(store_key_current(s, &k), TS_OK);
		ck_assert_str_eq(k->kid, odd[i]);
		ck_assert_str_eq(k->alg, odd[i]);
		ck_assert_str_eq(k->pem, odd[i]);
		store_key_free(k);

		ck_assert_int_eq(store_revoke_jti(s, odd[i], 100), TS_OK);
		ck_assert_int_eq(store_is_revoked(s, odd[i], &r), TS_OK);
		ck_assert_int_eq(r, 1);
	}
	/* nothing was interpreted as SQL or as a pattern */
	ck_assert_int_eq(store_client_get(s, "axb", &c), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_get(s, "axb", &u), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_get(s, "A_B", &u), TS_OK); /* but ASCII case still folds */
	store_user_free(u);
	ck_assert_int_eq(store_is_revoked(s, "a%", &r), TS_OK);
	ck_assert_int_eq(r, 0);
	/* every table is still there */
	for (i = 0; i < 3; i++) {
		struct client in = client_of(name);

		snprintf(name, sizeof(name), "plain-%zu", i);
		ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	}
	store_close(s);
}
END_TEST

START_TEST(schema_shape)
{
	static const char *const checks[] = {
		"SELECT count(*) = 5 FROM sqlite_schema WHERE type = 'table' AND name IN "
			"('clients', 'users', 'signing_keys', 'revocations', 'grants')",
		"SELECT count(*) = 1 FROM pragma_index_list('revocations') WHERE name = 'revocations_exp'",
		"SELECT count(*) = 2 FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'grants' "
			"AND name IN ('grants_client', 'grants_user')",
		"SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE name = 'revocations'",
		"SELECT count(*) = 2 FROM pragma_foreign_key_list('grants') WHERE on_delete = 'CASCADE'",
		/* 002 */
		"SELECT count(*) = 4 FROM sqlite_schema WHERE type = 'table' AND name IN "
			"('codes', 'sessions', 'consents', 'refresh_tokens') "
			"AND sql LIKE '%STRICT, WITHOUT ROWID'",
		"SELECT count(*) = 1 FROM pragma_index_list('grants') WHERE name = 'grants_active' "
			"AND \"unique\" = 1 AND partial = 1",
		"SELECT count(*) = 1 FROM pragma_index_list('sessions') WHERE name = 'sessions_expires'",
		"SELECT count(*) = 1 FROM pragma_index_list('refresh_tokens') "
			"WHERE name = 'refresh_tokens_grant'",
		"SELECT count(*) = 3 FROM pragma_foreign_key_list('codes') WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 1 FROM pragma_foreign_key_list('sessions') WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 2 FROM pragma_foreign_key_list('consents') WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 1 FROM pragma_foreign_key_list('refresh_tokens') "
			"WHERE on_delete = 'CASCADE' AND \"table\" = 'grants'",
		"SELECT count(*) = 3 FROM pragma_index_xinfo('consents') WHERE key = 1 AND name IN "
			"('user_id', 'client_id', 'scope_token')",
		/* 003 */
		"SELECT count(*) = 2 FROM pragma_table_info('clients') WHERE name IN "
			"('refresh_idle_ttl', 'grant_lifetime') AND type = 'INTEGER' AND \"notnull\" = 1 "
			"AND dflt_value = '0'",
		"SELECT count(*) = 1 FROM pragma_table_info('refresh_tokens') WHERE name = 'grace_used' "
			"AND type = 'INTEGER' AND \"notnull\" = 1 AND dflt_value = '0'",
		"SELECT count(*) = 1 FROM sqlite_schema WHERE type = 'table' AND name = 'secrets' "
			"AND sql LIKE '%STRICT, WITHOUT ROWID'",
		"SELECT count(*) = 1 FROM pragma_index_xinfo('sqlite_autoindex_secrets_1') "
			"WHERE key = 1 AND name = 'name'",
	};
	sqlite3 *raw;
	sqlite3_stmt *st;
	size_t i;
	store *s = open_db();

	store_close(s);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		ck_assert_int_eq(sqlite3_prepare_v2(raw, checks[i], -1, &st, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_msg(sqlite3_column_int(st, 0) == 1, "failed: %s", checks[i]);
		sqlite3_finalize(st);
	}
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(raw);
}
END_TEST

/* Grants are not in the store's API yet; they are written directly here to prove that the store's
 * connection enforces foreign keys: removing a client or user removes its grants. */
START_TEST(foreign_keys_cascade)
{
	struct client c = client_of("c");
	struct user u = user_of("u");
	sqlite3 *raw;
	sqlite3_stmt *st;
	char sql[256];
	store *s = open_db();

	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO grants (client_id, user_id, scope, created_at, "
			"updated_at) VALUES ('c', %lld, 'openid', 1, 1), ('c', NULL, '', 1, 1)",
			(long long)u.id);
	ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);

	ck_assert_int_eq(store_user_remove(s, "u"), TS_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT count(*) FROM grants", -1, &st, NULL),
			SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 1); /* the client-only grant */
	sqlite3_reset(st);
	ck_assert_int_eq(store_client_remove(s, "c"), TS_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	store_close(s);
}
END_TEST

/* Writes between store_begin and store_rollback leave nothing; between begin and commit they land
 * together; a function that fails inside undoes only its own part. */
START_TEST(transactions)
{
	struct fixture f;
	struct code c, *got = NULL;
	struct refresh r = {.created_at = 1, .expires_at = 100};
	struct key_row k = key_of("k-tx", 100), *kr = NULL;
	char *scope = NULL;
	store *s = open_db();

	store_rollback(s); /* none open: fine */
	ck_assert_int_eq(store_commit(s), TS_SERVER_ERROR); /* none open */
	f = add_fixture(s);
	c = code_of(1, f);
	fill_hash(r.hash, 50);
	r.grant_id = f.grant_id;

	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_begin(s), TS_SERVER_ERROR); /* no nesting */
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k), TS_OK);   /* opens a transaction of its own */
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "openid email", 1), TS_OK);
	/* visible inside */
	ck_assert_int_eq(store_code_take(s, c.hash, 1001, &got), TS_OK);
	store_code_free(got);
	store_rollback(s);
	ck_assert_int_eq(store_code_take(s, c.hash, 1001, &got), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 0);
	ck_assert_int_eq(store_key_current(s, &kr), TS_NOT_FOUND);
	ck_assert_int_eq(store_consent_get(s, f.user_id, "app", &scope), TS_OK);
	ck_assert_str_eq(scope, "");
	free(scope);
	store_rollback(s); /* twice: fine */

	/* commit: all of it lands; a failing call inside does not spoil the rest */
	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_consent_add(s, f.user_id, "ghost", "a b", 1), TS_NOT_FOUND);
	ck_assert_int_eq(store_key_add(s, &k), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k), TS_CONFLICT); /* its savepoint is undone */
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 0); /* not yet, outside */
	ck_assert_int_eq(store_commit(s), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 0);
	ck_assert_int_eq(store_key_current(s, &kr), TS_OK);
	ck_assert_str_eq(kr->kid, "k-tx");
	ck_assert_int_eq(kr->retired_at, 0);
	store_key_free(kr);
	ck_assert_int_eq(store_code_take(s, c.hash, 1001, &got), TS_OK);
	store_code_free(got);
	/* and without store_begin every call still commits on its own */
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "openid", 1), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 1);
	store_close(s);
}
END_TEST

/* Readers that never all stop at once: each of two threads holds a read transaction for 2 ms,
 * ends it and starts the next at once, on its own connection, so that at every moment some read
 * that began a while ago is still open (sixteen busy workers, in the daemon). */
struct reading {
	volatile int stop;
	long reads;
};

static void *keep_reading(void *arg)
{
	struct reading *rd = arg;
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c, "SELECT count(*) FROM clients", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(c);
		return NULL;
	}
	while (!rd->stop) {
		sqlite3_exec(c, "BEGIN", NULL, NULL, NULL);
		sqlite3_step(st);
		sqlite3_reset(st);
		usleep(2000);
		sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
		__atomic_add_fetch(&rd->reads, 1, __ATOMIC_RELAXED);
	}
	sqlite3_finalize(st);
	sqlite3_close(c);
	return NULL;
}

/* The writer's WAL starts again from its beginning every checkpoint_pages frames even though
 * reads never stop (RESTART checkpoints): with SQLite's own PASSIVE one the WAL grew by the whole
 * of every write, since the moment with no read open never came. */
START_TEST(writer_wal_stays_bounded_under_constant_reads)
{
	struct reading rd = {0, 0};
	pthread_t th[2];
	char wal[160], jti[64];
	struct stat st;
	store *s = NULL;
	int i, j;

	ck_assert_int_eq(store_open(db, 1000, 0, &s), TS_OK);
	store_tune_writer(s, 200);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, keep_reading, &rd), 0);
	while (__atomic_load_n(&rd.reads, __ATOMIC_RELAXED) < 4)
		usleep(1000);
	for (i = 0; i < 150; i++) {
		ck_assert_int_eq(store_begin(s), TS_OK);
		for (j = 0; j < 400; j++) {
			snprintf(jti, sizeof jti, "jti-%06d-%06d-padding-to-make-the-rows-wider", i, j);
			ck_assert_int_eq(store_revoke_jti(s, jti, 2000000000), TS_OK);
		}
		ck_assert_int_eq(store_commit(s), TS_OK);
	}
	rd.stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	snprintf(wal, sizeof wal, "%s-wal", db);
	ck_assert_int_eq(stat(wal, &st), 0);
	/* 60,000 rows of ~100 bytes and their index: 3,600 frames written (a 15 MB WAL with SQLite's
	 * own checkpoints); here the WAL holds one checkpoint's worth (200 frames) and the
	 * transaction that went past it, twice that when a busy machine made a checkpoint's wait
	 * for the readers run out */
	ck_assert_msg(st.st_size < 1200 * 4120, "WAL of %lld bytes after %ld reads",
	              (long long)st.st_size, rd.reads);
	store_close(s);
}
END_TEST

/* store_begin takes the write lock: another connection's writes wait, then give up. */
START_TEST(begin_holds_write_lock)
{
	struct fixture f;
	struct code c;
	store *s = open_db(), *s2 = NULL;
	double t0, dt;

	f = add_fixture(s);
	c = code_of(1, f);
	ck_assert_int_eq(store_open(db, 200, 1, &s2), TS_OK);
	ck_assert_int_eq(store_begin(s), TS_OK);
	t0 = now_s();
	ck_assert_int_eq(store_code_add(s2, &c), TS_UNAVAILABLE);
	ck_assert_int_eq(store_begin(s2), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 3.0, "waited %.3f s", dt);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_commit(s), TS_OK);
	c = code_of(2, f);
	ck_assert_int_eq(store_code_add(s2, &c), TS_OK);
	store_close(s2);
	store_close(s);
}
END_TEST

/* A database written by a build that knew only 001 is upgraded in place, keeping its rows. */
START_TEST(migrate_from_version_1)
{
	sqlite3 *raw;
	store *s = NULL;
	struct client *c = NULL;
	struct user *u = NULL;
	struct grant *g = NULL;
	struct code code;
	struct fixture f;
	int r;

	ck_assert_int_ge(schema_sql_count, 2);
	ck_assert_int_eq(schema_sql_count, store_schema_latest());
	ck_assert_str_eq(schema_sql_names[0], "001_init.sql");
	ck_assert_str_eq(schema_sql_names[1], "002_authz.sql");
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, schema_sql[0], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 1;"
			"INSERT INTO clients (client_id, is_public, scope, created_at, updated_at) "
			"VALUES ('old-app', 1, 'openid', 1, 2);"
			"INSERT INTO users (username, scope, created_at, updated_at) "
			"VALUES ('olduser', 'mqtt:sub:#', 3, 4);"
			/* two active grants of one user for one client: only possible before 002 */
			"INSERT INTO grants (client_id, user_id, scope, created_at, updated_at) VALUES "
			"('old-app', 1, 'a', 10, 11), ('old-app', 1, 'b', 20, 21), "
			"('old-app', NULL, 'c', 30, 31), ('old-app', NULL, 'd', 40, 41);"
			"INSERT INTO revocations (jti, exp) VALUES ('old-jti', 2000000000);",
			NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(sql_int("PRAGMA user_version"), 1);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("PRAGMA user_version"), store_schema_latest());
	ck_assert_int_eq(store_client_get(s, "old-app", &c), TS_OK);
	ck_assert_str_eq(c->scope, "openid");
	ck_assert_int_eq(c->updated_at, 2);
	store_client_free(c);
	ck_assert_int_eq(store_user_get_id(s, 1, &u), TS_OK);
	ck_assert_str_eq(u->username, "olduser");
	store_user_free(u);
	ck_assert_int_eq(store_is_revoked(s, "old-jti", &r), TS_OK);
	ck_assert_int_eq(r, 1);
	/* the newest of the duplicates stays active, the older one is revoked */
	ck_assert_int_eq(store_grant_find(s, 1, "old-app", &g), TS_OK);
	ck_assert_int_eq(g->id, 2);
	ck_assert_str_eq(g->scope, "b");
	store_grant_free(g);
	ck_assert_int_eq(store_grant_get(s, 1, &g), TS_OK);
	ck_assert_int_eq(g->revoked_at, 11);
	store_grant_free(g);
	/* client-only grants untouched */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM grants WHERE user_id IS NULL AND "
			"revoked_at IS NULL"), 2);
	/* the new tables work */
	f.user_id = 1;
	f.grant_id = 2;
	code = code_of(9, f);
	code.client_id = "old-app";
	ck_assert_int_eq(store_code_add(s, &code), TS_OK);
	ck_assert_int_eq(store_consent_add(s, 1, "old-app", "openid", 5), TS_OK);
	store_close(s);

	/* opening again changes nothing */
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("SELECT count(*) FROM grants"), 4);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes"), 1);
	store_close(s);
}
END_TEST

/* A database written by a build that knew 001 and 002 is upgraded in place, keeping its rows;
 * the new columns read as their defaults. */
START_TEST(migrate_from_version_2)
{
	sqlite3 *raw;
	store *s = NULL;
	struct client *c = NULL;
	struct refresh out;
	struct grants_seen x;
	sqlite3_stmt *st;
	unsigned char h[32], v[32];

	ck_assert_int_ge(schema_sql_count, 3);
	ck_assert_str_eq(schema_sql_names[2], "003_refresh.sql");
	fill_hash(h, 90);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, schema_sql[0], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, schema_sql[1], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 2;"
			"INSERT INTO clients (client_id, is_public, scope, refresh_grace, created_at, "
			"updated_at) VALUES ('old-app', 1, 'openid', 15, 1, 2);"
			"INSERT INTO users (username, scope, created_at, updated_at) "
			"VALUES ('OldUser', 'mqtt:sub:#', 3, 4);"
			"INSERT INTO grants (client_id, user_id, scope, created_at, updated_at) "
			"VALUES ('old-app', 1, 'openid', 10, 11);", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "INSERT INTO refresh_tokens (token_hash, grant_id, "
			"created_at, expires_at, used_at) VALUES (?1, 1, 20, 30, 25)", -1, &st, NULL),
			SQLITE_OK);
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	ck_assert_int_eq(sql_int("PRAGMA user_version"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'secrets'"), 0);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("PRAGMA user_version"), store_schema_latest());
	ck_assert_int_eq(store_client_get(s, "old-app", &c), TS_OK);
	ck_assert_str_eq(c->scope, "openid");
	ck_assert_int_eq(c->refresh_grace, 15);
	ck_assert_int_eq(c->refresh_idle_ttl, 0);
	ck_assert_int_eq(c->grant_lifetime, 0);
	ck_assert_int_eq(c->updated_at, 2);
	store_client_free(c);
	ck_assert_int_eq(store_refresh_get(s, h, &out), TS_OK);
	ck_assert_int_eq(out.grant_id, 1);
	ck_assert_int_eq(out.expires_at, 30);
	ck_assert_int_eq(out.used_at, 25);
	ck_assert_int_eq(out.grace_used, 0);
	ck_assert_int_eq(list_grants(s, "olduser", "old-app", &x), TS_OK);
	ck_assert_int_eq(x.n, 1);
	ck_assert_int_eq(x.id[0], 1);
	/* the new parts work */
	ck_assert_int_eq(store_refresh_grace(s, h), TS_OK);
	ck_assert_int_eq(store_refresh_use(s, h, 26, 26000), TS_CONFLICT);
	ck_assert_int_eq(store_secret(s, "refresh-successor", v), TS_OK);
	store_close(s);

	/* opening again changes nothing */
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens WHERE grace_used = 1"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 1);
	store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *open = tcase_create("open");
	TCase *rec = tcase_create("records");
	TCase *lock = tcase_create("locking");

	tcase_add_checked_fixture(open, setup, teardown);
	tcase_set_timeout(open, 30); /* concurrent_first_open forks 180 processes */
	tcase_add_test(open, open_creates_file_0600);
	tcase_add_test(open, open_0600_whatever_the_umask);
	tcase_add_test(open, migrations_idempotent);
	tcase_add_test(open, concurrent_first_open);
	tcase_add_test(open, newer_schema_refused);
	tcase_add_test(open, open_bad_arguments);
	tcase_add_test(open, memory_database);
	tcase_add_test(open, free_null_is_fine);
	tcase_add_test(open, schema_shape);
	suite_add_tcase(s, open);

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, odd_strings_verbatim);
	tcase_add_test(rec, foreign_keys_cascade);
	tcase_add_test(rec, transactions);
	tcase_add_test(rec, migrate_from_version_1);
	tcase_add_test(rec, migrate_from_version_2);
	suite_add_tcase(s, rec);

	tcase_add_checked_fixture(lock, setup, teardown);
	tcase_set_timeout(lock, 30);
	tcase_add_test(lock, locked_database_unavailable);
	tcase_add_test(lock, locked_new_database_open_unavailable);
	tcase_add_test(lock, begin_holds_write_lock);
	tcase_add_test(lock, writer_wal_stays_bounded_under_constant_reads);
	suite_add_tcase(s, lock);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
