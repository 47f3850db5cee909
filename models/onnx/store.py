"""Put ONNX pose models into the weights directory: recognise, store, convert where possible, record.

``import_onnx`` is what ``python main.py weights import FILE.onnx`` calls; ``install_download`` is how the ONNX
runtime (models/runtimes.py) accepts a finished download of a registered ONNX model or of its tar archive.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.checkpoint import sha256_file
from models.fileio import atomic_copy
from models.onnx.backend import OnnxModelError, build_onnx_net, is_onnx_spec
from models.onnx.convert import TOLERANCE_MM, convert_to_checkpoint
from models.onnx.inspect import ConversionRefusedError, NoMappingError, OnnxImportError, first_line, inspect_onnx
from models.spec import ModelSpec, all_specs, get_spec
from models.weights.store import ManifestEntry, WeightsError, add_manifest_entry, find_entry, resolve_weights_dir

__all__ = ["import_onnx", "import_onnx_archive", "install_download"]


def _onnx_specs() -> list[ModelSpec]:
    return [s for s in all_specs() if is_onnx_spec(s)]


def _recognise(src: Path, model: str | None) -> ModelSpec | None:
    if model:
        spec = get_spec(model)
        return spec if is_onnx_spec(spec) else None
    for spec in _onnx_specs():
        if spec.arch.get("onnx_file") and spec.arch["onnx_file"].lower() == src.name.lower():
            return spec
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(model: str, file: Path, d: Path, source: str) -> str:
    """Copy (if needed) and upsert the manifest entry through models.weights.store; returns the file's sha256."""
    sha = sha256_file(file)
    add_manifest_entry(ManifestEntry(model, file.name, sha, source, _now(), False), d)
    return sha


def import_onnx(path: str | Path, weights_dir: str | Path | None = None, *, model: str | None = None,
                convert: bool = True, tolerance_mm: float = TOLERANCE_MM) -> dict[str, Any]:
    """Recognise an ONNX pose model, store it in the weights directory and convert it when a mapping exists.

    ``model`` names the registered model the file is (otherwise recognised by its file name). Returns a dict:
    ``file``, ``sha256``, ``model`` (registered ONNX model or None), ``stored`` (path or None), ``info``,
    ``conversion`` ({status: converted | no-mapping | refused | skipped, ...}) and ``messages`` (lines to print).
    Raises OnnxImportError for a file that is not a pose model, or one PoseArena can neither run nor convert.
    """
    src = Path(path).expanduser()
    info = inspect_onnx(src)
    d = resolve_weights_dir(weights_dir)
    spec = _recognise(src, model)
    target = get_spec(model) if model and spec is None else None  # a torch model named explicitly
    messages: list[str] = []
    stored = None
    if spec is not None:
        try:
            build_onnx_net(spec, src)
        except OnnxModelError as e:
            raise OnnxImportError(f"{src} is not a usable {spec.name} file: {e}") from None
        dest = d / f"{spec.name}.onnx"
        if src.resolve() != dest.resolve():
            atomic_copy(src, dest)
        _record(spec.name, dest, d, f"import:{src.resolve()}")
        stored = dest
        messages.append(f"{src.name}: {spec.name} ({spec.variant}); stored as {dest}")
    conversion: dict[str, Any] = {"status": "skipped"}
    if convert:
        try:
            conv = convert_to_checkpoint(src, d / ".converting.pth", onnx_spec=spec, tolerance_mm=tolerance_mm,
                                         target=target.name if target is not None else None)
        except NoMappingError as e:
            conversion = {"status": "no-mapping", "reason": str(e)}
        except ConversionRefusedError as e:
            conversion = {"status": "refused", "reason": str(e)}
        else:
            tmp = Path(conv["checkpoint"])
            if target is not None and conv["model"] != target.name:
                tmp.unlink(missing_ok=True)
                raise OnnxImportError(f"{src}: its weights fit the architecture of {target.name}, but the graph "
                                      f"expects {conv['normalisation']} input, not {target.normalisation}")
            dest_pth = d / f"{conv['model']}.pth"
            os.replace(tmp, dest_pth)
            conv["checkpoint"] = str(dest_pth)
            conv.pop("spec", None)
            if conv["registered"]:
                _record(conv["model"], dest_pth, d, f"onnx-convert:{src.resolve()}")
            conversion = {"status": "converted", **conv}
            where = ("recorded in the manifest" if conv["registered"]
                     else "no registered model has this architecture, so the app cannot select it yet")
            messages.append(f"converted to a PyTorch checkpoint for {conv['model']} ({conv['family']} "
                            f"{conv['arch']}, {conv['joint_set']}, input {conv['normalisation']}): {dest_pth}; "
                            f"{conv['mapping_note']}; max joint difference {conv['max_joint_diff_mm']:.3g} mm; "
                            f"{where}")
    if conversion["status"] in ("no-mapping", "refused"):
        messages.append(f"no PyTorch conversion: {conversion['reason']}")
    if spec is None and conversion["status"] != "converted":
        known = ", ".join(f"{s.name} ({s.arch.get('onnx_file', '?')})" for s in _onnx_specs()) or "none"
        why = conversion.get("reason", "conversion skipped")
        raise OnnxImportError(f"{src}: a 3D pose model ({info.joints} joints, {info.output_shape} output) that "
                              f"PoseArena does not know: its file name matches no registered ONNX model and {why}. "
                              f"If it is one of the registered ONNX models under another name, import it with "
                              f"--model NAME. Registered ONNX models: {known}")
    return {"file": str(src), "sha256": sha256_file(src), "model": spec.name if spec else None,
            "stored": str(stored) if stored else None, "info": info.summary(), "conversion": conversion,
            "messages": messages}


