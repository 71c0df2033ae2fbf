# Two commands do all set-up on a fresh Debian machine: `make tour` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEBIAN_FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: install data browser tour test lab book app readme retrain clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# setuptools notes that an editable install follows the working tree: that is the point here;
	@# every other warning still shows
	PYTHONWARNINGS="ignore:Editable installation:UserWarning" \
		$(BIN)/pip install -q -c constraints.txt -e ".[dev,polyvore]"
	touch $(STAMP)

install: $(STAMP)

# Fashion-MNIST from Debian's package; falls back to the committed mini subset (with a warning).
data:
	@if [ -f "$(DEBIAN_FMNIST)" ] || [ -f data/fashion-mnist/train-images-idx3-ubyte.gz ] || [ -n "$$XFASHION_FASHION_MNIST" ]; then \
		echo "Fashion-MNIST: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
		echo "WARNING: install Debian's dataset-fashion-mnist or put the IDX files in data/fashion-mnist/;"; \
		echo "         the tour will fall back to the small committed subset."; \
	fi

# Debian's Chromium for the browser tests (Playwright drives it; no browser download)
browser:
	@if command -v chromium >/dev/null; then \
		echo "Chromium: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "WARNING: install Chromium (Debian: apt-get install chromium); the browser tests will be skipped."; \
	fi

# TOUR_FLAGS=--require-shipped (CI) fails when a chapter had to train a model data/weights/ should ship
tour: install data
	$(BIN)/python -m xfashion tour $(TOUR_FLAGS)

# lint first (ruff: pyflakes, bugbear, import order, complexity, line length; see pyproject.toml);
# two pytest workers (pytest-xdist), one thread each (tests/conftest.py): most of the suite is kernels and
# small tensors that keep one core busy, so two at once use both cores; a worker that runs out of tests takes
# queued ones from the other (--dist worksteal); TEST_WORKERS=0 runs in one process.
# pytest's exit code 5 means no test ran: a failure here, said out loud
TEST_WORKERS ?= 2
test: install data browser
	$(BIN)/ruff check xfashion tests
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) $(if $(filter 0,$(TEST_WORKERS)),,--dist worksteal); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# every model the tour uses, trained from scratch into data/weights/ with its manifest (commit the result)
retrain: install data
	$(BIN)/python -m xfashion retrain

# the README's results table, recomputed from the tour's cached artifacts (never typed by hand)
readme: install data
	$(BIN)/python -m xfashion readme

# the executed notebooks of `make tour` as a book by Jupyter Book 1, nothing executed again: open
# build/book/_build/html/index.html; with the worked solutions after their chapters when the tour ran them:
# make tour TOUR_FLAGS=--solutions (a few minutes more). The pages load nothing from the internet: MathJax comes
# from PyPI's jupyter-server-mathjax, require.js and the widgets' HTML manager from the npm registry (npm pack,
# once, into build/vendor/); docs/_book/_config.yml says how
book: install
	$(BIN)/python -m xfashion book

# the explanation explorer as a web app for class demos: http://127.0.0.1:8866
# glibc's thresholds for a laptop-sized memory budget, read by each kernel at start: the tour's own settings,
# read from xfashion.utils.MALLOC_ENV when used (after install), so the two can never differ
MALLOC_ENV = $(shell $(BIN)/python -c "from xfashion.utils import MALLOC_ENV as e; print(*(f'{k}={v}' for k, v in e.items()))")

app: install data
	@# Voila through xfashion.voila_app: its command line, with an nbclient bug that stalls the app worked around
	$(MALLOC_ENV) $(BIN)/python -m xfashion.voila_app app/explanation_explorer.ipynb --Voila.ip=127.0.0.1 --port=8866 --no-browser

lab: install data
	$(MALLOC_ENV) $(BIN)/jupyter lab --LabApp.news_url=None --KernelManager.transport=ipc notebooks/

clean:
	rm -rf build data/cache reports/*.csv reports/*.md
