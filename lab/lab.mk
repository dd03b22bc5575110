# Local lab targets (included from the top-level Makefile). See lab/README.md.
.PHONY: lab-build lab-up lab-down lab-reset lab-status

# LAB_NAME=b: another lab (a cluster of its own, in .lab-b/, on free ports with its own pod range),
# for example for a second cluster of the walkthrough: make lab-up LAB_NAME=b, then .lab-b/kubeconfig.
LAB_NAME ?=
export LAB_NAME

lab-build:
	lab/build.sh

lab-up:
	lab/lab.sh up

lab-down:
	lab/lab.sh down

lab-reset:
	lab/lab.sh reset

lab-status:
	lab/lab.sh status

# The data plane (lab/dataplane.py): `make lab-dataplane-up DATAPLANE_NS=demo` starts echo v1/v2
# and a client in namespace demo (the lab must be up); DATAPLANE_SPEC=file.json for another spec.
DATAPLANE_NS ?= dataplane
DATAPLANE_SPEC ?=
.PHONY: lab-dataplane-up lab-dataplane-down lab-dataplane-status

lab-dataplane-up: lab-up
	lab/lab.sh dataplane up $(DATAPLANE_NS) $(if $(DATAPLANE_SPEC),--spec $(DATAPLANE_SPEC))

lab-dataplane-down:
	lab/lab.sh dataplane down $(DATAPLANE_NS)

lab-dataplane-status:
	lab/lab.sh dataplane status

# Unit tests of the lab's own programs (the data plane's Go workloads), and the check that the committed
# schema of Istio's MeshConfig and values (plugins/module_utils/istio_api.py) is what scripts/istio-schema.py
# makes from the pinned Istio's sources (downloaded into the Go module cache if the lab build has not yet),
# and the generator's own tests.
.PHONY: lab-unit
lab-unit:
	cd lab/go/dataplane && GOTOOLCHAIN=local go vet ./... && GOTOOLCHAIN=local go test ./...
	cd lab/go/istio && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download istio.io/api istio.io/istio
	python3 scripts/istio-schema.py --check
	.venv/bin/pytest -q -p no:cacheprovider scripts/tests