def import_onnx_archive(path: str | Path, weights_dir: str | Path | None = None, *,
                        models: Sequence[str] | None = None, convert: bool = True) -> list[dict[str, Any]]:
    """Import the registered ONNX models found in a tar(.gz) archive such as PINTO's ``resources.tar.gz``.

    ``models`` limits it to those registered names; OnnxImportError when the archive holds none of them.
    """
    src = Path(path).expanduser()
    wanted = {s.arch["onnx_file"].lower(): s for s in _onnx_specs() if s.arch.get("onnx_file")
              and (not models or s.name in models)}
    try:
        tf = tarfile.open(src)
    except (tarfile.TarError, OSError) as e:
        raise OnnxImportError(f"{src}: not a readable tar archive ({first_line(e)})") from None
    results = []
    with tf, tempfile.TemporaryDirectory(prefix="posearena-onnx-") as tmp:
        members = [m for m in tf.getmembers() if m.isfile() and Path(m.name).name.lower() in wanted]
        if not members:
            names = ", ".join(sorted(wanted)) or "none"
            raise OnnxImportError(f"{src}: the archive holds none of the registered ONNX files ({names})")
        for m in members:
            out = Path(tmp) / Path(m.name).name
            with tf.extractfile(m) as f, open(out, "wb") as g:  # type: ignore[union-attr]
                g.write(f.read())
            spec = wanted[out.name.lower()]
            results.append(import_onnx(out, weights_dir, model=spec.name, convert=convert))
    return results


def install_download(spec: ModelSpec, staged: Path, d: Path, url: str) -> ManifestEntry:
    """ONNX-backed models: import a finished download (a .onnx file or a tar archive of them), then remove it."""
    try:
        if tarfile.is_tarfile(staged):
            import_onnx_archive(staged, d, models=[spec.name])
        else:
            import_onnx(staged, d, model=spec.name)
    except (ValueError, OSError) as e:
        raise WeightsError(f"{url}: the download holds no usable {spec.name} model: {e}") from None
    finally:
        staged.unlink(missing_ok=True)
    entry = find_entry(spec.name, d)
    if entry is None:
        raise WeightsError(f"{url}: the download did not yield {spec.name}")
    return entry
