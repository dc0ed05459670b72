"""Run configuration: YAML validated by pydantic. Units live in the key names.

Every problem is reported as one line naming the file, the key and what is wrong
(``ConfigError``); the CLI prints it and exits with status 2.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal, Union

import yaml
from pydantic import Field, StrictInt, ValidationError, ValidationInfo, create_model, model_validator

from .files import _format_validation_error, apply_overrides, load_raw, parse_override  # noqa: F401
from .from_run import FromRunPlacement, check_names, check_source_exists
from ..configtypes import FieldConfig, NonNegative, Positive, Strict  # noqa: F401 (FieldConfig: abm.config.sections.FieldConfig too)
from ..errors import ConfigError
from ..grammar import GrammarRule

MAX_STEPS = 10**9  # duration_h * 60 / dt_min; more is a typo, and would overflow the step counters
FLOAT32_MAX = 3.4028234663852886e38  # fields are stored in float32
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class LatticeConfig(Strict):
    shape: Annotated[list[Annotated[StrictInt, Field(ge=1)]], Field(min_length=2, max_length=3)] = Field(
        description="sites per axis: [nx, ny] (2D) or [nx, ny, nz] (3D)")
    dx_um: Positive = Field(20.0, description="lattice spacing, micrometres (about one cell diameter)")
    neighbourhood: Literal["von_neumann", "moore"] = Field(
        "moore", description="contact neighbourhood: von_neumann (4/6 sites) or moore (8/26 sites)")


class TimeConfig(Strict):
    dt_min: Positive = Field(6.0, description="time step, minutes")
    duration_h: Positive = Field(24.0, description="simulated time, hours")

    @property
    def steps(self) -> int:
        return max(1, int(round(self.duration_h * 60.0 / self.dt_min)))


class BallPlacement(Strict):
    pattern: Literal["ball"]
    cell_type: str = Field(description="a cell type of the model (built-in or from a plugin)")
    count: Annotated[int, Field(ge=0)] = Field(description="cells in the disc (2D) or sphere (3D)")
    center_um: list[float] | None = Field(None, description="centre in micrometres; default lattice centre")

    def cells(self, lattice) -> int:
        return self.count


class ScatterPlacement(Strict):
    pattern: Literal["scatter"]
    cell_type: str = Field(description="a cell type of the model (built-in or from a plugin)")
    count: Annotated[int, Field(ge=0)] | None = Field(
        None, description="cells placed on uniformly random free sites (or give density_per_mm3)")
    density_per_mm3: NonNegative | None = Field(
        None, description="cells per mm^3 of tissue, instead of count; a 2D lattice is a slab one site (dx_um) "
                          "thick, so a density places the same cells per site in 2D and 3D")
    inner_radius_um: NonNegative = Field(0.0, description="only sites at least this far from the centre")
    outer_radius_um: Positive | None = Field(None, description="only sites at most this far from the centre")
    center_um: list[float] | None = Field(None, description="centre in micrometres; default lattice centre")

    @model_validator(mode="before")
    @classmethod
    def _old_density_key(cls, data):
        if isinstance(data, dict) and "density_per_mm2" in data:  # read per mm^3 in 3D: a key that changed meaning
            raise ValueError("density_per_mm2 is replaced by density_per_mm3 (cells per mm^3; a 2D lattice is a "
                             "slab one site thick: multiply a per-mm^2 density by 1000 / dx_um)")
        return data

    @model_validator(mode="after")
    def _count_or_density(self):
        if (self.count is None) == (self.density_per_mm3 is None):
            raise ValueError("give exactly one of count and density_per_mm3")
        return self

    def cells(self, lattice) -> int:
        if self.count is not None:
            return self.count
        return int(round(self.density_per_mm3 * tissue_volume_mm3(lattice)))


def tissue_volume_mm3(lattice) -> float:
    """The lattice's volume; a 2D lattice is a slab one site (dx_um) thick."""
    extent_mm = [n * lattice.dx_um / 1000.0 for n in lattice.shape]
    slab_mm = lattice.dx_um / 1000.0 if len(lattice.shape) == 2 else 1.0
    return math.prod(extent_mm) * slab_mm


