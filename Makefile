# make run       : build .venv, install sigref with the NumPy backend, check the goldens, reproduce the papers
# make test      : install the test extras, array-api-strict, the torch, numba and jax plugins, lint, build the docs, run the whole suite (doctests included)
# make docs      : the documentation site into docs/_build/html (open docs/_build/html/index.html)
# make docs-check: build the site and check it in headless Chromium (math typeset, every image loaded)
# make gpu-check : on a CUDA machine: goldens on cupy and torch-cuda, the GPU tests, the GPU benchmarks (loss; analysis at N = 1e6)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
OUT    ?= out

.PHONY: run test docs docs-check reference gpu-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(BIN)/python pyproject.toml
	$(PIP) -e .
	touch $@

$(VENV)/.test: $(VENV)/.core backends/torch/pyproject.toml backends/cupy/pyproject.toml backends/numba/pyproject.toml backends/jax/pyproject.toml
	$(PIP) -e '.[test]' -e backends/torch -e backends/cupy -e backends/numba -e backends/jax torch==2.14.1 torchvision==0.29.1 open-clip-torch optax
	touch $@

run: $(VENV)/.core
	$(BIN)/sigref info
	$(BIN)/sigref golden check
	$(BIN)/sigref reproduce all --out $(OUT)

$(VENV)/.docs: $(VENV)/.core pyproject.toml
	$(PIP) -e '.[docs]'
	touch $@

test: $(VENV)/.test $(VENV)/.docs
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory docs
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The site: warnings are errors (nitpicky cross references, numpydoc, myst links), all of them reported.
# The API pages import the plugins, so the test install comes first.
DOCS_OUT := docs/_build/html
docs: $(VENV)/.test $(VENV)/.docs
	$(BIN)/sphinx-build -E -W --keep-going -q -b html docs $(DOCS_OUT)

# Headless Chromium (Debian packages chromium + chromium-driver, installed here when root and apt-get exist)
# loads the built pages and checks that MathJax typeset the math and that every image loaded.
docs-check: docs
	@if ! command -v chromedriver >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; fi
	@command -v chromedriver >/dev/null 2>&1 || { echo "make docs-check: needs chromium and chromium-driver (Debian packages; run as root to have them installed)" >&2; exit 1; }
	$(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/docs/test_site.py

# Regenerate the committed figures and summaries (a full run) into reference_results/.
reference: $(VENV)/.core
	$(BIN)/sigref reproduce all --out reference_results

# The GPU check uses the machine's own torch and CuPy (a venv with --system-site-packages; GPU machines
# may have no network) and installs CuPy only where it is missing. Writes reference_results/bench-gpu/.
GPU_VENV := .venv-gpu
GPU_BIN  := $(GPU_VENV)/bin
gpu-check:
	@nvidia-smi -L >/dev/null 2>&1 || { echo "make gpu-check: no CUDA device here (nvidia-smi finds none); run it on a machine with an NVIDIA GPU" >&2; exit 1; }
	test -x $(GPU_BIN)/python || $(PYTHON) -m venv --system-site-packages $(GPU_VENV)
	$(GPU_BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' -e backends/torch -e backends/cupy \
		$$($(GPU_BIN)/python -c "import cupy" 2>/dev/null || echo cupy-cuda13x)
	$(GPU_BIN)/sigref info
	for dtype in float32 float64; do \
		$(GPU_BIN)/sigref golden check --backend cupy --dtype $$dtype || exit 1; \
		$(GPU_BIN)/sigref golden check --backend torch --device cuda --dtype $$dtype || exit 1; \
	done
	$(GPU_BIN)/python -m pytest -q -p no:cacheprovider tests --backend torch-cuda --backend cupy -k "cuda or cupy"
	$(GPU_BIN)/sigref bench --backend torch-cuda cupy --n 4096 16384 65536 --d 64 768 1152 --dtype float32 \
		--repeats 3 --budget 5 --no-solvers --max-memory 100 --out reference_results/bench-gpu --no-progress
	$(GPU_BIN)/sigref bench --backend torch-cuda cupy --impl analysis_products analysis_metrics --n 1000000 --d 256 \
		--dtype float32 --no-solvers --repeats 1 --warmup 0 --timeout 3600 --out reference_results/analysis/gpu_n1e6 --no-progress

clean:
	rm -rf $(VENV) $(GPU_VENV) $(OUT) docs/_build docs/api/generated
