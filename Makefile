.PHONY: run test lint wheel
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
lint:
	.venv/bin/ruff check .
# dist/posearena-<version>-py3-none-any.whl, offline (the .venv's setuptools); `pip install .` does the same with
# build isolation
wheel:
	.venv/bin/python -m pip wheel --no-deps --no-build-isolation -w dist .
	rm -rf build posearena.egg-info
