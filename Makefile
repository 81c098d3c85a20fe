# make run  : build .venv, install sigref with the NumPy backend, check the goldens, reproduce the papers
# make test : install the test extras, array-api-strict, the torch and numba plugins, run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
OUT    ?= out

.PHONY: run test reference clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(BIN)/python pyproject.toml
	$(PIP) -e .
	touch $@

$(VENV)/.test: $(VENV)/.core backends/torch/pyproject.toml backends/cupy/pyproject.toml backends/numba/pyproject.toml
	$(PIP) -e '.[test]' -e backends/torch -e backends/cupy -e backends/numba torch==2.14.1 torchvision==0.29.1 open-clip-torch
	touch $@

run: $(VENV)/.core
	$(BIN)/sigref info
	$(BIN)/sigref golden check
	$(BIN)/sigref reproduce all --out $(OUT)

test: $(VENV)/.test
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Regenerate the committed figures and summaries (a full run) into reference_results/.
reference: $(VENV)/.core
	$(BIN)/sigref reproduce all --out reference_results

clean:
	rm -rf $(VENV) $(OUT)
