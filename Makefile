# Two commands do everything on a fresh clone:
#   make build   regenerate the assignment (student notebook + autograder), with proof it grades right
#                (BUILD_ARGS="--out DIR" for another output folder)
#   make test    lint and run the whole test suite (make test-fast: lint and the fast tier)
# Both create or reuse the virtual environment .venv first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, on its own: these releases are the ones this project is tested with.
# Override for another platform, e.g.  make TORCH_SPEC="torch torchvision" build
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

# System packages: bubblewrap isolates each graded notebook on Linux (aelab grade); chromium
# runs the browser test. apt-get installs what is missing on Debian/Ubuntu only; elsewhere
# (macOS, Windows, other Linux) `system` says what is missing and whether it matters, and goes on.
APT_GET ?= $(if $(wildcard /etc/debian_version),$(shell command -v apt-get))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The image `aelab grade --docker` runs each notebook in (docker/Dockerfile); extra
# `docker build` flags in DOCKER_BUILD_ARGS, e.g. --build-arg BASE=aelab-debian:bookworm
IMAGE ?= aelab-grader
DOCKER_BUILD_ARGS ?=

.PHONY: build test test-fast test-docker system docker-image docker-base reference benchmark clean

system:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ -n "$(APT_GET)" ]; then \
		$(SUDO) $(APT_GET) update && $(SUDO) $(APT_GET) install -y $$missing; exit; fi; \
	for package in $$missing; do case $$package in \
		bubblewrap) echo "Not installed: bubblewrap. make build does not need it (its proof" \
			"grades only your own master, unsandboxed); aelab grade does on Linux, or grade" \
			"with --docker $(IMAGE) (make docker-image), as on macOS and Windows.";; \
		chromium) echo "Not installed: chromium. Only make test's browser test needs it" \
			"(tests/test_student_browser.py fails without it).";; \
	esac; done

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
	$(BIN)/aelab build $(BUILD_ARGS)

test: system $(BIN)/aelab
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest

test-fast: $(BIN)/aelab
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest -m "not slow"

# The grading image, built by the engine from docker/Dockerfile (PyPI and PyTorch's CPU wheels).
docker-image:
	docker build -t $(IMAGE) -f docker/Dockerfile --build-arg "TORCH_SPEC=$(TORCH_SPEC)" \
		$(DOCKER_BUILD_ARGS) .

# A Debian base for docker-image made without an image registry (debootstrap, as root).
docker-base:
	docker/debian-base.sh aelab-debian:bookworm

# The container test alone: the class graded with bubblewrap and with --docker $(IMAGE).
test-docker: $(BIN)/aelab
	AELAB_DOCKER_IMAGE=$(IMAGE) $(BIN)/python -m pytest tests/test_docker.py -v

reference: $(BIN)/aelab
	$(BIN)/aelab reference --out out/reference

benchmark: $(BIN)/aelab
	$(BIN)/python benchmarks/training_speed.py

clean:
	rm -rf build out
