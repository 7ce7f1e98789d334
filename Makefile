# Weir. `make run` starts one node with embedded defaults; `make test` runs the suite.
# Both install what is missing first (see scripts/install-deps.sh).

SWIFT ?= swift
ARGS ?=

.PHONY: deps build release run cluster cluster-stop test chaos fuzz bench sim screenshots clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product weir
	$(SWIFT) build -c release --product clusterctl
	$(SWIFT) build -c release --product mockllm

# One node: data in ./weir-data, HTTP on 127.0.0.1:8080, peers on 127.0.0.1:7080. With no
# provider key in the environment, mockllm on 127.0.0.1:9999 stands in (scripts/run-demo.sh).
# Extra flags go through ARGS, e.g. make run ARGS="--http-port 9090".
run: release
	@scripts/run-demo.sh $(ARGS)

# Three nodes n1 n2 n3 (HTTP 127.0.0.1:8081-8083) behind haproxy on 127.0.0.1:8080, state
# in ./.cluster (the super-admin token in .cluster/admin.token). See deploy/local-cluster.sh.
cluster: release
	@deploy/local-cluster.sh start

cluster-stop:
	@deploy/local-cluster.sh stop

# One debug build for everything, tests that start processes included. Tests run one
# at a time: several start real weir processes and one checks a 2 s failover bound, which
# CPU-heavy neighbours (the 300-seed simulation) would skew on two cores.
test: deps
	@scripts/python-env.sh
	$(SWIFT) build --build-tests
	WEIR_PYTHON=$(CURDIR)/.venv/bin/python $(SWIFT) test --skip-build --no-parallel
	.venv/bin/python -m pytest -q -p no:cacheprovider chaos/test_linearizable.py chaos/test_checks.py
	.venv/bin/python chaos/run.py --seed $(CHAOS_TEST_SEED) --duration 60 --skip-without-root --kinds $(CHAOS_TEST_KINDS)

# The chaos harness (chaos/, docs/reliability.md): real nodes in network namespaces under a
# seeded schedule of kills, pauses and partitions, with a linearizability checker on policy
# and a cap checker on quota. Needs root. make chaos SEEDS=20 DURATION=180 CHAOS_START=1000
# (KINDS=kill,pause,… draws from those fault kinds only);
# `make test` runs one 60 s schedule (CHAOS_TEST_SEED, CHAOS_TEST_KINDS) on the debug build.
CHAOS_SEEDS = $(if $(filter command line environment,$(origin SEEDS)),$(SEEDS),5)
DURATION ?= 120
CHAOS_START ?= 1
CHAOS_TEST_SEED ?= 173
CHAOS_TEST_KINDS ?= kill,pause,isolate,isolate-leader,split,bridge,one-way,drain-rejoin,remove-rejoin,disk-fail
chaos: deps
	@scripts/python-env.sh
	$(SWIFT) build -c release --product weir
	$(SWIFT) build -c release --product mockllm
	.venv/bin/python chaos/run.py --build release --seed $(CHAOS_START) --runs $(CHAOS_SEEDS) --duration $(DURATION) $(if $(KINDS),--kinds $(KINDS))

# Long hostile-input runs: libFuzzer over every decoder of peer, disk and client bytes for
# FUZZ_TARGET_SECONDS each (scripts/fuzz.sh, an instrumented build in .build-fuzz), then,
# against real nodes (the debug build), schemathesis over every operation of /openapi.json
# for FUZZ_SECONDS and the seeded hostile-input test with FUZZ_CASES cases. `make test`
# replays the fuzz corpus and runs the other two briefly. See docs/reliability.md.
FUZZ_SECONDS ?= 600
FUZZ_CASES ?= 5000
FUZZ_TARGET_SECONDS ?= 60
fuzz: deps
	@scripts/python-env.sh
	FUZZ_TARGET_SECONDS=$(FUZZ_TARGET_SECONDS) scripts/fuzz.sh
	$(SWIFT) build --build-tests
	WEIR_PYTHON=$(CURDIR)/.venv/bin/python WEIR_SCHEMATHESIS_SECONDS=$(FUZZ_SECONDS) WEIR_HOSTILE_CASES=$(FUZZ_CASES) \
		$(SWIFT) test --skip-build --no-parallel --filter 'SchemathesisTests|HostileInputTests'

# Screenshots of each console page, from the browser test, into docs/screenshots/.
screenshots: deps
	@scripts/python-env.sh
	$(SWIFT) build --build-tests
	WEIR_PYTHON=$(CURDIR)/.venv/bin/python WEIR_SCREENSHOTS=$(CURDIR)/docs/screenshots $(SWIFT) test --skip-build --filter ConsoleBrowserTests

# Benchmarks build release; figures are ratios against a baseline from the same run.
bench: deps
	$(SWIFT) build -c release --product weir
	$(SWIFT) build -c release --product weir-bench
	.build/release/weir-bench raft
	.build/release/weir-bench quota
	.build/release/weir-bench gossip
	.build/release/weir-bench gateway --seconds 20
	.build/release/weir-bench cpu
	.build/release/weir-bench streams
	.build/release/weir-bench observe
	.build/release/weir-bench policy

# The fault simulations over many seeds (the suite runs a few hundred of each). SIM_START
# moves every sweep elsewhere (make sim SIM_START=4000000001): nothing may hold only on the
# seeds it was tried on. The last two runs (about 4 minutes each) are long enough for hour
# windows to roll over.
SEEDS ?= 10000
QUOTA_SEEDS ?= 2000
SIM_START ?= 1
sim: deps
	$(SWIFT) build -c release --product weir-sim
	.build/release/weir-sim raft --seeds $(SEEDS) --start $(SIM_START)
	.build/release/weir-sim quota --seeds $(QUOTA_SEEDS) --start $(SIM_START)
	.build/release/weir-sim quota --seeds $(QUOTA_SEEDS) --start $(SIM_START) --pooled
	.build/release/weir-sim quota --seeds 400 --start $(SIM_START) --pooled --healthy-only
	.build/release/weir-sim quota --seeds 1 --start $(SIM_START) --safety-milliseconds 3700000
	.build/release/weir-sim quota --seeds 1 --start $(SIM_START) --safety-milliseconds 3700000 --pooled

clean:
	rm -rf .build
