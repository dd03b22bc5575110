# Tooling for the meshops.istio collection (GNU make).
#
#   make test       the whole suite, in order, stopping at the first failure:
#                   venv unit lab-unit sanity compat lint changelog-lint build-check integration molecule
#   make help       list the targets
#
# Every target sets up what it needs (`make venv` is a prerequisite), so a fresh
# checkout needs only `make test`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Lab targets live in their own file, next to the lab.
-include lab/lab.mk

# Scratch space (gitignored, removed by `make clean`).
BUILD ?= build
# Python version of .venv (the newest ansible-core, requirements.txt) and of
# .venv-min (the oldest ansible-core meta/runtime.yml claims, requirements-min.txt).
# scripts/venv.sh finds the interpreters (pythonX.Y on PATH, else pyenv's; PYTHON
# and MIN_PYTHON, paths to them, override) and recreates a venv on another version.
VENV_PYTHON_VERSION ?= 3.12
MIN_PYTHON_VERSION ?= 3.11
PYTHON ?=
MIN_PYTHON ?=
# Python version ansible-test sanity runs with (must be the venv's version).
SANITY_PYTHON ?= $(VENV_PYTHON_VERSION)
# ansible-test sanity tests of `make compat`: the ones that check the modules
# against the ansible-core in use (docs schema, argument spec, imports, syntax,
# meta/runtime.yml).
COMPAT_SANITY_TESTS ?= validate-modules ansible-doc compile import runtime-metadata

VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
VENV_MIN := $(ROOT)/.venv-min
BUILD_DIR := $(abspath $(BUILD))
# $(COLLECTIONS)/ansible_collections/meshops/istio: a copy of the repository in
# the layout ansible-test and `import ansible_collections...` need, with
# kubernetes.core next to it (see scripts/collection-tree.sh).
COLLECTIONS := $(BUILD_DIR)/collections
TREE := $(COLLECTIONS)/ansible_collections/meshops/istio

# The venv's tools (ansible-test, ansible-galaxy, shellcheck, ...) come first.
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help venv venv-min tree unit sanity compat lint changelog-lint build-check integration molecule demo ee-context bench test clean

help:
	@echo 'make test            whole suite: venv unit lab-unit sanity compat lint changelog-lint build-check integration molecule'
	@echo 'make venv            create .venv (Python $(VENV_PYTHON_VERSION)) from requirements.txt + requirements-sanity.txt (reruns when they change)'
	@echo 'make venv-min        create .venv-min (Python $(MIN_PYTHON_VERSION)) from requirements-min.txt: the oldest ansible-core claimed'
	@echo 'make unit            pytest tests/unit'
	@echo 'make sanity          ansible-test sanity (no ignore files allowed)'
	@echo 'make compat          unit tests + version-dependent sanity tests on the oldest ansible-core claimed (.venv-min)'
	@echo 'make lint            ansible-lint --profile production'
	@echo 'make changelog-lint  antsibull-changelog lint'
	@echo 'make build-check     build + install the tarball, ansible-doc every module'
	@echo 'make integration     pytest tests/integration (starts the local lab)'
	@echo 'make molecule        molecule test for every scenario (on the local lab)'
	@echo 'make demo            the walkthrough (playbooks/site.yml) on the local lab, twice'
	@echo 'make ee-context      the execution environment build context (ansible-builder create) in $(BUILD)/ee/context'
	@echo 'make bench           the benchmarks side by side on the local lab (bench/run.py $$BENCH_ARGS; results in bench/results/)'
	@echo 'make clean           remove $(BUILD)/ and tests/output/'

# --- environment -------------------------------------------------------------

# The stamp names the Python version: a venv made for another version has none,
# so scripts/venv.sh runs and recreates it.
venv: $(VENV)/.installed-py$(VENV_PYTHON_VERSION)

$(VENV)/.installed-py$(VENV_PYTHON_VERSION): requirements.txt requirements-sanity.txt scripts/venv.sh
	PYTHON="$(PYTHON)" scripts/venv.sh "$(VENV)" $(VENV_PYTHON_VERSION) requirements.txt requirements-sanity.txt
	touch "$@"

venv-min: $(VENV_MIN)/.installed-py$(MIN_PYTHON_VERSION)

$(VENV_MIN)/.installed-py$(MIN_PYTHON_VERSION): requirements-min.txt scripts/venv.sh
	PYTHON="$(MIN_PYTHON)" scripts/venv.sh "$(VENV_MIN)" $(MIN_PYTHON_VERSION) requirements-min.txt
	touch "$@"

# Fresh copy of the collection under $(TREE); cheap, so rebuilt on every use.
tree: venv
	@VENV_PYTHON="$(PY)" scripts/collection-tree.sh "$(BUILD_DIR)" >/dev/null

# --- tests -------------------------------------------------------------------

# Runs in the collection tree so `ansible_collections.meshops.istio...` imports
# resolve; PYTHONPATH adds the tree's root while the venv's site-packages (with
# ansible_collections.kubernetes.core) stays on sys.path: ansible_collections is
# a namespace package spanning both. pytest exit code 5 ("no tests collected")
# counts as success only while tests/unit holds no test files.
unit: tree
	@cd "$(TREE)"; \
	if [[ ! -d tests/unit ]]; then echo 'make unit: no tests/unit directory yet'; exit 0; fi; \
	rc=0; PYTHONPATH="$(COLLECTIONS)$${PYTHONPATH:+:$$PYTHONPATH}" "$(VENV)/bin/pytest" -q tests/unit || rc=$$?; \
	if [[ $$rc -eq 5 && -z "$$(find tests/unit \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit)" ]]; then \
	  echo 'make unit: no unit tests under tests/unit yet'; rc=0; \
	fi; \
	exit $$rc

