# Effort Copilot. `make demo` and `make test` work on a fresh machine with Python 3.11+ and make:
# they create .venv and install the project from its own files when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export ORT_DISABLE_TELEMETRY := 1
export DEEPEVAL_TELEMETRY_OPT_OUT := 1
export DEEPEVAL_DISABLE_DOTENV := 1
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export LANGSMITH_TRACING ?= false

.PHONY: install test demo eval eval-llm bench lint typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv installs the stack in seconds; plain pip is the fallback.
	@($(PY) -m pip install -q uv && $(VENV)/bin/uv pip install -q -p $(PY) -e '.[dev]') \
		|| $(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/effort demo

eval: $(STAMP)
	$(PY) -m evals.run

# The eval in LLM mode against a real model (not in `make test` or CI): needs OPENAI_BASE_URL, e.g. the
# local model of ../shared/llm (README "LLM mode with a local model"). EVAL_LLM_ARGS="--sample 30" etc.
eval-llm: $(STAMP)
	$(PY) -m evals.llm_eval --out out/eval-llm $(EVAL_LLM_ARGS)

bench: $(STAMP)
	$(PY) -m evals.bench.all --out out/bench

lint: $(STAMP)
	$(VENV)/bin/ruff check agent tools sandbox evals prompts tests
	$(VENV)/bin/ruff format --check agent tools sandbox evals prompts tests
	$(VENV)/bin/lint-imports --no-logo

typecheck: $(STAMP)
	$(VENV)/bin/mypy agent tools sandbox evals prompts

clean:
	rm -rf $(VENV) .effort out
