# Local lab targets (included from the top-level Makefile). See lab/README.md.
.PHONY: lab-build lab-up lab-down lab-reset lab-status

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
