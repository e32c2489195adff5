# Two commands do everything on a fresh clone:
#   make build   regenerate the assignment (student notebook + autograder), with proof it grades right
#   make test    lint and run the whole test suite (make test-fast: lint and the fast tier)
# Both create or reuse the virtual environment .venv first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, on its own: these releases are the ones this project is tested with.
# Override for another platform, e.g.  make TORCH_SPEC="torch torchvision" build
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

# System packages: bubblewrap isolates each graded notebook; chromium runs the browser test.
SYSTEM_PACKAGES := bubblewrap chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: build test test-fast system reference benchmark clean

system:
	@command -v bwrap >/dev/null && command -v chromium >/dev/null || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y $(SYSTEM_PACKAGES); }

# Install only when what would be installed changed: pyproject.toml's dependency lists or the
# torch pin, named by their checksum (a fresh clone's newer pyproject.toml is no reason to
# download torch again; any other edit of it neither).
REQUIREMENTS := $(shell { sed -n '/^dependencies/,/^]/p;/^\[project.optional-dependencies\]/,/^$$/p' \
	pyproject.toml; echo '$(TORCH_SPEC)'; } | cksum | cut -d' ' -f1)
INSTALLED := $(VENV)/.installed-$(REQUIREMENTS)

$(BIN)/aelab: | $(INSTALLED)

$(INSTALLED):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

build: system $(BIN)/aelab
	$(BIN)/aelab build

test: system $(BIN)/aelab
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest

test-fast: $(BIN)/aelab
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest -m "not slow"

reference: $(BIN)/aelab
	$(BIN)/aelab reference --out out/reference

benchmark: $(BIN)/aelab
	$(BIN)/python benchmarks/training_speed.py

clean:
	rm -rf build out
