"""One controller per tab, the only gui/ modules that reach into engine/ and models/.

``models`` (RegistryController, ModelRow: shared by every tab), ``sources`` (SourceController), ``live``
(LiveController, LiveSettings), ``benchmark`` (BenchmarkController, BenchmarkSettings) with ``bench_files`` (the
run's payload and exports, worker threads only). Controllers defer every heavy import (torch, the live engine,
h5py) to the worker functions that need it, so importing one from a widget stays light; widgets get plain records
and readable messages through signals.
"""
