#  Hutong: two commands do all setup on a fresh Debian 12 machine (as root).
#    make run    install what is missing, build, run the demonstration
#    make test   install what is missing, build, run every test
#                (unit tests, the same under ASan+UBSan, integration)
.PHONY: all deps build build-asan build-release run test test-unit test-asan test-integration bench clean

JOBS ?= 2

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

run: build
	./tools/demo.sh build

test-unit: build
	cd build && ctest --output-on-failure -j$(JOBS) -LE integration

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS) -LE integration

test-integration: build
	./integration/run.sh build

test: test-unit test-asan build-release test-integration
	@echo "make test: all suites passed"

bench: build
	./build/tools/hutong bench

clean:
	rm -rf build build-asan build-release