# ansible-test sanity, locally (no containers), with the venv's Python.
# - Runs in the collection tree: ansible-test needs .../ansible_collections/NS/NAME
#   and does not accept a symlink to the repository (it resolves the cwd).
# - ANSIBLE_TEST_CONTENT_ROOT pins the content root to the tree; otherwise
#   ansible-test walks up to the repository's .git and lists the (gitignored)
#   tree's files through git, finding none.
# - kubernetes.core is found through the tree's ansible_collections/kubernetes.
# - ansible-test installs each test's pinned requirements into its own venvs
#   under ~/.ansible/test/venv from the package index; the get-pip.py it would
#   download for those venvs is replaced by scripts/ansible-test-get-pip.py.
# - No test is skipped and tests/sanity/ignore-*.txt files are refused.
sanity: tree
	@if compgen -G 'tests/sanity/ignore-*.txt' >/dev/null; then \
	  echo 'make sanity: tests/sanity/ignore-*.txt is not allowed; fix the code instead' >&2; exit 1; fi
	@"$(PY)" scripts/ansible-test-get-pip.py --install >/dev/null
	cd "$(TREE)" && ANSIBLE_TEST_CONTENT_ROOT="$(TREE)" \
	  ansible-test sanity --local --python $(SANITY_PYTHON) --color no

# The version matrix, cheaply: `make unit` and `make sanity` test the newest
# ansible-core (.venv); this tests the oldest one meta/runtime.yml claims
# (.venv-min, requirements-min.txt, on the oldest Python it supports): the unit
# tests and the sanity tests whose verdict depends on ansible-core's version, in
# a collection tree of its own linked to .venv-min's kubernetes.core.
COMPAT_BUILD := $(BUILD_DIR)/compat
COMPAT_TREE := $(COMPAT_BUILD)/collections/ansible_collections/meshops/istio
compat: venv-min
	@if compgen -G 'tests/sanity/ignore-*.txt' >/dev/null; then \
	  echo 'make compat: tests/sanity/ignore-*.txt is not allowed; fix the code instead' >&2; exit 1; fi
	@VENV_PYTHON="$(VENV_MIN)/bin/python" scripts/collection-tree.sh "$(COMPAT_BUILD)" >/dev/null
	@"$(VENV_MIN)/bin/python" scripts/ansible-test-get-pip.py --install >/dev/null
	@echo "make compat: $$("$(VENV_MIN)/bin/ansible" --version | head -1), Python $(MIN_PYTHON_VERSION)"
	cd "$(COMPAT_TREE)" && PYTHONPATH="$(COMPAT_BUILD)/collections$${PYTHONPATH:+:$$PYTHONPATH}" \
	  "$(VENV_MIN)/bin/pytest" -q -p no:cacheprovider tests/unit
	cd "$(COMPAT_TREE)" && PATH="$(VENV_MIN)/bin:$$PATH" ANSIBLE_TEST_CONTENT_ROOT="$(COMPAT_TREE)" \
	  ansible-test sanity --local --python $(MIN_PYTHON_VERSION) --color no $(addprefix --test ,$(COMPAT_SANITY_TESTS))

# ansible-lint for the content; shellcheck for the scripts that do not ship (the lab, the
# tooling, the demo app), which ansible-test sanity does not see.
lint: tree
	ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" ansible-lint --profile production
	shellcheck -x $$(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run)

changelog-lint: venv
	antsibull-changelog lint

build-check: venv
	scripts/build-check.sh "$(BUILD_DIR)/build-check"

# Integration tests against the local lab (tests/integration/conftest.py starts it,
# building what is missing), or against MESHOPS_KUBECONFIG's cluster.
integration: tree
	"$(VENV)/bin/pytest" -q -rs -p no:cacheprovider tests/integration

# Molecule scenarios of the roles, on the same lab (molecule/resources/prepare.yml).
molecule: tree
	cd "$(ROOT)" && for s in $$(ls molecule | grep -v '^resources$$'); do \
	  echo "==> molecule test -s $$s"; "$(VENV)/bin/molecule" test -s "$$s"; done

# The execution environment's build context (ansible-builder create, no container build) in
# $(BUILD)/ee/context, with the collection's tarball; `ansible-builder build` then needs podman or docker.
ee-context: tree
	rm -rf "$(BUILD_DIR)/ee" && mkdir -p "$(BUILD_DIR)/ee"
	ansible-galaxy collection build --force --output-path "$(BUILD_DIR)/ee" "$(TREE)" >/dev/null
	mv "$(BUILD_DIR)"/ee/meshops-istio-*.tar.gz "$(BUILD_DIR)/ee/meshops-istio.tar.gz"
	ansible-builder create -f execution-environment.yml -c "$(BUILD_DIR)/ee/context" --output-filename Containerfile

# The walkthrough on the local lab: site.yml twice, the second run must change nothing.
demo: tree
	COLLECTIONS="$(COLLECTIONS)" scripts/demo.sh

# Benchmarks on the local lab, side by side in one run (bench/run.py; BENCH_ARGS='--only policy', say).
# They measure and never assert; the results go to bench/results/.
bench: venv
	"$(PY)" bench/run.py $(BENCH_ARGS)

# Sequential on purpose (also under -j); stops at the first failure.
test:
	@for t in venv unit lab-unit sanity compat lint changelog-lint build-check integration molecule; do \
	  start=$$(date +%s); \
	  echo "==> make $$t"; \
	  $(MAKE) --no-print-directory $$t || { echo "==> make $$t FAILED after $$(( $$(date +%s) - start ))s" >&2; exit 1; }; \
	  echo "==> make $$t passed in $$(( $$(date +%s) - start ))s"; \
	done

clean:
	rm -rf "$(BUILD_DIR)" tests/output
