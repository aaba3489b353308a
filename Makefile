# Tessera - see README.md. `make run` and `make test` are the two commands that matter.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc

PKGS := libmicrohttpd jansson libcrypto sqlite3 libargon2 inih libqrencode gnutls libcurl libpq

# Debian 12 packages, one list per target: every target installs what it needs through
# tools/deps.sh (when missing: as root it runs apt-get, else it prints the apt-get line), and
# `make depcheck` (part of `make test`) fails when a header, Python module or command that a
# target's files use comes from a package its DEPS_<target> does not name.
# run: compile the daemon and the mosquitto plugin (libmosquitto-dev: mosquitto.h; mosquitto-dev:
# mosquitto_broker.h and mosquitto_plugin.h; libunistring-dev: userNames' NFKC case folding, which
# has no pkg-config file, so LIBS names -lunistring; libgnutls28-dev: the TLS client certificate
# of a connection, which libmicrohttpd hands over as a GnuTLS session).
DEB_RUN := make gcc libc6-dev pkg-config libmicrohttpd-dev libjansson-dev libssl-dev \
	libsqlite3-dev libargon2-dev libinih-dev libqrencode-dev libjemalloc-dev libcurl4-openssl-dev \
	libmosquitto-dev mosquitto-dev libunistring-dev libgnutls28-dev libpq-dev
# test: the Check suites, pytest with its clients, the peers of the interop and broker tests, the
# tools the tests run (man and mandoc's linter for the man pages in test_install.py); Debian's
# nodejs (18) runs npm for tests/interop's lock and test_tls.py's TLS client, while the browser
# scripts run on the Node.js that lock pins (tools/node-deps.sh)
DEB_TEST := check libsubunit-dev python3 python3-pytest python3-requests python3-authlib \
	python3-cryptography python3-paho-mqtt mosquitto curl openssl gnutls-bin sqlite3 strace \
	systemd man-db mandoc chromium fonts-liberation nodejs npm
# test-pg: the PostgreSQL server (initdb, pg_ctl: tools/pg-cluster.sh) and psql (the harness
# makes a database per test with it)
DEB_TESTPG := postgresql postgresql-client
# bench, bench-scale: the load tools (mqtt_bench links libmosquitto, in DEB_RUN; the DPoP proofs
# of tools/bench-dpop.sh are made with python3-cryptography)
DEB_BENCH := wrk curl mosquitto python3 python3-requests python3-pytest python3-paho-mqtt \
	python3-cryptography
# fuzz: clang with libFuzzer and its sanitizer runtimes (tests/fuzz/fuzz.mk)
DEB_FUZZ := clang libclang-rt-14-dev
# asan: gcc's own runtimes (gcc depends on them); clang's when CC=clang
DEB_ASAN := $(if $(findstring clang,$(CC)),$(DEB_FUZZ))
DEPS_run = $(DEB_RUN)
DEPS_install = $(DEB_RUN)
DEPS_test = $(DEB_RUN) $(DEB_TEST)
DEPS_asan = $(DEB_RUN) $(DEB_TEST) $(DEB_ASAN)
DEPS_test-pg = $(DEB_RUN) $(DEB_TEST) $(DEB_TESTPG)
DEPS_bench = $(DEB_RUN) $(DEB_BENCH)
DEPS_bench-pg = $(DEB_RUN) $(DEB_BENCH) $(DEB_TESTPG)
DEPS_soak = $(DEB_RUN) $(DEB_TEST) $(DEB_BENCH)
DEPS_fuzz = $(DEB_RUN) $(DEB_FUZZ)
DEPS_TARGETS := run install test test-pg asan bench bench-pg soak fuzz
DEPCHECK_TARGETS := run test test-pg bench bench-pg soak fuzz

OPT ?= -O2
SAN ?=
# the daemon's allocator: jemalloc, as glibc's malloc cost a quarter of the client-credentials
# throughput (README, Benchmarks); not under the sanitizers, which bring their own
ALLOC_LIBS := $(if $(SAN),,$(shell pkg-config --libs jemalloc 2>/dev/null))
CFLAGS := -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wstrict-prototypes \
	-Wmissing-prototypes -Wshadow -Wvla -fno-strict-aliasing -Ilib -Ilib/common -Ilib/scim \
	-I$(BUILD)/gen \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(if $(ALLOC_LIBS),-DTESSERA_JEMALLOC) $(SAN) \
	$(EXTRA_CFLAGS)
