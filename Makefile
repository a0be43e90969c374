# Two commands do all the setup: `make run` (the cabinet, simulated when no
# hardware is there) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run run-headless test lint bench screenshots clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml hardware/system-packages.txt
	bash scripts/install-system-packages.sh hardware/system-packages.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/kiosk run --sim

run-headless: setup
	$(BIN)/kiosk run --sim --headless

test: setup lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy

bench: setup
	$(BIN)/python -m pytest -m bench -s -n 0
	$(BIN)/python -m benchmarks

screenshots: setup
	SDL_VIDEODRIVER=dummy $(BIN)/python -m kiosk_ui --shots docs/screens
	$(BIN)/python scripts/console_screenshots.py docs/console

clean:
	rm -rf $(VENV) build *.egg-info
