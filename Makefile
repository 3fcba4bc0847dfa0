# The two commands of the project (see README.md). Both install what is missing first.
PYTHON := .venv/bin/python

.PHONY: demo test bench up down status contract lint

demo: ## install, start the infrastructure and every service, carry a sample cohort through
	@bash infra/bootstrap.sh
	@$(PYTHON) -m infra demo

test: ## install, then run the whole suite against a real Kafka, PostgreSQL and SMTP server
	@bash infra/bootstrap.sh
	@$(PYTHON) -m pytest

bench: ## measure the transport on a fresh stack of its own; figures to bench/results/
	@bash infra/bootstrap.sh
	@$(PYTHON) -m bench

up: ## start PostgreSQL, Kafka and the SMTP server (idempotent)
	@bash infra/bootstrap.sh
	@$(PYTHON) -m infra up

down: ## stop Kafka and the SMTP server
	@$(PYTHON) -m infra down

status:
	@$(PYTHON) -m infra status

contract: ## regenerate events/schemas/*.json and events/asyncapi.json
	@$(PYTHON) -m infra contract

lint:
	@$(PYTHON) -m ruff check . && $(PYTHON) -m ruff format --check . && $(PYTHON) -m lint-imports
