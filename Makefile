# Everything a fresh machine needs: `make run` for the demo, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean translations screenshots

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The schema first (docs/operations.md, "Schema migrations"): creates instance/panel.sqlite3, or upgrades it in place.
run: $(STAMP)
	$(BIN)/flask --app app db upgrade
	$(BIN)/python -m panel.serve

# First the import contracts (pyproject.toml, [tool.importlinter]: no cycles, no Flask in the Salesforce boundary,
# no package importing another's views). Then the whole suite on the default configuration (SQLite, in-process
# cache, queue in memory), then every test of the panel again on the scale-out one: PostgreSQL and Redis
# (tests/conftest.py; skipped, saying why, without them).
# Run once: the local org's own tests, the contract suite, the tests that always use PostgreSQL and Redis, and the
# browser tests (their live panel keeps its own SQLite file).
SCALEOUT_PASS := --ignore=tests/localorg --ignore=tests/contract --ignore=tests/scaleout --ignore=tests/test_soak.py \
	--ignore=tests/browser

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	PANEL_TEST_CONFIG=scaleout $(BIN)/python -m pytest $(or $(PYTEST_ARGS),$(SCALEOUT_PASS))

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Developers: after adding or changing a text in the code or templates. Extracts every message, merges it into the
# Japanese and English catalogs, fills the English one from the ids, and compiles both (the .mo files are committed).
# Then translate the new Japanese entries (msgstr "") and run it again; tests/test_languages.py fails until every
# entry is translated and compiled. See docs/languages.md.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --sort-by-file \
		--add-location=file -w 120 --project=salesforce-contact-panel -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations -w 120 --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m panel.i18n fill-english
	$(BIN)/pybabel compile --statistics -d translations

# The PNGs docs/embedding.md shows: every panel state, desktop sidebar and 360 px, Japanese and English (needs
# chromium, chromium-driver and a Japanese font such as fonts-noto-cjk).
screenshots: $(STAMP)
	PANEL_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