class ClusterPlacement(Strict):
    pattern: Literal["clusters"]
    cell_type: str = Field(description="a cell type of the model (built-in or from a plugin)")
    count: Annotated[int, Field(ge=0)] = Field(description="number of clusters, at uniformly random free places")
    cluster_size: Annotated[int, Field(ge=1)] = Field(description="cells per cluster (1: single cells)")
    escort_type: str | None = Field(
        None, description="cell type placed touching each cluster (e.g. neutrophil)")
    escorts_per_cluster: Annotated[int, Field(ge=0)] = Field(0, description="escort cells per cluster")
    min_spacing_um: NonNegative = Field(0.0, description="least distance between cluster centres")
    inner_radius_um: NonNegative = Field(0.0, description="only centres at least this far from the lattice centre")

    def cells(self, lattice) -> int:
        return self.count * (self.cluster_size + self.escorts_per_cluster)


Placement = Annotated[Union[BallPlacement, ScatterPlacement, ClusterPlacement, FromRunPlacement],
                      Field(discriminator="pattern")]


class ValidationConfig(Strict):
    """How `abm validate` runs this scenario (not read by `abm run`)."""

    seeds: Annotated[int, Field(ge=1)] = Field(30, description="replicate seeds per arm")
    first_seed: Annotated[StrictInt, Field(ge=0, lt=2**62)] = Field(
        500, description="the replicates run seeds first_seed, first_seed + 1, ...: fresh seeds (0-29 served "
                         "hand tuning before the parameter set was unified; abm calibrate and abm sensitivity "
                         "use their own ranges, checked apart)")
    quick_seeds: Annotated[int, Field(ge=1)] = Field(6, description="replicate seeds per arm with --quick")
    quick_overrides: dict[str, Any] = Field(default_factory=dict, description="overrides applied with --quick")
    three_d_overrides: dict[str, Any] = Field(
        default_factory=dict, description="overrides that make the scenario a 3D tissue (abm validate --3d; "
                                          "applied after quick_overrides); densities per mm^3 keep cells per site")
    lesion_min_cells: Annotated[int, Field(ge=1)] = Field(
        10, description="a connected group of viable tumor cells counts as a lesion from this size")
    outgrowth_cells: Annotated[int, Field(ge=1)] = Field(
        50, description="a lesion of this many cells counts as outgrowth (time to first lesion)")
    colony_min_cells: Annotated[int, Field(ge=1)] = Field(
        50, description="colony assay: a connected group of viable tumor cells counts as a colony from this size")


class OutputConfig(Strict):
    path: str | None = Field(None, description="HDF5 output; default runs/<name>.h5")
    snapshot_every_steps: Annotated[int, Field(ge=0)] = Field(
        20, description="lattice, agent and field snapshot interval in steps (0: first and last only)")
    compression_level: Annotated[int, Field(ge=0, le=9)] = Field(4, description="gzip level of snapshots")
    checkpoint_every_steps: Annotated[int, Field(ge=0)] = Field(
        50, description="full-state checkpoint (RUN.h5.checkpoint, for abm run --resume) interval in steps; "
                        "0: none")
    checkpoint_min_interval_s: Annotated[float, Field(ge=0)] = Field(
        60.0, description="wall-clock seconds that must pass since the last checkpoint before the next is written "
                          "(a fast run would otherwise spend a quarter of its time writing them); 0: every "
                          "checkpoint_every_steps steps. Checkpoints never change results, only where a resume starts")


class DebugConfig(Strict):
    check_invariants: bool = Field(False, description="check lattice/agent invariants after every step")


