# macsecd build and test entry points. `make test` runs every tier the
# machine can run: unit and vector tests, simulations, netns tests (as root),
# short fuzzing, and the kernel tests inside the qemu VM lab.

GO        ?= go
BIN       ?= bin
LAB_CACHE ?= /var/cache/macsecd-lab
export MACSECD_LAB_CACHE := $(LAB_CACHE)

.PHONY: all build test test-host test-fuzz test-vm lint bench demo lab lab-shell lab-custom-kernel clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags vmlab ./...

# Host tiers: unit tests, vectors, simulations, netns tests (root).
test-host:
	bash testenv/scripts/gotest.sh ./...

# Each fuzz target runs briefly (FUZZTIME, default 10s).
test-fuzz:
	bash testenv/scripts/fuzz.sh

# Kernel tier: builds the VM lab if needed and runs the vmlab-tagged tests
# inside real kernels.
test-vm: lab lab-custom-kernel
	bash testenv/lab/vmtest.sh

test: lint build test-host test-fuzz test-vm

# Go benchmarks, then the userspace data plane against plain veth, OpenVPN
# and the AF_PACKET ceiling in one run (root; table + PNG under bin/bench).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	GO=$(GO) bash userspace/bench/bench.sh

demo: build
	BIN=$(BIN) bash testenv/scripts/demo.sh

lab:
	bash testenv/lab/build-lab.sh

# Interactive shell in the VM lab (KERNEL=debian-6.12|debian-6.1|custom).
lab-shell: lab
	bash testenv/lab/vmtest.sh --shell $(or $(KERNEL),debian-6.12)

lab-custom-kernel:
	bash testenv/lab/custom-kernel.sh

clean:
	rm -rf $(BIN)
