# Värn: `make run` to try it, `make test` to check it. Both set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench messages lock clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Värn needs Python 3.11 or newer.")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt -c constraints.txt
	@touch $(STAMP)

run: install
	VARN_ENV=development $(BIN)/python manage.py migrate --noinput
	VARN_ENV=development $(BIN)/python manage.py load_demo_data
	@echo "Värn is at http://127.0.0.1:8000/ (Ctrl-C stops it)"
	VARN_ENV=development $(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	@bash .ci/stages.sh

lint: install
	@bash .ci/stages.sh lint

bench: install
	VARN_ENV=test $(BIN)/python benchmarks/run.py

# Refresh the Swedish catalogue after changing strings (needs GNU gettext), then compile it
# with polib so a fresh machine needs no gettext at all.
messages: install
	VARN_ENV=development $(BIN)/python manage.py makemessages --locale sv --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --no-obsolete
	$(BIN)/python security_core/locale/translate_sv.py
	VARN_ENV=development $(BIN)/python -m security_core.i18n_compile

# Re-pin the transitive dependencies after changing pyproject.toml.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
