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

## make browser-check: after `make book`, screenshots of the rendered lessons in headless Chromium.
browser-check: $(STAMP)
	@test -f _build/html/index.html || { echo "make browser-check reads the built book: run make book first"; exit 1; }
	@command -v chromium >/dev/null || { echo "make browser-check needs Chromium: sudo apt-get install chromium"; exit 1; }
	$(BIN)/python -m pytest tests/browser_check.py -p no:cacheprovider -ra

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV)
