# make run       : build .venv, install sigref with the NumPy backend, check the goldens, reproduce the papers
# make test      : install the test extras, array-api-strict, the torch, numba and jax plugins, lint, run the whole suite
# make gpu-check : on a CUDA machine: goldens on cupy and torch-cuda, the GPU tests, the GPU benchmark
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
OUT    ?= out

.PHONY: run test reference gpu-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(BIN)/python pyproject.toml
	$(PIP) -e .
	touch $@

$(VENV)/.test: $(VENV)/.core backends/torch/pyproject.toml backends/cupy/pyproject.toml backends/numba/pyproject.toml backends/jax/pyproject.toml
	$(PIP) -e '.[test]' -e backends/torch -e backends/cupy -e backends/numba -e backends/jax torch==2.14.1 torchvision==0.29.1 open-clip-torch
	touch $@

run: $(VENV)/.core
	$(BIN)/sigref info
	$(BIN)/sigref golden check
	$(BIN)/sigref reproduce all --out $(OUT)

test: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider

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

clean:
	rm -rf $(VENV) $(GPU_VENV) $(OUT)
