"""The datasets a notebook can open: the built ones, and how to build the bundled samples that are not.

A dataset is *built* when its manifest (``manifest_dir/NAME.json``) and every table file it lists
(under ``data_dir``) exist; whether the files still match the manifest is checked when the dataset
is loaded (``manifest.load_dataset``). A committed manifest without its data (``us-megacap`` on a
fresh clone) is not built.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from janus_core.data.manifest import DatasetIntegrityError, list_datasets, read_manifest
from janus_core.data.samples import SAMPLE_DATASETS
from janus_core.paths import WorkbenchPaths

#: The dataset a notebook opens when none is requested (the bundled demo sample).
DEFAULT_DATASET = "synthetic-ashare"


def build_command(name: str) -> str:
    """The command that builds the bundled sample ``name`` (run from the project root)."""
    return f"janus data build {name}"


def is_built(name: str, paths: WorkbenchPaths) -> bool:
    """True when ``name`` has a readable manifest and every table file it lists exists."""
    try:
        manifest = read_manifest(name, paths)
    except (FileNotFoundError, ValueError, KeyError, TypeError, DatasetIntegrityError):
        return False
    return all((paths.data_dir / entry.path).is_file() for entry in manifest.tables.values())


def built_datasets(paths: WorkbenchPaths) -> list[str]:
    """The built datasets (module docstring), sorted by name."""
    return [name for name in list_datasets(paths) if is_built(name, paths)]


class DatasetChoices(BaseModel):
    """A notebook's dataset picker: ``options`` (the built datasets), the picked ``value`` (the
    requested dataset when built, else the default, else the first built one, else None), the bundled
    samples that are not built with the command that builds each (``unbuilt``), and ``problem``: why
    the requested dataset cannot be opened (None when it can)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paths: WorkbenchPaths
    options: tuple[str, ...]
    value: str | None
    unbuilt: dict[str, str]
    problem: str | None

    @property
    def note(self) -> str:
        """One markdown line on the samples that are not built yet and how to build them."""
        if not self.unbuilt:
            return ""
        items = ", ".join(f"`{name}` (`{cmd}`)" for name, cmd in self.unbuilt.items())
        return f"Not built yet, so not offered: {items}."


def dataset_choices(
    requested: object = None, paths: WorkbenchPaths | None = None, default: str = DEFAULT_DATASET
) -> DatasetChoices:
    """The picker of the built datasets under ``paths`` (default :meth:`WorkbenchPaths.from_env`), with
    ``requested`` (e.g. the notebook's ``--dataset``; empty means ``default``) picked when built."""
    paths = paths or WorkbenchPaths.from_env()
    options = tuple(built_datasets(paths))
    unbuilt = {name: build_command(name) for name in SAMPLE_DATASETS if name not in options}
    wanted = str(requested or "").strip()
    problem = None
    if wanted and wanted not in options:
        how = (
            f"build it with `{build_command(wanted)}`"
            if wanted in SAMPLE_DATASETS
            else f"import it with `janus data import {wanted} ...`"
        )
        built = ", ".join(options) or "none"
        problem = f"dataset {wanted!r} is not built under {paths.data_dir} (built: {built}); {how}"
    elif not options:
        problem = f"no dataset is built under {paths.data_dir}; build the demo with `{build_command(default)}`"
    if wanted in options:
        value: str | None = wanted
    elif default in options:
        value = default
    else:
        value = options[0] if options else None
    return DatasetChoices(paths=paths, options=options, value=value, unbuilt=unbuilt, problem=problem)
