# NetBox as the source of truth (see `regionhus netbox --help`).
# A real NetBox 4.7 in its own venv, PostgreSQL and Redis from Debian, on 127.0.0.1.

.PHONY: netbox-up netbox-down netbox-status netbox-seed netbox-check netbox-test netbox-bench

netbox-up: venv
	$(RH) netbox up

netbox-down: venv
	$(RH) netbox down

netbox-status: venv
	$(RH) netbox status

netbox-seed: netbox-up
	$(RH) netbox seed

netbox-check: venv
	$(RH) netbox check

# The live NetBox tests alone (they start the `test` instance themselves).
netbox-test: venv
	$(VENV)/bin/pytest -ra -m netbox tests/netbox

# National scale (357 municipalities, 3,570 VMs) on the `bench` instance: minutes of
# seeding, so never part of `make test`. Figures go to bench/netbox-results.json.
netbox-bench: venv
	$(PY) bench/netbox_bench.py --reset
