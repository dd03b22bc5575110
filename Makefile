# Tooling for the meshops.istio collection (GNU make).
#
#   make test       the whole suite, in order, stopping at the first failure:
#                   venv unit sanity lint changelog-lint build-check integration molecule
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
# Interpreter that creates .venv.
PYTHON ?= python3
# Python version ansible-test sanity runs with (must be the venv's version).
SANITY_PYTHON ?= 3.11

VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
BUILD_DIR := $(abspath $(BUILD))
# $(COLLECTIONS)/ansible_collections/meshops/istio: a copy of the repository in
# the layout ansible-test and `import ansible_collections...` need, with
# kubernetes.core next to it (see scripts/collection-tree.sh).
COLLECTIONS := $(BUILD_DIR)/collections
TREE := $(COLLECTIONS)/ansible_collections/meshops/istio

# The venv's tools (ansible-test, ansible-galaxy, shellcheck, ...) come first.
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help venv tree unit sanity lint changelog-lint build-check integration molecule demo test clean

help:
	@echo 'make test            whole suite: venv unit sanity lint changelog-lint build-check integration molecule'
	@echo 'make venv            create .venv from requirements*.txt (reruns when they change)'
	@echo 'make unit            pytest tests/unit'
	@echo 'make sanity          ansible-test sanity (no ignore files allowed)'
	@echo 'make lint            ansible-lint --profile production'
	@echo 'make changelog-lint  antsibull-changelog lint'
	@echo 'make build-check     build + install the tarball, ansible-doc every module'
	@echo 'make integration     pytest tests/integration (starts the local lab)'
	@echo 'make molecule        molecule test for every scenario (on the local lab)'
	@echo 'make demo            the walkthrough (playbooks/site.yml) on the local lab, twice'
	@echo 'make clean           remove $(BUILD)/ and tests/output/'

# --- environment -------------------------------------------------------------

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-sanity.txt
	if [[ ! -x "$(PY)" ]]; then $(PYTHON) -m venv "$(VENV)"; fi
	"$(PY)" -m pip install --quiet -r requirements.txt -r requirements-sanity.txt
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

# The walkthrough on the local lab: site.yml twice, the second run must change nothing.
demo: tree
	scripts/demo.sh

# Sequential on purpose (also under -j); stops at the first failure.
test:
	@for t in venv unit sanity lint changelog-lint build-check integration molecule; do \
	  start=$$(date +%s); \
	  echo "==> make $$t"; \
	  $(MAKE) --no-print-directory $$t || { echo "==> make $$t FAILED after $$(( $$(date +%s) - start ))s" >&2; exit 1; }; \
	  echo "==> make $$t passed in $$(( $$(date +%s) - start ))s"; \
	done

clean:
	rm -rf "$(BUILD_DIR)" tests/output
