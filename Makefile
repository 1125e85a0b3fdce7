# Two commands do everything on a fresh machine: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint bench test-scale screenshots clean chromium oidc-provider pdf-libs wrk

# The environment is rebuilt whenever pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP) pdf-libs
	$(BIN)/mobility db upgrade
	$(BIN)/mobility up

# The browser tests drive Debian's Chromium; install it when we can (root), else they skip
# (fail, under CI=true).
chromium:
	@test -x /usr/bin/chromium || [ "$$(id -u)" != 0 ] || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "note: chromium could not be installed; the browser tests will be skipped (under CI=true they fail)"

# The board's sign-in tests run a real OpenID Connect provider (npm oidc-provider) on node;
# install it from the lock file when we can, else those tests skip (fail under CI=true).
OIDC := tests/board/oidc
oidc-provider:
	@command -v npm >/dev/null || { echo "note: npm is missing; the board's sign-in tests will be skipped"; exit 0; }; \
	test $(OIDC)/node_modules/.installed -nt $(OIDC)/package-lock.json || \
		{ cd $(OIDC) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; }

# The agreement's PDF/A is rendered by WeasyPrint, which needs Pango, HarfBuzz and fonts from
# Debian (its own wheel carries none); install them when we can (root), else say what is missing.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core
pdf-libs:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; } || \
		echo "note: install $(PDF_PACKAGES) (Debian) for the agreement PDFs"

# The import contracts (pyproject.toml, [tool.importlinter]) first: a broken layer fails the suite.
test: $(STAMP) chromium oidc-provider pdf-libs
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The link-page benchmark loads the server with Debian's wrk; install it when we can (root),
# else that benchmark prints a row saying why and the run exits non-zero.
wrk:
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
		echo "note: wrk could not be installed; the link-page benchmark will say so and fail"

bench: $(STAMP) wrk
	$(BIN)/python -m bench

# The Prefect console after half an hour of `mobility up`, shot in Chromium: docs/prefect-*.png.
screenshots: $(STAMP) chromium
	$(BIN)/python docs/screenshots.py

test-scale: $(STAMP)
	$(BIN)/python -m pytest -m scale -s tests/scale

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(OIDC)/node_modules
