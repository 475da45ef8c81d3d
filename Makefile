# Neurite: the front door. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# Node.js 22 (what the image ships). When the system's Node is older,
# scripts/ensure-node.sh installs the official binary from the npm registry
# into .tools/node and everything below uses it.
NODE_DIR := $(shell scripts/ensure-node.sh)
ifneq ($(NODE_DIR),)
export PATH := $(NODE_DIR):$(PATH)
# Native addons built by npm must use Node 22's headers, not the system's.
export npm_config_nodedir := $(abspath $(NODE_DIR)/..)
endif

DATA_DIR ?= ./data
SOURCES := $(shell find src -name '*.ts' -not -path 'src/generated/*') $(shell find src -name '*.css') package.json rollup.config.js
SPEC_API := $(shell find spec/matrix-v1.19/api -name '*.yaml')
GENERATED := src/generated/validators.js

.PHONY: build run test typecheck bench clean deps check-image image flash release

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	# tap compiles its runner for the plugins .taprc names (tsx instead of ts-node).
	npx tap build
	@touch $@

deps: node_modules/.installed

# Request validators compiled from the spec's OpenAPI files.
$(GENERATED): node_modules/.installed scripts/build-validators.ts $(SPEC_API)
	node --import tsx scripts/build-validators.ts

dist/neurite.js: node_modules/.installed $(GENERATED) $(SOURCES)
	npx rollup -c rollup.config.js --silent
	@touch $@

# The memory addon (glibc's malloc_trim, which Node cannot call), for this machine.
dist/native/memory.node: node_modules/.installed src/platform/memory/release.c scripts/build-native.ts
	node --import tsx scripts/build-native.ts --out $@

build: dist/neurite.js dist/native/memory.node

typecheck: node_modules/.installed $(GENERATED)
	npx tsc --noEmit -p .
	npx tsc --noEmit -p src/components/setup/web

# The main job on the embedded default: ./data on this machine. A fresh
# ./data starts in setup mode (the wizard's URL and setup code are printed);
# the wizard then starts the homeserver. SETUP_PORT/BIND apply until then.
SETUP_PORT ?= 8080
BIND ?= 127.0.0.1
run: build
	node dist/neurite.js start --data-dir "$(DATA_DIR)" --setup-port $(SETUP_PORT) --bind $(BIND)

test: build typecheck
	npx tap
	$(MAKE) check-image

# The image and update checks (genimage, RAUC, QEMU, update and rollback); see scripts/check-image.sh.
check-image: build
	scripts/check-image.sh

# The SD-card image for a board (rpi4, rpi5, rpi3) with Buildroot; see README.md.
BOARD ?= rpi4
image: build
	scripts/build-image.sh $(BOARD)

# Writes an image to a card: make flash DEVICE=/dev/sdX [IMAGE=...]
flash:
	scripts/flash.sh "$(DEVICE)" $(IMAGE)

# A signed release: make release VERSION=x.y.z (see README.md for the keys)
release: build
	scripts/release.sh "$(VERSION)"

bench: build
	node --import tsx scripts/bench/run.ts

clean:
	rm -rf dist .tap coverage .bench src/generated build/image-check