LDFLAGS := $(SAN)
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lunistring -lpthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

# lib/ and its shelves (lib/common/: what the daemon and the mosquitto plugin share; lib/scim/)
LIB_SRC := $(wildcard lib/*.c lib/*/*.c)
SERVER_SRC := $(wildcard server/*.c)
BROKER_SRC := $(wildcard broker/*.c)
# the plugin links lib/common/ (what it shares with the daemon), compiled again as
# position-independent code; nothing else of lib/
BROKER_LIB_SRC := $(wildcard lib/common/*.c)
BROKER_OBJ := $(BROKER_SRC:%.c=$(BUILD)/pic/%.o) $(BROKER_LIB_SRC:%.c=$(BUILD)/pic/%.o)
BROKER_LIBS := $(shell pkg-config --libs jansson libcrypto libcurl 2>/dev/null) -lpthread
# (test_db_pg needs a PostgreSQL server: make test-pg runs it)
UNIT_SRC := $(filter-out tests/unit/test_db_pg.c,$(wildcard tests/unit/test_*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SCHEMA := $(sort $(wildcard schema/*.sql))
# PostgreSQL's twins of the migrations, one for one (docs/postgresql.md)
SCHEMA_PG := $(sort $(wildcard schema/pg/*.sql))
TEMPLATES := $(sort $(wildcard templates/*.html templates/*.css))

PY := /usr/bin/python3

# The targets a person runs install their packages first (deps-TARGET), then build in a second
# make: the flags above come from pkg-config, which may only just have been installed.
.PHONY: all binaries run test test-pg bench-pg depcheck layers unit unit-bins e2e interop broker asan bench bench-scale \
	install clean deps $(DEPS_TARGETS:%=deps-%) crash-test soak
all: deps-run
	@$(MAKE) --no-print-directory binaries

binaries: $(BUILD)/tessera $(BUILD)/tessera_mosquitto.so

$(BUILD)/gen/schema.h: $(SCHEMA) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh schema_sql $(SCHEMA) > $@

$(BUILD)/gen/schema_pg.h: $(SCHEMA_PG) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh schema_pg_sql $(SCHEMA_PG) > $@

$(BUILD)/obj/lib/store.o: $(BUILD)/gen/schema.h $(BUILD)/gen/schema_pg.h

$(BUILD)/gen/templates.h: $(TEMPLATES) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh -l templates/layout.html templates $(TEMPLATES) > $@

$(BUILD)/obj/lib/html.o: $(BUILD)/gen/templates.h

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtessera.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/tessera: $(SERVER_OBJ) $(BUILD)/libtessera.a
	@printf '  LD    %s\n' $@
	@$(CC) $(LDFLAGS) -o $@ $(SERVER_OBJ) $(BUILD)/libtessera.a $(LIBS) $(ALLOC_LIBS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	@printf '  CC    %s (PIC)\n' $<
	@$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -Ibroker -MMD -MP -c $< -o $@

$(BUILD)/tessera_mosquitto.so: $(BROKER_OBJ)
	@printf '  LD    %s\n' $@
	@$(CC) -shared $(LDFLAGS) -o $@ $^ $(BROKER_LIBS)

# the broker's parts other than the mosquitto glue, for their unit suites (test_broker*.c,
# sharing tests/unit/broker_fixture.c)
BROKER_TEST_OBJ := $(filter-out %/plugin.o %/control.o %/reauth.o %/clientcert.o,$(BROKER_OBJ))
BROKER_TEST_BIN := $(filter $(BUILD)/tests/test_broker%,$(UNIT_BIN))
$(BROKER_TEST_BIN): $(BUILD)/tests/%: tests/unit/%.c tests/unit/broker_fixture.c \
		tests/unit/broker_fixture.h $(BROKER_TEST_OBJ)
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -Ibroker -o $@ $< tests/unit/broker_fixture.c $(BROKER_TEST_OBJ) \
		$(BROKER_LIBS) $(CHECK_LIBS) $(LDFLAGS)

# the fault-injection suite: lib/'s allocations pass through tests/unit/fault_inject.c (--wrap)
FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
# (the two fault suites share their driver, tests/unit/store_faults_fixture.c)
FAULT_UNIT := $(BUILD)/tests/test_store_faults $(BUILD)/tests/test_store_faults_jobs
FAULT_SHARED := tests/unit/fault_inject.c tests/unit/store_faults_fixture.c
$(FAULT_UNIT): $(BUILD)/tests/%: tests/unit/%.c $(FAULT_SHARED) tests/unit/fault_inject.h \
		tests/unit/store_faults_fixture.h $(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< $(FAULT_SHARED) $(BUILD)/libtessera.a $(LIBS) \
		$(CHECK_LIBS) $(LDFLAGS) $(FAULT_WRAP)

# the SCIM filter-to-SQL suites share a database and its helpers (tests/unit/scim_sql_fixture.c)
SCIM_SQL_UNIT := $(BUILD)/tests/test_scim_sql $(BUILD)/tests/test_scim_sql_text
$(SCIM_SQL_UNIT): $(BUILD)/tests/%: tests/unit/%.c tests/unit/scim_sql_fixture.c \
		tests/unit/scim_sql_fixture.h tests/unit/scim_sql_corpus.h $(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< tests/unit/scim_sql_fixture.c $(BUILD)/libtessera.a $(LIBS) \
		$(CHECK_LIBS) $(LDFLAGS)

# the PostgreSQL dialect's suite runs the same data and filters on a throwaway cluster (libpq)
$(BUILD)/tests/test_scim_sql_pg: tests/unit/test_scim_sql_pg.c tests/unit/scim_sql_fixture.c \
		tests/unit/scim_sql_fixture.h tests/unit/scim_sql_corpus.h $(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) $(shell pkg-config --cflags libpq) -o $@ $< tests/unit/scim_sql_fixture.c \
		$(BUILD)/libtessera.a $(LIBS) $(shell pkg-config --libs libpq) $(CHECK_LIBS) $(LDFLAGS)

# the JWT suites (and test_dpop.c) share two keys and the forging helpers (tests/unit/jwt_fixture.c)
JWT_UNIT := $(BUILD)/tests/test_jwt $(BUILD)/tests/test_jwt_sign $(BUILD)/tests/test_jwt_key \
	$(BUILD)/tests/test_dpop
$(JWT_UNIT): $(BUILD)/tests/%: tests/unit/%.c tests/unit/jwt_fixture.c tests/unit/jwt_fixture.h \
		$(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< tests/unit/jwt_fixture.c $(BUILD)/libtessera.a $(LIBS) \
		$(CHECK_LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libtessera.a $(LIBS) $(CHECK_LIBS) $(LDFLAGS)

# deps-TARGET: the Debian packages of DEPS_TARGET and, for the tests, the npm packages locked in
# tests/interop (tools/node-deps.sh); `make deps`: all that `make test` and `make asan` need.
$(DEPS_TARGETS:%=deps-%):
	@sh tools/deps.sh $(sort $(DEPS_$(@:deps-%=%)))
	@$(if $(filter deps-test deps-asan,$@),sh tools/node-deps.sh)

deps: deps-asan

# tools/depcheck.py: each target's list covers what its files include, import and run
DEPCHECK = $(PY) tools/depcheck.py --cc "$(CC)" --fuzz-cc "$(FUZZ_CC)" --pkgs "$(PKGS)" \
	$(foreach t,$(DEPCHECK_TARGETS),$(t)="$(DEPS_$(t))")
depcheck: deps-test
	@$(DEPCHECK)

run: deps-run
	@$(MAKE) --no-print-directory binaries
	@sh tools/run.sh $(BUILD)/tessera

unit-bins: $(UNIT_BIN)

PYTEST = TESSERA_BIN=$(abspath $(BUILD)/tessera) TESSERA_PLUGIN=$(abspath \
	$(BUILD)/tessera_mosquitto.so) $(PY) -m pytest -q

# tools/unit.sh itself first: a suite exiting non-zero after a clean summary must fail it
UNIT_SELFTEST = sh tools/unit-selftest.sh $(BUILD)/tests/unit_selftest

unit: deps-test
	@$(MAKE) --no-print-directory unit-bins $(BUILD)/tests/unit_selftest
	@$(UNIT_SELFTEST)
	@sh tools/unit.sh $(UNIT_BIN)

e2e interop broker: deps-test
	@$(MAKE) --no-print-directory binaries
	$(PYTEST) tests/$@

# no circle among the files of server/ (tools/layers.py: who uses whose symbols, read by nm)
LAYERS = $(PY) tools/layers.py $(BUILD)/obj/server server
layers: deps-run
	@$(MAKE) --no-print-directory -s $(SERVER_OBJ)
	@$(LAYERS)

test: deps-test
	@$(DEPCHECK)
	@$(MAKE) --no-print-directory binaries $(UNIT_BIN) $(BUILD)/tests/unit_selftest
	@$(LAYERS)
	@$(UNIT_SELFTEST)
	@sh tools/unit.sh $(UNIT_BIN)
	@$(MAKE) --no-print-directory fuzz-replay
	$(PYTEST) tests/e2e tests/interop tests/broker
	@$(MAKE) --no-print-directory crash-test ROUNDS=10

# The seam's unit suite on PostgreSQL, then the whole end-to-end suite with every daemon on
# PostgreSQL, on a throwaway cluster (tools/test-pg.sh); `make test` stays on SQLite.
$(BUILD)/tests/test_db_pg: tests/unit/test_db_pg.c $(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libtessera.a $(LIBS) $(CHECK_LIBS) $(LDFLAGS)

test-pg: deps-test-pg
	@$(MAKE) --no-print-directory binaries $(BUILD)/tests/test_db_pg
	@sh tools/test-pg.sh $(BUILD)/tests/test_db_pg $(PYTEST) tests/e2e

# SIGKILL under a write-heavy load, ROUNDS times (seeded by SEED), then every acknowledged write
# is checked (tests/crash/crash_test.py); `make test` runs 10 rounds.
ROUNDS ?= 50
SEED ?= 1
crash-test: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/tessera
	TESSERA_BIN=$(abspath $(BUILD)/tessera) $(PY) tests/crash/crash_test.py --rounds $(ROUNDS) \
	--seed $(SEED)

# SOAK_SECONDS of mixed load with garbage (wrk + tests/crash/soak.py), then SIGTERM under load;
# not part of `make test` (too long)
SOAK_SECONDS ?= 600
soak: deps-soak
	@$(MAKE) --no-print-directory $(BUILD)/tessera $(BUILD)/tessera_seed
	TESSERA_BIN=$(abspath $(BUILD)/tessera) $(PY) tests/crash/soak.py --seconds $(SOAK_SECONDS) \
	--seed $(SEED) --seed-bin $(abspath $(BUILD)/tessera_seed)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer).
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan: deps-asan
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 SAN="$(ASAN_FLAGS)" binaries unit-bins \
		build-asan/tests/unit_selftest
	@ASAN_OPTIONS=detect_leaks=1 sh tools/unit-selftest.sh build-asan/tests/unit_selftest \
		'LeakSanitizer: detected memory leaks'
	@CK_FORK=no ASAN_OPTIONS=detect_leaks=1 TESSERA_ASAN=1 sh tools/unit.sh $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%)
	@ASAN_OPTIONS=detect_leaks=1 $(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 SAN="$(ASAN_FLAGS)" fuzz-replay
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	TESSERA_BIN=$(abspath build-asan/tessera) TESSERA_PLUGIN=$(abspath build-asan/tessera_mosquitto.so) \
	TESSERA_ASAN=1 $(PY) -m pytest -q tests/e2e tests/interop tests/broker
	ASAN_OPTIONS=abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	TESSERA_BIN=$(abspath build-asan/tessera) TESSERA_ASAN=1 $(PY) tests/crash/crash_test.py \
	--rounds 10 --seed $(SEED)

$(BUILD)/mqtt_bench: tests/bench/mqtt_bench.c
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< -lmosquitto -lpthread

# fills a database through the store module, in bulk (tests/bench/seed.c)
$(BUILD)/tessera_seed: tests/bench/seed.c $(BUILD)/libtessera.a
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libtessera.a $(LIBS) $(LDFLAGS)

bench: deps-bench
	@$(MAKE) --no-print-directory binaries $(BUILD)/mqtt_bench $(BUILD)/tessera_seed
	@bash tools/bench.sh $(BUILD)/tessera
	@bash tools/bench-dpop.sh $(BUILD)/tessera
	@bash tools/bench-mqtt.sh $(BUILD)/tessera $(BUILD)/tessera_mosquitto.so
	@bash tools/bench-scim.sh $(BUILD)/tessera $(BUILD)/tessera_seed

# the hot flows on one node over SQLite and one over PostgreSQL (a throwaway cluster), side by side
bench-pg: deps-bench-pg
	@$(MAKE) --no-print-directory binaries $(BUILD)/mqtt_bench $(BUILD)/tessera_seed
	@bash tools/bench-pg.sh $(BUILD)/tessera

# the same flows on a database seeded with a million devices, a million users, 5 million grants
bench-scale: deps-bench
	@$(MAKE) --no-print-directory binaries $(BUILD)/tessera_seed
	@bash tools/bench-scale.sh $(BUILD)/tessera $(BUILD)/tessera_seed

# systemd looks for units and sysusers.d files under /usr/lib whatever PREFIX is
UNITDIR ?= /usr/lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
DOCDIR ?= $(PREFIX)/share/doc/tessera
MANDIR ?= $(PREFIX)/share/man
DOCS := $(wildcard docs/*.md) docs/tessera.8 docs/tessera.conf.5
DOC_IMAGES := $(wildcard docs/img/*.png)
# The templates and schema are compiled into the binary: nothing else is read from disk but the
# config. An existing /etc/tessera/tessera.conf is never overwritten (the .sample always is).
install: deps-install
	@$(MAKE) --no-print-directory binaries
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/tessera $(DESTDIR)/etc/tessera \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/docs/img \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(BUILD)/tessera $(DESTDIR)$(PREFIX)/bin/tessera
	install -m 644 $(BUILD)/tessera_mosquitto.so $(DESTDIR)$(PREFIX)/lib/tessera/tessera_mosquitto.so
	sed -e 's|/usr/bin/tessera|$(PREFIX)/bin/tessera|' -e 's|/usr/share/doc/tessera|$(DOCDIR)|' \
		etc/tessera.service > $(BUILD)/tessera.service
	install -m 644 $(BUILD)/tessera.service $(DESTDIR)$(UNITDIR)/tessera.service
	install -m 644 etc/tessera.sysusers $(DESTDIR)$(SYSUSERSDIR)/tessera.conf
	sed 's|/usr/local/lib/tessera/|$(PREFIX)/lib/tessera/|' etc/mosquitto.conf \
		> $(BUILD)/mosquitto.conf
	install -m 644 $(BUILD)/mosquitto.conf $(DESTDIR)/etc/tessera/mosquitto.conf.sample
	install -m 644 etc/tessera.conf $(DESTDIR)/etc/tessera/tessera.conf.sample
	[ -e $(DESTDIR)/etc/tessera/tessera.conf ] || \
		install -m 644 etc/tessera.conf $(DESTDIR)/etc/tessera/tessera.conf
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/docs/
	$(if $(DOC_IMAGES),install -m 644 $(DOC_IMAGES) $(DESTDIR)$(DOCDIR)/docs/img/)
	install -m 644 docs/tessera.8 $(DESTDIR)$(MANDIR)/man8/tessera.8
	install -m 644 docs/tessera.conf.5 $(DESTDIR)$(MANDIR)/man5/tessera.conf.5

# the pages a person sees, as PNGs in docs/img (headless Chromium against a throwaway daemon)
.PHONY: screenshots
screenshots: deps-test
	@$(MAKE) --no-print-directory binaries
	@sh tools/screenshots.sh $(BUILD)/tessera docs/img

clean:
	rm -rf build build-asan

include tests/fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(SERVER_OBJ:.o=.d) $(BROKER_OBJ:.o=.d)
