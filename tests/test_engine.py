"""Per-cell rules composed into one kernel per phase (abm/engine): the numba kernel gives the bits of
the same source run by the interpreter, the composed grammar those of the grammar's formula on arrays, and a rule
that names an input the framework does not have is a one-line error."""
from __future__ import annotations

import numpy as np
import pytest

from abm import TissueModel
from abm.engine import compiled_type, targets
from abm.engine.cell_rules import cell_rule
from abm.engine.compose import compose
from abm.errors import ConfigError
from abm.grammar import GrammarRule, per_step, unblocked
from run_helpers import ROOT, assert_same_state, model_state

LIVER = str(ROOT / "configs" / "correia2021_liver.yaml")
SMALL_LIVER = {"time.duration_h": 12.0, "interventions.stellate_activation.start_h": 0.0}


def _liver(target, monkeypatch, **overrides):
    monkeypatch.setattr(targets, "target_of", lambda xp: target)
    model = TissueModel(LIVER, device="cpu", arm="stellate_activation", overrides={**SMALL_LIVER, **overrides})
    model.run()
    return model


def test_the_compiled_kernel_gives_the_bits_of_the_same_source_run_by_the_interpreter(monkeypatch):
    compiled, interpreted = (_liver(target, monkeypatch) for target in ("cpu", "python"))
    activated = compiled.datacollector.get_model_vars_dataframe()["stellate.activated"].iloc[-1]
    assert activated > 0  # the rule acted: inflammation activated stellate cells, which secrete CXCL12
    assert float(compiled.fields["cxcl12"].max()) > 0
    assert_same_state(model_state(compiled), model_state(interpreted))


def test_the_generated_kernel_reads_as_the_types_rules():
    model = TissueModel(LIVER, device="cpu", arm="stellate_activation")
    programs = model.schedule.types["stellate"].compiled.programs
    decide, secrete = programs["decide"].source, programs["secrete"].source
    assert "# tissue inflammation activates quiescent stellate cells" in decide
    assert "rule_0_inflammatory_activation(col_state[i], new_state, draws_state_change, p.activation_threshold)" \
        in decide
    assert "out_new_state[i] = new_state" in decide
    assert "out_secrete_cxcl12[i] = secrete_cxcl12" in secrete


@cell_rule("probe: the behaviour's value, written where a test reads it", returns="new_state_age_min")
def _probe(behaviour_activation):
    return behaviour_activation


def _grammar(signal, direction, saturation, **more):
    return GrammarRule(cell_type="stellate", signal=signal, direction=direction, behaviour="activation",
                       half_max=more.pop("half_max", 0.5), hill_n=more.pop("hill_n", 2), saturation=saturation,
                       **more)


def _grammar_on_arrays(ctx, slots, rules, base: float, units: str):
    """The grammar's formula over arrays, in float32 (the oracle): (1 - U) b + U b_max for the
    increasing rules, then (1 - D) b + D b_min, U and D sums of Hill terms (capped at 1), each
    scaled by the fraction a blockade in force leaves."""
    f32, spec = np.float32, ctx.spec

    def signal(name):
        kind, _, rest = name.partition(".")
        if name == "time_in_state_min":
            return ctx.agents["state_age_min"][slots]
        if kind == "neighbours":
            return ctx.neighbour_counts[slots, spec.empty_category if rest == "empty" else spec.category[rest]].astype(f32)
        if kind == "contact":
            codes = [spec.category[c.name] for t, c in spec.categories if t == rest]
            return (ctx.neighbour_counts[slots][:, codes].sum(axis=1) > 0).astype(f32)
        return ctx.local_concentration[name][slots]

    def hill(x, half_max, n):
        x = x.astype(f32)
        xn = x
        for _ in range(n - 1):
            xn = xn * x
        return xn / (f32(f32(half_max) ** n) + xn)

    def combined(terms):
        total = None
        for r in terms:
            term = hill(signal(r.signal), r.half_max, r.hill_n)
            left = unblocked(ctx.in_force, r.blocked_by)
            if left < 1.0:
                term = term * f32(left)
            total = term if total is None else total + term
        return total if len(terms) == 1 else np.minimum(total, f32(1))

    value = np.full(slots.shape[0], base, dtype=f32)
    up = [r for r in rules if r.direction == "increases"]
    down = [r for r in rules if r.direction == "decreases"]
    if up:
        u = combined(up)
        value = (f32(1) - u) * value + u * f32(max(per_step(r.saturation, units, ctx.dt_min) for r in up))
    if down:
        d = combined(down)
        value = (f32(1) - d) * value + d * f32(min(per_step(r.saturation, units, ctx.dt_min) for r in down))
    return value


