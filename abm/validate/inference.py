"""The tests a criteria file may name, each with its effect estimate and 95 % interval.

Each test takes one value per run (a run is the replicate: one organoid, one mouse; no counts
pooled over runs) and returns an Inference. The choice of test follows the kind of value:

- counts (lesions, colonies, clusters): a negative binomial GLM (statsmodels), log link, the
  arm as covariate; its one-sided Wald p and the model's interval of the rate ratio. Where its
  fit does not converge (no overdispersion: alpha runs to 0), the Poisson GLM; where an arm has
  no event at all (no finite estimate), the exact conditional test of two Poisson rates. The
  note says which was used.
- continuous values (shapes, fractions per run): one-sided Mann-Whitney; the ratio of means
  with a BCa bootstrap interval (scipy.stats.bootstrap, runs resampled within arms).
- yes/no per run (a run grew out): Fisher's exact test between arms, the risk difference with
  Newcombe's interval; or an exact binomial test against a declared share, Clopper-Pearson.
- times to an event, censored at the run's end: log-rank; the difference of restricted means.
- a dose series: Spearman's rank correlation of the dose rank with the runs' values.
- two read-outs of the same run: Wilcoxon signed-rank, paired.
- equivalence: two one-sided Welch t-tests on the log scale, within a margin declared as a
  fraction of a reference contrast's own log effect (criteria files say which).

An effect that does not exist (a ratio with a zero mean, an empty arm) is reported as
undefined with the reason, never as a number.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
BOOTSTRAP_SEED = 20200609  # fixed: the same runs give the same intervals
BOOTSTRAP_RESAMPLES = 9999
Z95 = float(stats.norm.ppf(0.975))


@dataclass
class Inference:
    """A test's one-sided p (None for an estimate that is not a test) and its effect."""
    p: float | None
    estimate: float
    low: float
    high: float
    effect: str  # what the estimate is, e.g. "rate ratio a / b (negative binomial GLM)"
    note: str = ""  # a fallback used, or why the effect is undefined
    dispersion: float = 0.0  # the NB model's alpha, for the minimum detectable effect

    @property
    def defined(self) -> bool:
        return bool(np.isfinite(self.estimate))

    def text(self) -> str:
        if not self.defined:
            return f"{self.effect}: undefined ({self.note or 'no value'})"
        interval = "" if np.isnan(self.low) else f" [{self.low:.3g}, {self.high:.3g}]"
        return f"{self.effect} {self.estimate:.3g}{interval}" + (f" ({self.note})" if self.note else "")


def undefined(effect: str, why: str) -> Inference:
    return Inference(float("nan"), float("nan"), float("nan"), float("nan"), effect, why)


def bca(statistic, samples, paired=False) -> tuple[float, float]:
    """95 % BCa bootstrap interval of statistic(*samples), resampling runs within each sample
    (or pairs) from a fixed seed; (nan, nan) where it is undefined."""
    samples = [np.asarray(s, float) for s in samples]
    if any(len(s) < 2 for s in samples):
        return float("nan"), float("nan")
    if all(np.ptp(s) == 0 for s in samples):  # no spread: every resample gives the estimate
        value = float(statistic(*samples, axis=-1))
        return value, value
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # BCa warns and gives NaN where its jackknife degenerates
        result = stats.bootstrap(samples, statistic, n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True,
                                 paired=paired, method="BCa", rng=np.random.default_rng(BOOTSTRAP_SEED))
    low, high = result.confidence_interval
    return float(low), float(high)