class Config(Strict):
    """The shape of every config. `cells` and `interventions` are typed per model spec: the
    class a config is validated with comes from `config_model(spec)` (see load_config)."""

    spec: ClassVar[Any] = None  # the ModelSpec of the class made by config_model

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)] = Field(
        description="run name; default output runs/<name>.h5")
    description: str = ""
    seed: Annotated[StrictInt, Field(ge=0, lt=2**63)] = Field(0, description="random seed")
    device: Literal["auto", "cpu", "gpu"] = Field("auto", description="compute backend")
    tissue: str | None = Field(None, description="tissue context (a tissue of the included parameter set)")
    parameter_set: str | None = Field(None, description="the parameter set the scenario included: file and "
                                                        "sha256 (set by the loader from include:)")
    plugin_parameter_sets: dict[str, str] = Field(
        default_factory=dict, description="the parameter sets of the plugins named in plugins: (plugin -> file and "
                                          "sha256; set by the loader from include:)")
    plugins: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")]] = Field(
        default_factory=list, description="plugin modules or entry-point names (group abm.plugins) whose "
                                          "cell types, rules and therapies this model includes")
    lattice: LatticeConfig
    time: TimeConfig = TimeConfig()
    fields: dict[FieldName, FieldConfig] = Field(
        default_factory=dict, description="cytokine fields by name; a field left out is not simulated "
                                          "(its concentration reads as 0)")
    cells: Any = None
    placement: list[Placement] = Field(default_factory=list)
    interventions: Any = None
    ablate: list[str] = Field(default_factory=list, description="rules switched off, by name (abm rules CONFIG)")
    rules: list[GrammarRule] = Field(
        default_factory=list, description="behaviour rules without Python: a signal increases or decreases a "
                                          "behaviour of a cell type (Hill response); see docs/extending.md")
    arms: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="named arms: overrides (dotted keys) selected with --arm NAME")
    validation: ValidationConfig = ValidationConfig()
    output: OutputConfig = OutputConfig()
    debug: DebugConfig = DebugConfig()

    @model_validator(mode="after")
    def _known_names(self):
        """Cell types, rules and behaviours named anywhere exist in this model."""
        spec = type(self).spec
        if spec is None:
            return self
        types = ", ".join(spec.type_names)
        for i, p in enumerate(self.placement):
            for key in ("cell_type", "escort_type"):
                name = getattr(p, key, None)
                if name is not None and name not in spec.types:
                    raise ValueError(f"placement.{i}.{key}: unknown cell type {name!r} (types: {types})")
            if isinstance(p, FromRunPlacement):
                check_names(p, spec, f"placement.{i}")
        for i, name in enumerate(self.ablate):
            if name not in spec.rules:
                raise ValueError(f"ablate.{i}: unknown rule {name!r} (rules: {', '.join(spec.rules)})")
        for i, rule in enumerate(self.rules):
            rule.check(spec, self, f"rules.{i}")
        return self

    @model_validator(mode="after")
    def _sources_exist(self, info: ValidationInfo):
        """The runs that from_run placements read exist (only for the config that runs: the other
        arms of its file are checked when they run, after the protocol step that makes them)."""
        if (info.context or {}).get("check_sources", True):
            for i, p in enumerate(self.placement):
                if isinstance(p, FromRunPlacement):
                    check_source_exists(p, self.seed, f"placement.{i}")
        return self

    @model_validator(mode="after")
    def _placements_fit(self):
        n_sites = math.prod(self.lattice.shape)
        wanted = sum(p.cells(self.lattice) for p in self.placement)
        if wanted > n_sites:
            raise ValueError(f"placement: asks for {wanted} cells but the lattice has {n_sites} sites")
        extent = [n * self.lattice.dx_um for n in self.lattice.shape]
        for i, p in enumerate(self.placement):
            if getattr(p, "center_um", None) is not None:
                if len(p.center_um) != len(extent):
                    raise ValueError(f"placement.{i}.center_um: needs {len(extent)} coordinates")
                if any(not 0 <= c <= e for c, e in zip(p.center_um, extent)):
                    raise ValueError(f"placement.{i}.center_um: {p.center_um} lies outside the lattice (0..{extent} um)")
        return self

    @model_validator(mode="after")
    def _numbers_fit(self):
        """Values each valid alone whose combination overflows the numerics (inf/NaN, huge step counts)."""
        dt = self.time.dt_min
        steps = self.time.duration_h * 60.0 / dt
        if not steps <= MAX_STEPS:
            raise ValueError(f"time.dt_min: duration_h {self.time.duration_h:g} h at dt_min {dt:g} min "
                             f"gives {steps:.3g} steps, more than the {MAX_STEPS:.0e} allowed")
        dx2 = self.lattice.dx_um * self.lattice.dx_um
        if not 0 < dx2 < math.inf:
            raise ValueError(f"lattice.dx_um: {self.lattice.dx_um:g} um is too small or too large to compute with")
        for name, field in self.fields.items():
            key = f"fields.{name}"
            r = field.diffusion_um2_per_min * dt / dx2
            if not math.isfinite(2.0 * r):
                raise ValueError(f"{key}.diffusion_um2_per_min: {field.diffusion_um2_per_min:g} um^2/min with "
                                 f"dt_min {dt:g} and dx_um {self.lattice.dx_um:g} overflows the diffusion solver")
            for value_key in ("initial_value", "boundary_value"):
                if getattr(field, value_key) > FLOAT32_MAX:
                    raise ValueError(f"{key}.{value_key}: {getattr(field, value_key):g} does not fit a float32 "
                                     f"field (at most {FLOAT32_MAX:.3g})")
            if field.production_per_min * dt > FLOAT32_MAX:
                raise ValueError(f"{key}.production_per_min: {field.production_per_min:g} per min does not fit "
                                 f"a float32 field")
        for type_name, section in (self.cells or {}):
            for key, value in section:  # a secretion rate adds value * dt to a float32 field each step
                if "secretion" in key and key.endswith("_per_min") and value is not None and value * dt > FLOAT32_MAX:
                    raise ValueError(f"cells.{type_name}.{key}: {value:g} per min does not fit a float32 field "
                                     f"(at most {FLOAT32_MAX:.3g} per step)")
        return self