def test_the_composed_grammar_gives_the_bits_of_the_grammar_on_arrays():
    """Increasing and decreasing rules of every signal kind on one behaviour, one of them blocked."""
    rules = [_grammar("cxcl12", "increases", 2.0), _grammar("neighbours.empty", "increases", 1.5, half_max=3.0),
             _grammar("contact.nk", "decreases", 0.01, hill_n=1),
             _grammar("time_in_state_min", "decreases", 0.0, half_max=30.0, blocked_by=["cxcr4_block"])]
    model = TissueModel(LIVER, device="cpu", arm="cxcr4_block", overrides={"interventions.cxcr4_block.start_h": 0.0})
    model.run(3)
    model.fields["cxcl12"][...] = np.random.default_rng(1).random(model.fields["cxcl12"].shape, dtype=np.float32)
    model.intervene()
    ctx = model.sense()
    slots = ctx.slots_of("stellate")
    behaviour = model.spec.behaviour("stellate", "activation")
    expected = _grammar_on_arrays(ctx, slots, rules, float(behaviour.base(ctx.params["stellate"])), behaviour.units)

    class Scheduled:  # what Schedule hands to CompiledType: the probe, with the grammar on its behaviour
        name, declared, decide, secrete = "stellate", model.spec.types["stellate"], [_probe], []
        grammar = {"_probe": [(behaviour, rules)]}

    decisions = compiled_type.Decisions(np, model.cells.n)
    compiled_type.CompiledType(model.spec, Scheduled, model.config).run(ctx, "decide", decisions)
    got = decisions.arrays["new_state_age_min"][slots]
    assert np.array_equal(got, expected) and len(np.unique(expected)) > 10


def test_a_rule_naming_an_input_the_framework_lacks_is_a_one_line_error():
    @cell_rule("a rule with a typo", returns="new_state")
    def typo(stat):
        return stat

    model = TissueModel(LIVER, device="cpu")
    with pytest.raises(ConfigError) as error:
        compose(model.spec, "stellate", model.spec.types["stellate"], [typo], {}, (), "decide")
    assert "stellate.typo: stat" in str(error.value) and "\n" not in str(error.value)


def test_the_gpu_target_compiles_from_the_same_source_without_contracting_multiply_adds():
    """numba-cuda compiles the composed kernels to PTX (no GPU needed); fastmath off: no fma, so
    float32 products round as on the CPU. Run on a GPU by tests/test_gpu.py."""
    from abm.testing import cuda_compile

    why_not = cuda_compile.available()
    if why_not:
        pytest.skip(why_not)
    model = TissueModel(LIVER, device="cpu", arm="stellate_activation", overrides=SMALL_LIVER)
    model.run(2)
    model.intervene()
    for phase, ctx in (("decide", model.sense()), ("secrete", model._context())):
        compiled = model.schedule.types["stellate"].compiled
        program = compiled.programs[phase]
        code = cuda_compile.ptx(program, compiled.arguments(ctx, phase, target="cuda"))
        assert f".entry" in code and "fma.rn.f32" not in code


