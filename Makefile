# SureConnect build. GNU make; libraries found through pkg-config.
# Targets: deps all run demo test fuzz bench clean areacodes format vendor

CC      ?= cc
PKGS    := jansson sqlite3 libpq libcrypto libmicrohttpd libcurl
TESTPKG := criterion
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
OPT     ?= -O2 -g
# The daemon serves the web pages from this source tree's web/ folder unless told otherwise
# (serve --web-root DIR or $$SURECONNECT_WEB_ROOT; docs/WEB.md).
WEB_ROOT_DEFAULT := $(CURDIR)/web
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN    := -fsanitize=thread -fno-omit-frame-pointer

BUILD   := build
PROGRAM := $(BUILD)/sureconnect
DB      ?= ./sureconnect.db
NANPA_REPORT ?= ../shared/data/nanpa/npa_report.csv
export NANPA_REPORT

# Every module under src/ except the program's entry point forms the library that the
# program, the tests and the benchmarks link.
LIB_SRC   := $(sort $(wildcard src/*/*.c))
MAIN_SRC  := src/cli/main.c
LIB_SRC   := $(filter-out $(MAIN_SRC),$(LIB_SRC))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
SAN_OBJ   := $(LIB_SRC:%.c=$(BUILD)/san/%.o)
UNIT_SRC  := $(sort $(wildcard test/unit/*.c))
CLI_SRC   := $(sort $(wildcard test/cli/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps vendor run demo test test-unit test-unit-san test-cli test-e2e test-e2e-san test-e2e-tsan \
        test-browser test-load test-fuzz test-tsan test-unit-pg test-e2e-pg build-clang fuzz bench clean \
        areacodes format

all: $(PROGRAM)

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -c $< -o $@

$(BUILD)/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TSAN) -MMD -MP -c $< -o $@

# Only the program's entry point knows the default web root.
$(BUILD)/obj/$(MAIN_SRC:.c=.o) $(BUILD)/san/$(MAIN_SRC:.c=.o) $(BUILD)/tsan/$(MAIN_SRC:.c=.o) \
    $(BUILD)/clang/obj/$(MAIN_SRC:.c=.o): \
    CFLAGS += -DSC_WEB_ROOT_DEFAULT='"$(WEB_ROOT_DEFAULT)"'

$(PROGRAM): $(LIB_OBJ) $(BUILD)/obj/$(MAIN_SRC:.c=.o)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: one Criterion binary, built plainly and with ASan + UBSan.
# The program built with ASan + UBSan, for the end-to-end tests of the daemon.
$(BUILD)/san/sureconnect: $(SAN_OBJ) $(BUILD)/san/$(MAIN_SRC:.c=.o)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# The program built with ThreadSanitizer, for the end-to-end tests that drive the daemon's
# threads hardest (Criterion's own process machinery does not run under TSan, so the unit
# tests do not). A race makes the daemon exit 66, which fails the test that stops it.
TSAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/tsan/%.o)
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:exitcode=66
E2E_TSAN := node --test test/e2e/concurrency.test.mjs test/e2e/queue_recovery.test.mjs \
    test/e2e/queue.test.mjs test/e2e/longpoll.test.mjs test/e2e/events.test.mjs \
    test/e2e/recovery.test.mjs

$(BUILD)/tsan/sureconnect: $(TSAN_OBJ) $(BUILD)/tsan/$(MAIN_SRC:.c=.o)
	$(CC) $(CFLAGS) $(TSAN) -o $@ $^ $(LDLIBS)

test-e2e-tsan: $(BUILD)/tsan/sureconnect $(NODE_DEPS)
	$(TSAN_ENV) SURECONNECT_BIN=$(abspath $(BUILD)/tsan/sureconnect) $(E2E_TSAN)

# The unit tests' concurrency scenarios live in test/race/ (plain C), shared with the
# ThreadSanitizer driver below.
RACE_SCEN := test/race/race_scenarios.c
RACE_HDR  := $(wildcard test/race/*.h)

$(BUILD)/test/unit_tests: $(UNIT_SRC) $(RACE_SCEN) $(LIB_OBJ) $(wildcard test/unit/*.h) $(RACE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itest $(shell pkg-config --cflags $(TESTPKG)) -o $@ $(UNIT_SRC) $(RACE_SCEN) \
	    $(LIB_OBJ) $(LDLIBS) $(shell pkg-config --libs $(TESTPKG))

$(BUILD)/test/unit_tests_san: $(UNIT_SRC) $(RACE_SCEN) $(SAN_OBJ) $(wildcard test/unit/*.h) $(RACE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -Itest $(shell pkg-config --cflags $(TESTPKG)) -o $@ $(UNIT_SRC) \
	    $(RACE_SCEN) $(SAN_OBJ) $(LDLIBS) $(shell pkg-config --libs $(TESTPKG))

# Fuzz targets (fuzz/, docs/FUZZING.md): libFuzzer, always clang, with ASan + UBSan. The
# library is built once more with coverage instrumentation for them.
FUZZ_CC      := clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SRC     := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZERS      := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 4
.SECONDARY: $(FUZZ_OBJ)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_input.h $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

# Each target for FUZZ_SECONDS from a copy of its seed corpus (fuzz/corpus/NAME/); new inputs
# stay in the temporary copy, a crash's input is kept in $(BUILD)/fuzz/crashes/.
fuzz: $(FUZZERS)
	sh scripts/fuzz.sh $(FUZZ_SECONDS) $(BUILD)/fuzz/crashes $(FUZZERS)

test-fuzz: $(FUZZERS)
	sh scripts/fuzz.sh $(FUZZ_TEST_SECONDS) $(BUILD)/fuzz/crashes $(FUZZERS)

# The unit tests' race scenarios (test/race/) in a plain C driver built with ThreadSanitizer
# (Criterion itself does not run under TSan). A race stops it with exit code 66.
$(BUILD)/test/race_tsan: test/race/race_tsan.c $(RACE_SCEN) $(RACE_HDR) test/unit/claim_sampler.h \
    $(TSAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TSAN) -Itest -o $@ test/race/race_tsan.c $(RACE_SCEN) $(TSAN_OBJ) $(LDLIBS)

test-tsan: $(BUILD)/test/race_tsan
	$(TSAN_ENV) $(BUILD)/test/race_tsan

# CLI tests: a Criterion binary that runs the real program.
$(BUILD)/test/cli_tests: $(CLI_SRC) $(PROGRAM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags $(TESTPKG)) -o $@ $(CLI_SRC) \
	    $(LDLIBS) $(shell pkg-config --libs $(TESTPKG))

$(BUILD)/bench/%: bench/%.c $(wildcard bench/include/*.h) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench/include -o $@ $< $(LIB_OBJ) $(LDLIBS)

$(BUILD)/tools/areacode_gen: tools/areacode_gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) -o $@ $<

SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1

test-unit: $(BUILD)/test/unit_tests
	$(BUILD)/test/unit_tests --jobs 2

test-unit-san: $(BUILD)/test/unit_tests_san
	$(SAN_ENV) $(BUILD)/test/unit_tests_san --jobs 2

test-cli: $(BUILD)/test/cli_tests $(PROGRAM)
	SURECONNECT_BIN=$(abspath $(PROGRAM)) $(BUILD)/test/cli_tests --jobs 2

# End-to-end tests: node's test runner starts the real daemon on temporary databases.
E2E := node --test test/e2e/
NODE_DEPS := node_modules/.package-lock.json

# The e2e tests' npm packages, exactly as locked (make deps does the same on a new machine).
$(NODE_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund

# The npm packages the web pages use, copied from the locked versions into web/vendor/
# (committed, so the pages need no build step; docs/WEB.md).
vendor: $(NODE_DEPS)
	sh scripts/vendor_web.sh

test-e2e: $(PROGRAM) $(NODE_DEPS)
	SURECONNECT_BIN=$(abspath $(PROGRAM)) $(E2E)

test-e2e-san: $(BUILD)/san/sureconnect $(NODE_DEPS)
	$(SAN_ENV) SURECONNECT_BIN=$(abspath $(BUILD)/san/sureconnect) $(E2E)

# Load and crash tests (docs/TESTING.md): concurrent callers and changing agents with the
# invariants checked throughout; the same while the daemon is killed with SIGKILL and
# restarted. make test runs both briefly (at once, LOAD_SECONDS and CRASH_SECONDS of 30);
# test-load runs them one after the other for minutes (override on the command line:
# make test-load LOAD_SECONDS=600 CRASH_SECONDS=600 CRASH_KILLS=20).
LOAD_SECONDS  ?= 120
CRASH_SECONDS ?= 120
CRASH_KILLS   ?= 5
LOAD_SHORT := LOAD_SECONDS=30 CRASH_SECONDS=30 CRASH_KILLS=3 node --test --test-concurrency=2 test/load/

test-load: $(PROGRAM)
	SURECONNECT_BIN=$(abspath $(PROGRAM)) LOAD_SECONDS=$(LOAD_SECONDS) CRASH_SECONDS=$(CRASH_SECONDS) \
	    CRASH_KILLS=$(CRASH_KILLS) node --test --test-concurrency=1 test/load/

# Browser tests: the web pages in Debian's headless Chromium (playwright-core), against the
# plain daemon; screenshots go to build/screenshots/ (docs/WEB.md).
BROWSER := node --test --test-concurrency=1 test/browser/

test-browser: $(PROGRAM) $(NODE_DEPS)
	SURECONNECT_BIN=$(abspath $(PROGRAM)) $(BROWSER)

# The store's unit tests and the end-to-end tests against PostgreSQL: scripts/with_pg.sh
# starts a throwaway cluster (initdb into a temporary folder, its own Unix socket folder) and
# removes it afterwards. Only the suites that touch the store run again: the unit suites
# store*, queue, recovery and route_writer, and every end-to-end file but those that test
# no storage behaviour (Discord alerts' delivery, static web files, the vendored SDK). docs/POSTGRES.md says what runs where.
WITH_PG     := sh scripts/with_pg.sh
PG_FILTER   := --filter '@(store*|queue|recovery|route_writer)/*'
E2E_PG_SKIP := alerts web_files vendor
E2E_PG      := node --test $(filter-out $(E2E_PG_SKIP:%=test/e2e/%.test.mjs),$(sort $(wildcard test/e2e/*.test.mjs)))
# Within `make test` the PostgreSQL end-to-end pass is split: the file with a throughput
# threshold (32 clients must connect enough calls in 3 s) runs alone, the others in the
# background beside the unit suites.
E2E_PG_ALONE := test/e2e/concurrency.test.mjs
E2E_PG_BESIDE := $(filter-out $(E2E_PG_ALONE),$(E2E_PG))

test-unit-pg: $(BUILD)/test/unit_tests
	$(WITH_PG) $(BUILD)/test/unit_tests --jobs 2 $(PG_FILTER)

test-e2e-pg: $(PROGRAM) $(NODE_DEPS)
	$(WITH_PG) env SURECONNECT_BIN=$(abspath $(PROGRAM)) $(E2E_PG)

# The program also builds warning-free with the other compiler.
build-clang:
	$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/clang $(BUILD)/clang/sureconnect

# Every suite, then one closing line: "N passed, N failed", with each suite's wall time. The
# PostgreSQL end-to-end pass (plain build) runs in the background beside the unit and CLI
# suites, up to "wait": it spends most of its time waiting on the daemons and the database
# server. Its throughput-sensitive file runs alone after it; then the SQLite end-to-end
# suites against the plain and the ASan+UBSan daemon run beside each other (each file runs
# its own daemon on its own port and database, and most of their time is spent waiting for
# timeouts), then the rest, one at a time. The store's unit tests run on PostgreSQL once,
# under ASan+UBSan.
test: all build-clang $(BUILD)/test/unit_tests $(BUILD)/test/unit_tests_san $(BUILD)/test/cli_tests \
      $(BUILD)/san/sureconnect $(BUILD)/tsan/sureconnect $(BUILD)/test/race_tsan $(FUZZERS) $(NODE_DEPS)
	@sh scripts/run_suites.sh \
	    "e2e-pg&=$(WITH_PG) env SURECONNECT_BIN=$(abspath $(PROGRAM)) $(E2E_PG_BESIDE)" \
	    "unit=$(BUILD)/test/unit_tests --jobs 2" \
	    "unit-asan-ubsan=$(SAN_ENV) $(BUILD)/test/unit_tests_san --jobs 2" \
	    "unit-tsan=$(TSAN_ENV) $(BUILD)/test/race_tsan" \
	    "fuzz=sh scripts/fuzz.sh $(FUZZ_TEST_SECONDS) $(BUILD)/fuzz/crashes $(FUZZERS)" \
	    "unit-pg-asan-ubsan=$(WITH_PG) env $(SAN_ENV) $(BUILD)/test/unit_tests_san --jobs 2 $(PG_FILTER)" \
	    "cli=SURECONNECT_BIN=$(abspath $(PROGRAM)) $(BUILD)/test/cli_tests --jobs 2" \
	    wait \
	    "e2e-pg-alone=$(WITH_PG) env SURECONNECT_BIN=$(abspath $(PROGRAM)) node --test $(E2E_PG_ALONE)" \
	    "e2e&=SURECONNECT_BIN=$(abspath $(PROGRAM)) $(E2E)" \
	    "e2e-asan-ubsan=$(SAN_ENV) SURECONNECT_BIN=$(abspath $(BUILD)/san/sureconnect) $(E2E)" \
	    wait \
	    "e2e-tsan=$(TSAN_ENV) SURECONNECT_BIN=$(abspath $(BUILD)/tsan/sureconnect) $(E2E_TSAN)" \
	    "load-crash=SURECONNECT_BIN=$(abspath $(PROGRAM)) $(LOAD_SHORT)" \
	    "browser=SURECONNECT_BIN=$(abspath $(PROGRAM)) $(BROWSER)"

# Every benchmark, then one table of their medians (scripts/bench_table.sh). bench_http,
# bench_pg and bench_memory start the daemon (build/sureconnect) on temporary databases and
# loopback; bench_pg also starts a throwaway PostgreSQL cluster (scripts/pg_test_cluster.sh).
BENCH_LOG := $(BUILD)/bench/results.log
bench: $(BENCHES) $(PROGRAM) $(NODE_DEPS)
	@mkdir -p $(dir $(BENCH_LOG)) && : > $(BENCH_LOG)
	@for b in $(BENCHES) "node bench/bench_memory.mjs"; do echo "== $$b"; \
	    { SURECONNECT_BIN=$(abspath $(PROGRAM)) sh -c "$$b" || echo "FAILED: $$b"; } | tee -a $(BENCH_LOG); \
	    if grep -q '^FAILED: ' $(BENCH_LOG); then exit 1; fi; done
	@sh scripts/bench_table.sh $(BENCH_LOG)

# Regenerates the committed area code table from a NANPA report.
areacodes: $(BUILD)/tools/areacode_gen
	$(BUILD)/tools/areacode_gen $(NANPA_REPORT) > src/core/areacode_table.c.tmp
	mv src/core/areacode_table.c.tmp src/core/areacode_table.c

# Builds, prepares the demo database, creates an admin key and serves the API on
# 127.0.0.1:8080, printing the key and a curl command that routes a call.
run: $(PROGRAM)
	@sh scripts/serve_demo.sh $(PROGRAM) $(DB)

# Builds, prepares the demo database and routes a few sample calls with their traces (CLI).
demo: $(PROGRAM)
	@sh scripts/demo.sh $(PROGRAM) $(DB)

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h test/*/*.c test/*/*.h bench/*.c tools/*.c tools/*.h)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
