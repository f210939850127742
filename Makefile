# The two README commands. Each installs what it needs (scripts/bootstrap.sh) on first use.
.PHONY: run test lint bench cluster

run:  ## Run the product: demo data, bot against the sandbox (or real tokens), console.
	scripts/run.sh

test:  ## Lint, type-check and run the whole test suite.
	scripts/test.sh

bench:  ## Print the benchmark figures (not part of the test suite).
	scripts/bootstrap.sh && .venv/bin/python -m benchmarks

cluster:  ## The production shape on this machine: HAProxy, 3 webhook workers, console, sender.
	scripts/cluster.sh
