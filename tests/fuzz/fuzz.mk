# tests/fuzz/fuzz.mk - libFuzzer targets for the parsers; see tests/fuzz/README.md.
# A target is tests/fuzz/fuzz_NAME.c (one LLVMFuzzerTestOneInput) with its seed corpus in
# tests/fuzz/corpus/NAME/ and, optionally, a libFuzzer dictionary tests/fuzz/NAME.dict.
#   make fuzz [FUZZ_SECONDS=60] [FUZZ=NAME...]  clang + libFuzzer + ASan/UBSan, each target on a
#                                               copy of its corpus ($(BUILD)/fuzz/work/NAME)
#   make fuzz-merge [FUZZ=NAME...]              adds the inputs of that copy that reach new
#                                               edges to the committed corpus (-merge=1)
#   make fuzz-replay                            every committed corpus through the target built
#                                               with $(CC)/$(CFLAGS) (a regression test)
FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 4200
FUZZ_CC ?= clang
# merge on edges only: hit-count features would add hundreds of near-duplicates to a corpus
FUZZ_MERGE_FLAGS ?= -use_counters=0
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_DIR := $(BUILD)/fuzz
# the library again, instrumented for libFuzzer (coverage) and the sanitizers
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)

.PHONY: fuzz fuzz-bins fuzz-merge fuzz-replay

$(FUZZ_DIR)/obj/lib/store.o: $(BUILD)/gen/schema.h
$(FUZZ_DIR)/obj/lib/html.o: $(BUILD)/gen/templates.h

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@printf '  CC    %s (fuzz)\n' $<
	@$(FUZZ_CC) $(CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libtessera-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libtessera-fuzz.a
	@printf '  LD    %s\n' $@
	@$(FUZZ_CC) $(CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_DIR)/libtessera-fuzz.a $(LIBS)

# the same target driven by replay.c, built like the unit tests
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/libtessera.a
	@mkdir -p $(@D)
	@printf '  CC    %s\n' $<
	@$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libtessera.a $(LIBS) $(LDFLAGS)

fuzz-bins: deps-fuzz
	@$(MAKE) --no-print-directory $(FUZZ:%=$(FUZZ_DIR)/fuzz_%)

# Each target runs FUZZ_SECONDS on a fresh copy of its corpus; a finding is written to
# $(FUZZ_DIR)/crash/NAME-* and stops make.
fuzz: fuzz-bins
	@for t in $(FUZZ); do \
		rm -rf $(FUZZ_DIR)/work/$$t && mkdir -p $(FUZZ_DIR)/work/$$t $(FUZZ_DIR)/crash && \
		cp tests/fuzz/corpus/$$t/* $(FUZZ_DIR)/work/$$t/ && \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		echo "  FUZZ  $$t ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $$dict \
			-artifact_prefix=$(FUZZ_DIR)/crash/$$t- $(FUZZ_DIR)/work/$$t || exit 1; \
	done

fuzz-merge: fuzz-bins
	@for t in $(FUZZ); do \
		echo "  MERGE $$t"; \
		$(FUZZ_DIR)/fuzz_$$t -merge=1 $(FUZZ_MERGE_FLAGS) -max_len=$(FUZZ_MAX_LEN) \
			tests/fuzz/corpus/$$t $(FUZZ_DIR)/work/$$t || exit 1; \
	done

fuzz-replay: deps-test
	@$(MAKE) --no-print-directory $(FUZZ_ALL:%=$(BUILD)/tests/replay_%)
	@for t in $(FUZZ_ALL); do $(BUILD)/tests/replay_$$t tests/fuzz/corpus/$$t || exit 1; done

-include $(FUZZ_LIB_OBJ:.o=.d)
