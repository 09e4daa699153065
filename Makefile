# gan-tutor: the two commands a newcomer runs are `make book` and `make test`.
# Both create .venv on first use and install the project with its extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Progress bars would clutter the rendered pages and the test logs. The book keeps matplotlib's
# inline backend (MPLBACKEND=Agg would stop the kernel from emitting figures); tests use Agg.
BOOK_ENV := env -u MPLBACKEND TQDM_DISABLE=1 PYTHONHASHSEED=0
TEST_ENV := GAN_TUTOR_QUICK=1 MPLBACKEND=Agg TQDM_DISABLE=1 PYTHONHASHSEED=0

.PHONY: book test bench seeds gpu-check browser-check clean distclean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off -c constraints.txt -e ".[book,test]"
	@touch $(STAMP)

## make book: the whole rendered book in _build/html, every lesson executed in full mode.
book: $(STAMP)
	$(BOOK_ENV) $(BIN)/jupyter-book build . --warningiserror --keep-going --builder html

## make test: unit tests, every lesson under nbval (quick mode), notebook hygiene, strict Sphinx build.
test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider -ra

## make bench: speed and quality measurements, written as JSON to benchmarks/results/.
bench: $(STAMP)
	MPLBACKEND=Agg TQDM_DISABLE=1 $(BIN)/python -m benchmarks.run

## make seeds: every lesson rerun with all seeds shifted by 1 and by 2 (GAN_TUTOR_SEED_OFFSET), in quick and
## full mode, one at a time; results in benchmarks/results/seeds.json, executed copies in _build/seeds/.
## ONLY=05_wgan_clipping,06_wgan_gp restricts it to some lessons.
seeds: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m benchmarks.seeds $(if $(ONLY),--only $(ONLY))

## make gpu-check: every lesson in full mode on this machine's device (CUDA when present), then the quick
## benchmarks; times and failures in benchmarks/results/book_<device>.json. Where .venv is absent it uses
## $(PYTHON) as it is (e.g. a GPU machine or Colab with its own torch: `make gpu-check PYTHON=python3`).
GPU_PY = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
gpu-check:
	env -u MPLBACKEND TQDM_DISABLE=1 PYTHONHASHSEED=0 $(GPU_PY) -m benchmarks.gpu_check

## make browser-check: after `make book`, every page in headless Chromium at 1280 and 390 px: MathJax 3 (from npm, into
## .browser/, served offline) typesets with 0 errors, no raw TeX, nothing scrolls sideways, the phone sidebar and
## contents buttons open, the desktop sidebar collapses, solutions stay hidden until opened. Screenshots and
## measurements in _build/screenshots/. Needs Chromium (apt-get install chromium) and npm; installs playwright
## into .venv on first use.
BROWSER_DIR := .browser
MATHJAX_VERSION := 3.2.2
browser-check: $(STAMP)
	@test -f _build/html/index.html || { echo "make browser-check reads the built book: run make book first"; exit 1; }
	@$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/python -m pip install --quiet -c constraints.txt playwright
	@test -f $(BROWSER_DIR)/node_modules/mathjax/es5/tex-mml-chtml.js || { \
	  command -v npm >/dev/null || { echo "make browser-check needs npm for MathJax: apt-get install npm"; exit 1; }; \
	  npm install --prefix $(BROWSER_DIR) --no-audit --no-fund --silent mathjax@$(MATHJAX_VERSION); }
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || test -n "$$CHROMIUM" || { \
	  echo "make browser-check needs Chromium: apt-get install chromium (Debian/Ubuntu),"; \
	  echo "or: $(BIN)/python -m playwright install chromium, then CHROMIUM=<path to its chrome> make browser-check"; exit 1; }
	$(BIN)/python -m pytest tests/browser_check.py -p no:cacheprovider -ra

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV)
