# Two commands do everything on a fresh clone:
#   make build   regenerate the assignment (student notebook + autograder), with proof it grades right
#   make test    lint and run the whole test suite
# Both create or reuse the virtual environment .venv first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, on its own: these releases are the ones this project is tested with.
# Override for another platform, e.g.  make TORCH_SPEC="torch torchvision" build
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: build test reference benchmark clean

$(BIN)/aelab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

build: $(BIN)/aelab
	$(BIN)/aelab build

test: $(BIN)/aelab
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

reference: $(BIN)/aelab
	$(BIN)/aelab reference --out out/reference

benchmark: $(BIN)/aelab
	$(BIN)/python benchmarks/training_speed.py

clean:
	rm -rf build out