def ratio_of_means(a, b, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def _one_sided(p_less: float, direction: str) -> float:
    return p_less if direction == "less" else 1.0 - p_less


def mann_whitney(a, b, direction: str) -> Inference:
    """a's runs below (direction "less") or above b's; effect mean(a) / mean(b), BCa."""
    if len(a) == 0 or len(b) == 0:
        return undefined("ratio of means", "an arm has no run with this value")
    p = float(stats.mannwhitneyu(a, b, alternative=direction).pvalue)
    if np.mean(b) == 0:
        result = undefined("ratio of means", "the second arm's mean is 0")
        result.p = p
        return result
    return Inference(p, float(np.mean(a) / np.mean(b)), *bca(ratio_of_means, [a, b]), "ratio of means")


def count_model(a, b, direction: str) -> Inference:
    """Counts of a against b: negative binomial GLM (log link); exact conditional Poisson test
    when the model cannot be fitted."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return undefined("rate ratio", "an arm has no run")
    fitted = _negative_binomial(a, b)
    if fitted is not None:
        coef, se, alpha = fitted
        p_less = float(stats.norm.cdf(coef / se))
        return Inference(_one_sided(p_less, direction), float(np.exp(coef)), float(np.exp(coef - Z95 * se)),
                         float(np.exp(coef + Z95 * se)), "rate ratio (negative binomial GLM)", dispersion=alpha)
    if a.sum() == 0 or b.sum() == 0:
        return _exact_poisson(a, b, direction, "an arm has no event: a GLM has no finite fit")
    coef, se = _poisson_glm(a, b)  # no overdispersion to estimate (the NB fit ran to alpha = 0)
    p_less = float(stats.norm.cdf(coef / se))
    return Inference(_one_sided(p_less, direction), float(np.exp(coef)), float(np.exp(coef - Z95 * se)),
                     float(np.exp(coef + Z95 * se)), "rate ratio (Poisson GLM)",
                     note="no overdispersion: the negative binomial fit's dispersion ran to 0")


# A negative binomial fit whose dispersion runs below this has found no overdispersion: its variance
# exceeds the Poisson's by under 1e-6 mu^2. Whether the optimiser then reports convergence depends on
# the machine's floating point (the same runs gave "converged" on an AMD EPYC, not on an Intel Xeon),
# so such a fit is taken as Poisson on every machine.
NO_OVERDISPERSION = 1e-6


def _negative_binomial(a, b):
    """(log rate ratio, its standard error, dispersion alpha) or None where the fit fails or an
    arm has no event (the likelihood then has no finite maximum)."""
    if a.sum() == 0 or b.sum() == 0 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return None
    from statsmodels.discrete.discrete_model import NegativeBinomial

    y = np.concatenate([a, b])
    design = np.column_stack([np.ones_like(y), np.r_[np.ones_like(a), np.zeros_like(b)]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: checked below
        try:
            fit = NegativeBinomial(y, design).fit(disp=0, maxiter=200)
        except (np.linalg.LinAlgError, ValueError):
            return None
    coef, se, alpha = float(fit.params[1]), float(fit.bse[1]), float(fit.params[2])
    if alpha < NO_OVERDISPERSION or not (fit.mle_retvals.get("converged", False) and np.isfinite(se) and se > 0):
        return None
    return coef, se, alpha


def _poisson_glm(a, b) -> tuple[float, float]:
    import statsmodels.api as sm

    y = np.concatenate([a, b])
    design = np.column_stack([np.ones_like(y), np.r_[np.ones_like(a), np.zeros_like(b)]])
    fit = sm.GLM(y, design, family=sm.families.Poisson()).fit()
    return float(fit.params[1]), float(fit.bse[1])


def _exact_poisson(a, b, direction: str, why: str) -> Inference:
    from statsmodels.stats.rates import test_poisson_2indep

    alternative = "smaller" if direction == "less" else "larger"
    count_a, count_b = int(round(a.sum())), int(round(b.sum()))  # counts: whole numbers
    with np.errstate(all="ignore"):  # 0 / 0 rates: the test's p is still defined (1)
        result = test_poisson_2indep(count_a, len(a), count_b, len(b), method="exact-cond", alternative=alternative)
    rate_a, rate_b = a.mean(), b.mean()
    # Haldane's 0.5 keeps the ratio's interval finite where an arm has no event
    log_ratio = np.log((a.sum() + 0.5) / len(a)) - np.log((b.sum() + 0.5) / len(b))
    se = np.sqrt(1 / (a.sum() + 0.5) + 1 / (b.sum() + 0.5))
    estimate = rate_a / rate_b if rate_b > 0 else float("nan")
    return Inference(float(result.pvalue), float(estimate), float(np.exp(log_ratio - Z95 * se)),
                     float(np.exp(log_ratio + Z95 * se)), "rate ratio (exact conditional Poisson test)",
                     note=why if rate_b > 0 else "the second arm has no event: ratio undefined, interval with 0.5 added")


def fisher(a, b, direction: str) -> Inference:
    """Yes/no per run: Fisher's exact test; effect share(a) - share(b), Newcombe's interval."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if len(a) == 0 or len(b) == 0:
        return undefined("difference of shares", "an arm has no run")
    table = [[a.sum(), len(a) - a.sum()], [b.sum(), len(b) - b.sum()]]
    p = float(stats.fisher_exact(table, alternative=direction).pvalue)
    low, high = confint_proportions_2indep(a.sum(), len(a), b.sum(), len(b), method="newcomb", compare="diff")
    return Inference(p, float(a.mean() - b.mean()), float(low), float(high), "difference of shares of runs")


def binomial(a, null_share: float, direction: str) -> Inference:
    """Yes/no per run against a declared share: exact binomial test, Clopper-Pearson interval."""
    a = np.asarray(a, bool)
    if len(a) == 0:
        return undefined("share of runs", "no run")
    result = stats.binomtest(int(a.sum()), len(a), null_share, alternative=direction)
    interval = stats.binomtest(int(a.sum()), len(a)).proportion_ci(confidence_level=0.95, method="exact")
    return Inference(float(result.pvalue), float(a.mean()), float(interval.low), float(interval.high),
                     f"share of runs (null {null_share:g})")


def logrank(times_a, events_a, times_b, events_b, direction: str) -> Inference:
    """Events later in a (direction "later") than in b, runs without an event censored at their end;
    effect: the difference of restricted mean times (the runs share one end time)."""
    if len(times_a) == 0 or len(times_b) == 0:
        return undefined("restricted mean time difference (h)", "an arm has no run")
    if not (np.any(events_a) or np.any(events_b)):
        return undefined("restricted mean time difference (h)", "no run had the event")
    alternative = "less" if direction == "later" else "greater"  # scipy: hazard of a vs b
    result = stats.logrank(_censored(times_a, events_a), _censored(times_b, events_b), alternative=alternative)
    difference = lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis)  # noqa: E731
    return Inference(float(result.pvalue), float(np.mean(times_a) - np.mean(times_b)),
                     *bca(difference, [times_a, times_b]), "restricted mean time difference (h)")