def test_every_kernel_of_a_step_compiles_for_the_gpu(monkeypatch):
    """Each launch of a whole step (the types' rules, categories, secretion into the fields, the
    claim-then-resolve kernels with their atomics, births, compaction) compiles to PTX for the
    types of the arguments it was given on the CPU; no float32 multiply-add is contracted."""
    from abm.engine import step_kernels
    from abm.engine.params import record_as_tuple
    from abm.testing import cuda_compile

    why_not = cuda_compile.available()
    if why_not:
        pytest.skip(why_not)
    model = TissueModel(str(ROOT / "configs" / "northwestern2025_clustering.yaml"), device="cpu", arm="wild_type",
                        overrides={"lattice.shape": [30, 30], "time.duration_h": 4.0})
    model.run(1)
    launches, real = [], targets.launch
    monkeypatch.setattr(targets, "launch", lambda function, *rest: (launches.append((function, rest[1])),
                                                                     real(function, *rest)))
    model.step()
    fixed = {getattr(f, "py_func", f): name for name, f in step_kernels.fixed_kernels("cpu").items()}
    cuda_functions = step_kernels.fixed_sources("cuda")
    seen = set()
    for function, arguments in launches:
        program = targets.program_of(function)
        if program is not None:  # the GPU's kernels take the parameters as named tuples, not records
            arguments = [record_as_tuple(a) if getattr(a, "dtype", None) is not None and a.dtype.names else a
                         for a in arguments]
            code, label = cuda_compile.ptx(program, arguments), program.function_name
        else:
            label = fixed[function.py_func]
            code = cuda_compile.ptx_of_function(cuda_functions[label], arguments)
        assert ".entry" in code and "fma.rn.f32" not in code, label
        seen.add(label)
    assert {"decide_tumor", "categorise", "apply_decisions", "claim_kills", "move", "births", "compact",
            "take_turns"} <= seen


def test_the_parallel_loop_gives_the_bits_of_the_serial_one(monkeypatch):
    """Types with many cells run their kernel on all threads: each iteration writes its own cell only."""
    from abm.engine import targets

    serial = _liver("cpu", monkeypatch)
    monkeypatch.setattr(targets, "PARALLEL_FROM", 0)
    parallel = _liver("cpu", monkeypatch)
    assert_same_state(model_state(serial), model_state(parallel))


def test_cpu_kernels_are_cached_on_disk_under_a_name_made_of_their_sources(tmp_path, monkeypatch):
    """A later process loads a type's compiled kernel instead of compiling it again; the file's name
    hashes the composed loop and every source file it draws on, so a changed rule is a new file."""
    from abm.engine import targets

    monkeypatch.setenv("ABM_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(targets, "_compiled", {})
    model = TissueModel(LIVER, device="cpu", arm="stellate_activation", overrides=SMALL_LIVER)
    model.run(2)
    written = sorted(p.name for p in tmp_path.glob("abm_kernel_*.py"))
    assert [name.split("_")[2:4] for name in written].count(["decide", "stellate"]) == 1
    text = (tmp_path / written[0]).read_text()
    assert "@njit(cache=True, _nrt=False)" in text and "@njit(parallel=True, cache=True, _nrt=False)" in text
    assert list((tmp_path / "__pycache__").glob("*.nbi"))  # numba's index of the cached machine code


def test_a_type_without_cells_launches_no_kernel(monkeypatch):
    """The host knows each type's cells from the last step's statistics: a type with none is skipped
    (its kernel would only pass over every other cell)."""
    ran = []
    run = compiled_type.CompiledType.run
    monkeypatch.setattr(compiled_type.CompiledType, "run",
                        lambda self, ctx, phase, decisions: (ran.append((self.name, phase)), run(self, ctx, phase, decisions)))
    model = TissueModel(str(ROOT / "configs" / "default.yaml"), device="cpu", seed=3,
                        overrides={"lattice.shape": [30, 30], "placement.0.count": 30, "placement.1.count": 0})
    model.step()
    assert ("tumor", "decide") in ran and not any(name == "nk" for name, _ in ran)
    assert model.cells_by_type[model.spec.type_code["nk"]] == 0
