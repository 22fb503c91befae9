#  Hutong: two commands do all setup on a fresh Debian 12 machine (as root).
#    make run    install what is missing, build, run the demonstration
#    make test   install what is missing, build, run every test: unit
#                tests (also under ASan+UBSan and valgrind), the
#                integration scenarios with the fault suite and the
#                randomized checker (and a set of them under ASan+UBSan
#                and valgrind), every fuzz target for FUZZ_SECONDS
.PHONY: all deps build build-asan build-release build-fuzz run test test-unit test-asan \
        test-integration test-integration-asan test-integration-valgrind test-valgrind \
        fuzz bench clean

JOBS ?= 2
FUZZ_SECONDS ?= 20
#  The scenarios run again under the sanitizers and under valgrind: they
#  drive every service of the node (client writes, replication through
#  four tiers, departments' queries, the Python client, attacks, restore,
#  a full disk, clock skew, kill -9). The rest are timing-bound (bulk
#  loads, rate limits, benchmarks' smoke runs) and run on the optimized
#  build only; valgrind slows a node twenty times and more.
ASAN_SCENARIOS ?= put network departments adversarial python_client python_query \
                  restore diskfull clock fault_kill
VALGRIND_SCENARIOS ?= put python_client departments

all: build

deps:
	./tools/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHT_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)

#  Release (-O3) is built too, so every build type stays warning-free
build-release: deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-release -j$(JOBS)

#  libFuzzer targets (tests/fuzz), with clang, ASan and UBSan
build-fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHT_FUZZ=ON \
	      -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_targets

run: build
	./tools/demo.sh build

test-unit: build
	cd build && ctest --output-on-failure -j$(JOBS) -LE integration

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS) -LE integration

test-integration: build
	./integration/run.sh build

test-integration-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 ./integration/run.sh build-asan $(ASAN_SCENARIOS)

test-integration-valgrind: build
	./integration/run.sh --valgrind build $(VALGRIND_SCENARIOS)

#  Each fuzz target FUZZ_SECONDS over its seed corpus; fails on any crash
fuzz: build-fuzz
	./tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

#  The unit tests under valgrind memcheck (no leaks, no invalid accesses)
test-valgrind: build
	VALGRIND_JOBS=$(JOBS) ./tests/valgrind.sh build

test: test-unit test-asan build-release test-integration test-integration-asan fuzz \
      test-valgrind test-integration-valgrind
	@echo "make test: all suites passed"

bench: build
	./build/tools/hutong bench

clean:
	rm -rf build build-asan build-release build-fuzz
