# The two commands of the README:
#   make demo   install everything and run the offline demo into demo-out/
#   make test   install everything and run ruff, mypy and the test suite (SQLite + PostgreSQL + Chromium)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= demo-out

.PHONY: install system-deps demo test lint bench screenshots clean

$(BIN)/digest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/digest

install: $(BIN)/digest

# Debian's Chromium for the browser tests, dovecot for the IMAP bounces test; PostgreSQL
# must be up for the database tests.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; }
	@test -x /usr/sbin/dovecot || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "dovecot is missing: sudo apt-get install dovecot-imapd" >&2; exit 1; fi; }
	@test -f .cache/axe/node_modules/axe-core/axe.min.js || { \
	  command -v npm >/dev/null 2>&1 || { echo "npm is missing (for axe-core): apt-get install npm" >&2; exit 1; }; \
	  mkdir -p .cache/axe && npm install --silent --prefix .cache/axe axe-core@4 >/dev/null; }
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  command -v pg_ctlcluster >/dev/null 2>&1 && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }; }

demo: install
	$(BIN)/digest demo --out $(OUT)

lint: install
	$(BIN)/ruff check digest tests bench
	$(BIN)/ruff format --check digest tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# axe-core (npm) checks the site's accessibility in the browser tests. pytest-xdist (dev
# extra) runs the test files on every core; each file stays on one worker, so a module's
# browser, built site and servers are set up once. Every worker has its own temp dirs,
# PostgreSQL database and loopback ports. `PYTEST_WORKERS=0 make test` runs it serially.
PYTEST_WORKERS ?= auto
test: install system-deps lint
	DIGEST_AXE_JS=$(CURDIR)/.cache/axe/node_modules/axe-core/axe.min.js $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

screenshots: install
	$(BIN)/digest demo --out $(OUT) >/dev/null
	$(BIN)/digest screenshots --site $(OUT)/site --emails $(OUT)/emails --out $(OUT)/screenshots

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