@lru_cache(maxsize=32)
def config_model(spec) -> type[Config]:
    """The Config class of a model spec: a `cells` section per cell type, its therapies."""
    cells = {}
    for name, t in spec.types.items():
        required = any(f.is_required() for f in t.config.model_fields.values())
        cells[name] = (t.config, ...) if required else (t.config, Field(default_factory=t.config))
    cells_model = create_model("CellsConfig", __base__=Strict, __module__=__name__, **cells)
    therapies = {name: (th.config | None, Field(None, description=th.describe))
                 for name, (_, th) in spec.therapies.items()}
    interventions_model = create_model("InterventionsConfig", __base__=Strict, __module__=__name__, **therapies)
    model = create_model("Config", __base__=Config, __module__=__name__, cells=(cells_model, ...),
                         interventions=(interventions_model, Field(default_factory=interventions_model)))
    model.spec = spec
    return model


# ---------------------------------------------------------------- loading and overrides


def plugins_named(raw: dict, source: str) -> tuple[str, ...]:
    """The config's `plugins:` list (one-line error if it is not a list of names)."""
    plugins = raw.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise ConfigError(f"{source}: plugins: expected a list of module or entry-point names")
    return tuple(plugins)


def validate(raw: dict, source: str = "<config>", check_sources: bool = True) -> Config:
    """Validate against the model of the built-in types plus the config's `plugins:`;
    `check_sources`: the source runs of from_run placements must exist."""
    from .plugins import build_spec

    plugins = plugins_named(raw, source)
    try:
        spec = build_spec(plugins)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    try:
        return config_model(spec).model_validate(raw, context={"check_sources": check_sources})
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error, source)) from None


