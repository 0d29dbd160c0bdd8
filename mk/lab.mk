# The lab: real Debian hosts of the region on this machine (see `regionhus lab --help`).
# It changes namespaces, mounts and routes, so it runs as root (sudo when not root).

LAB_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: lab-up lab-down lab-status lab-wipe

lab-up: venv
	$(LAB_SUDO) $(RH) lab up

lab-down: venv
	$(LAB_SUDO) $(RH) lab down

lab-status: venv
	$(LAB_SUDO) $(RH) lab status

# Down, and delete every host's disk (the next lab-up starts them from the base image).
lab-wipe: venv
	$(LAB_SUDO) $(RH) lab down --wipe