def _censored(times, events):
    times, events = np.asarray(times, float), np.asarray(events, bool)
    return stats.CensoredData(uncensored=times[events], right=times[~events])


def spearman_dose(doses, values_, direction: str) -> Inference:
    """The runs' values fall (direction "less") or rise with the dose rank: Spearman's rho with the
    Fisher-z interval."""
    doses, values_ = np.asarray(doses, float), np.asarray(values_, float)
    if np.ptp(values_) == 0:
        return undefined("Spearman rho", "every run has the same value")
    rho, p = stats.spearmanr(doses, values_, alternative=direction)
    half = Z95 / np.sqrt(max(len(doses) - 3, 1))
    return Inference(float(p), float(rho), float(np.tanh(np.arctanh(rho) - half)),
                     float(np.tanh(np.arctanh(rho) + half)), "Spearman rho with the dose rank")


def wilcoxon_paired(a, b, direction: str) -> Inference:
    """a[i] and b[i] from the same run: Wilcoxon signed-rank; effect mean(a) / mean(b), paired BCa."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0:
        return undefined("ratio of means, paired", "no run has both values")
    difference = a - b
    p = 1.0 if not difference.any() else float(stats.wilcoxon(difference, alternative=direction).pvalue)
    if np.mean(b) == 0:
        return Inference(p, float("nan"), float("nan"), float("nan"), "ratio of means, paired", "mean of b is 0")
    return Inference(p, float(np.mean(a) / np.mean(b)), *bca(ratio_of_means, [a, b], paired=True),
                     "ratio of means, paired")


def equivalence_log(a, b, margin_log: float) -> Inference:
    """mean(log a) - mean(log b) within +/- margin_log: two one-sided Welch t-tests (TOST);
    effect the ratio of geometric means with its 90 % interval (the one TOST inverts)."""
    a, b = np.log(np.asarray(a, float)), np.log(np.asarray(b, float))
    if min(len(a), len(b)) < 2 or not np.isfinite(margin_log) or margin_log <= 0:
        why = "fewer than 2 runs" if min(len(a), len(b)) < 2 else "the reference contrast gives no margin"
        return undefined("ratio of geometric means", why)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    difference, se = float(a.mean() - b.mean()), float(np.sqrt(va + vb))
    if se == 0:
        p = 0.0 if abs(difference) < margin_log else 1.0
        return Inference(p, float(np.exp(difference)), float(np.exp(difference)), float(np.exp(difference)),
                         "ratio of geometric means")
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch-Satterthwaite
    p = max(stats.t.sf((difference + margin_log) / se, df), stats.t.cdf((difference - margin_log) / se, df))
    half = stats.t.ppf(1 - ALPHA, df) * se
    return Inference(float(p), float(np.exp(difference)), float(np.exp(difference - half)),
                     float(np.exp(difference + half)),
                     f"ratio of geometric means (90 % CI; margin x{np.exp(-margin_log):.3g}-x{np.exp(margin_log):.3g})")


def equivalence_count(a, b, margin_log: float) -> Inference:
    """Counts of a and b equivalent: the log rate ratio of the count model (negative binomial GLM,
    Poisson where it does not converge) within +/- margin_log, two one-sided z-tests (TOST); effect
    the rate ratio with its 90 % interval. Undefined where an arm has no event (no finite ratio)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if min(len(a), len(b)) < 2 or not np.isfinite(margin_log) or margin_log <= 0:
        why = "fewer than 2 runs" if min(len(a), len(b)) < 2 else "the reference contrast gives no margin"
        return undefined("rate ratio", why)
    if a.sum() == 0 or b.sum() == 0:
        return undefined("rate ratio", "an arm has no event: no finite rate ratio")
    fitted = _negative_binomial(a, b)
    coef, se = fitted[:2] if fitted is not None else _poisson_glm(a, b)
    p = max(stats.norm.sf((coef + margin_log) / se), stats.norm.cdf((coef - margin_log) / se))
    half = stats.norm.ppf(1 - ALPHA) * se
    model = "negative binomial GLM" if fitted is not None else "Poisson GLM"
    return Inference(float(p), float(np.exp(coef)), float(np.exp(coef - half)), float(np.exp(coef + half)),
                     f"rate ratio ({model}; 90 % CI; margin x{np.exp(-margin_log):.3g}-x{np.exp(margin_log):.3g})")


def share_of_runs(a) -> Inference:
    """The share of runs with a yes, Clopper-Pearson interval: an estimate, not a test."""
    result = binomial(a, 0.5, "two-sided")
    result.p, result.effect = None, "share of runs"
    return result


def mean_of_runs(a) -> Inference:
    """The mean of a per-run value with its BCa interval: an estimate, not a test."""
    a = np.asarray(a, float)
    if len(a) == 0:
        return undefined("mean of runs", "no run")
    return Inference(None, float(a.mean()), *bca(lambda x, axis=-1: np.mean(x, axis=axis), [a]), "mean of runs")