def load_config(path_or_dict, overrides: dict[str, Any] | None = None,
                arm: str | None = None, ablate: list[str] | tuple = (),
                check_sources: bool = True) -> tuple[Config, str]:
    """Load, apply an arm's overrides then the user's, add `ablate` (rule names, e.g. from
    --ablate) to the config's, validate. Returns (config, source label). `check_sources`: the
    runs that from_run placements read must exist (False: planning runs that will make them).

    The whole file is checked, not only what this run uses: every arm, and the validation's
    quick overrides, resolved and validated the same way, so that a mistake in an arm that is
    not run now fails now rather than hours into `abm validate` or a sweep."""
    raw, source = _read(path_or_dict)
    config = validate(_resolved(raw, source, arm, overrides, ablate), _label(source, arm), check_sources)
    check_every_arm(raw, source)  # as written: the user's overrides are for the arm that runs
    return config, source


def _read(path_or_dict) -> tuple[dict, str]:
    import copy

    if isinstance(path_or_dict, Config):
        return path_or_dict.model_dump(mode="json"), "<config>"
    if isinstance(path_or_dict, dict):
        return copy.deepcopy(path_or_dict), "<dict>"
    from .parameters import expand_include

    return expand_include(load_raw(path_or_dict)[0], str(path_or_dict)), str(path_or_dict)


def _label(source: str, arm: str | None, quick: bool = False) -> str:
    parts = ([f"arm {arm}"] if arm is not None else []) + (["validation.quick_overrides"] if quick else [])
    return f"{source} ({', '.join(parts)})" if parts else source


def _resolved(raw: dict, source: str, arm: str | None, overrides, ablate, quick: bool = False) -> dict:
    """The config a run of `arm` (None: the base) sees: arm overrides, then the user's, then
    (quick) the validation's quick overrides; `ablate` added to the config's list."""
    import copy

    raw = copy.deepcopy(raw)
    named = list(raw.get("plugins") or [])
    if arm is not None:
        arms = raw.get("arms") or {}
        if not isinstance(arms, dict) or arm not in arms:
            names = ", ".join(arms) if isinstance(arms, dict) else ""
            raise ConfigError(f"{source}: --arm {arm}: no such arm (arms: {names or 'none'})")
        if not isinstance(arms[arm], dict):
            raise ConfigError(f"{source}: arms.{arm}: must be a mapping of dotted keys to values")
        raw = apply_overrides(raw, dict(arms[arm]), _label(source, arm))
        raw["name"] = f"{raw.get('name', 'run')}-{arm}"
    if overrides:
        raw = apply_overrides(raw, dict(overrides), source)
    if quick:
        quick_overrides = (raw.get("validation") or {}).get("quick_overrides") or {}
        raw = apply_overrides(raw, dict(quick_overrides), _label(source, arm, quick=True))
    if "parameter_set" in raw:
        from .plugins import no_plugin_values_from_overrides

        no_plugin_values_from_overrides(raw, named, _label(source, arm))
    if ablate:
        listed = raw.get("ablate") or []
        if not isinstance(listed, list):
            raise ConfigError(f"{source}: ablate: expected a list of rule names")
        raw["ablate"] = listed + [name for name in ablate if name not in listed]
    return raw


def check_every_arm(raw: dict, source: str) -> None:
    """Validate every arm of the file as written, and each with the validation's quick overrides;
    the first problem is a one-line ConfigError naming the file, the arm and the key."""
    arms = raw.get("arms") or {}
    has_quick = bool((raw.get("validation") or {}).get("quick_overrides"))
    for arm in [None, *arms] if isinstance(arms, dict) else [None]:
        for quick in (False, True) if has_quick else (False,):
            if arm is None and not quick:
                continue  # the base itself: validated by the caller
            validate(_resolved(raw, source, arm, None, (), quick), _label(source, arm, quick), check_sources=False)
    three_d = (raw.get("validation") or {}).get("three_d_overrides") or {}
    for arm in [None, *arms] if three_d and isinstance(arms, dict) else []:
        label = f"{_label(source, arm)} (validation.three_d_overrides)"
        validate(apply_overrides(_resolved(raw, source, arm, None, ()), dict(three_d), label), label, check_sources=False)


def to_yaml(config: Config) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
