//! Customer lifetime value from repeat-purchase histories: the BG/NBD model (Fader, Hardie
//! and Lee, 2005) for how many purchases a customer will make and whether they are still
//! active, and the Gamma-Gamma model (Fader and Hardie, 2013) for what they spend per
//! purchase. Both are fitted by maximum likelihood (Nelder-Mead over the logarithms of the
//! parameters, which keeps them positive).
//!
//! A customer is summarised as `frequency` (repeat purchases: purchases after the first),
//! `recency` (time from the first purchase to the last) and `age` (time from the first
//! purchase to the end of the observation), all in one time unit (weeks, say).

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use libm::lgamma;

/// One customer's purchase history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    /// Repeat purchases.
    pub frequency: f64,
    /// From the first purchase to the last.
    pub recency: f64,
    /// From the first purchase to the end of the observation (`T` in the papers).
    pub age: f64,
}

/// Fitted BG/NBD parameters: purchase rates ~ Gamma(r, α); drop-out ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    /// The fit's log-likelihood.
    pub log_likelihood: f64,
}

/// Fitted Gamma-Gamma parameters for the spend per purchase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
    pub log_likelihood: f64,
}

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error(
        "too few customers with repeat purchases to fit ({0}; at least {MIN_REPEATERS} are needed)"
    )]
    TooFewRepeaters(usize),
    #[error("the fit did not converge: {0}")]
    NoConvergence(String),
}

/// Repeat customers a fit needs before its parameters mean anything.
pub const MIN_REPEATERS: usize = 20;

fn log_beta(a: f64, b: f64) -> f64 {
    lgamma(a) + lgamma(b) - lgamma(a + b)
}

/// ln(e^x + e^y) without overflow.
fn log_add_exp(x: f64, y: f64) -> f64 {
    let high = x.max(y);
    if high == f64::NEG_INFINITY {
        return high;
    }
    high + ((x - high).exp() + (y - high).exp()).ln()
}

impl BgNbd {
    /// One customer's log-likelihood (FHL 2005, equation 6).
    fn customer_log_likelihood(r: f64, alpha: f64, a: f64, b: f64, h: &History) -> f64 {
        let x = h.frequency;
        let a1 = lgamma(r + x) - lgamma(r) + r * alpha.ln();
        let a2 = log_beta(a, b + x) - log_beta(a, b);
        let a3 = -(r + x) * (alpha + h.age).ln();
        let a4 = if x > 0.0 {
            a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + h.recency).ln()
        } else {
            f64::NEG_INFINITY
        };
        a1 + a2 + log_add_exp(a3, a4)
    }

    pub fn log_likelihood_of(r: f64, alpha: f64, a: f64, b: f64, histories: &[History]) -> f64 {
        histories
            .iter()
            .map(|h| Self::customer_log_likelihood(r, alpha, a, b, h))
            .sum()
    }

    /// The maximum-likelihood fit to `histories`.
    pub fn fit(histories: &[History]) -> Result<Self, FitError> {
        let repeaters = histories.iter().filter(|h| h.frequency > 0.0).count();
        if repeaters < MIN_REPEATERS {
            return Err(FitError::TooFewRepeaters(repeaters));
        }
        let best = minimise(
            |p| -Self::log_likelihood_of(p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp(), histories),
            &[0.0, 0.0, 0.0, 0.0],
        )?;
        let [r, alpha, a, b] = [best[0].exp(), best[1].exp(), best[2].exp(), best[3].exp()];
        Ok(Self {
            r,
            alpha,
            a,
            b,
            log_likelihood: Self::log_likelihood_of(r, alpha, a, b, histories),
        })
    }

    /// The probability the customer is still active (FHL 2005, equation 12).
    pub fn probability_alive(&self, h: &History) -> f64 {
        if h.frequency <= 0.0 {
            return 1.0;
        }
        let x = h.frequency;
        let ratio = (self.a / (self.b + x - 1.0))
            * ((self.alpha + h.age) / (self.alpha + h.recency)).powf(self.r + x);
        1.0 / (1.0 + ratio)
    }

    /// Purchases expected in the next `t` (FHL 2005, equation 10).
    pub fn expected_purchases(&self, t: f64, h: &History) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = h.frequency;
        let z = t / (alpha + h.age + t);
        let hyper = hypergeometric_2f1(r + x, b + x, a + b + x - 1.0, z);
        let numerator = (a + b + x - 1.0) / (a - 1.0)
            * (1.0 - ((alpha + h.age) / (alpha + h.age + t)).powf(r + x) * hyper);
        let denominator = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + h.age) / (alpha + h.recency)).powf(r + x)
        } else {
            1.0
        };
        numerator / denominator
    }
}

impl GammaGamma {
    /// One repeat customer's log-likelihood of their mean spend `m` over `x` purchases.
    fn customer_log_likelihood(p: f64, q: f64, gamma: f64, x: f64, m: f64) -> f64 {
        lgamma(p * x + q) - lgamma(p * x) - lgamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + (p * x) * x.ln()
            - (p * x + q) * (x * m + gamma).ln()
    }

    /// The maximum-likelihood fit to repeat customers' (purchases, mean spend per purchase);
    /// customers without repeat purchases or spend are left out, as the model requires.
    pub fn fit(customers: &[(f64, f64)]) -> Result<Self, FitError> {
        let repeaters: Vec<(f64, f64)> = customers
            .iter()
            .copied()
            .filter(|(x, m)| *x > 0.0 && *m > 0.0)
            .collect();
        if repeaters.len() < MIN_REPEATERS {
            return Err(FitError::TooFewRepeaters(repeaters.len()));
        }
        let log_likelihood = |p: f64, q: f64, g: f64| -> f64 {
            repeaters
                .iter()
                .map(|(x, m)| Self::customer_log_likelihood(p, q, g, *x, *m))
                .sum()
        };
        let best = minimise(
            |v| -log_likelihood(v[0].exp(), v[1].exp(), v[2].exp()),
            &[0.0, 0.0, 0.0],
        )?;
        let [p, q, gamma] = [best[0].exp(), best[1].exp(), best[2].exp()];
        Ok(Self {
            p,
            q,
            gamma,
            log_likelihood: log_likelihood(p, q, gamma),
        })
    }

    /// The expected spend per purchase of a customer with `x` repeat purchases averaging
    /// `m` (the population mean for one with none).
    pub fn expected_spend(&self, x: f64, m: f64) -> f64 {
        (self.gamma + m * x) * self.p / (self.p * x + self.q - 1.0)
    }
}

/// Gauss's hypergeometric function ₂F₁(a, b; c; z) by its series, for 0 ≤ z < 1 (where the
/// models use it).
pub fn hypergeometric_2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..10_000 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

struct Objective<F>(F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, param: &Self::Param) -> Result<Self::Output, argmin::core::Error> {
        let value = (self.0)(param);
        // Outside where the likelihood is defined, a step is simply bad.
        Ok(if value.is_finite() { value } else { f64::MAX })
    }
}

/// The minimum of `f` near `start` (Nelder-Mead, restarted once from its own answer so an
/// early collapse of the simplex cannot stop it short).
fn minimise(f: impl Fn(&[f64]) -> f64, start: &[f64]) -> Result<Vec<f64>, FitError> {
    let mut point = start.to_vec();
    let objective = Objective(f);
    let mut problem = objective;
    for _ in 0..2 {
        let mut simplex = vec![point.clone()];
        for i in 0..point.len() {
            let mut vertex = point.clone();
            vertex[i] += 0.5;
            simplex.push(vertex);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-10)
            .map_err(|err| FitError::NoConvergence(err.to_string()))?;
        let result = Executor::new(problem, solver)
            .configure(|state| state.max_iters(5_000))
            .run()
            .map_err(|err| FitError::NoConvergence(err.to_string()))?;
        point = result
            .state()
            .get_best_param()
            .cloned()
            .ok_or_else(|| FitError::NoConvergence("no best point".to_owned()))?;
        problem = result.problem.problem.ok_or_else(|| {
            FitError::NoConvergence("the objective was not handed back".to_owned())
        })?;
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hypergeometric_series_meets_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z
        let z: f64 = 0.6;
        assert!((hypergeometric_2f1(1.0, 1.0, 2.0, z) - (-(1.0 - z).ln() / z)).abs() < 1e-12);
        // ₂F₁(a, b; b; z) = (1 − z)^(−a)
        assert!((hypergeometric_2f1(2.5, 3.0, 3.0, 0.3) - 0.7_f64.powf(-2.5)).abs() < 1e-12);
    }

    #[test]
    fn a_customer_without_repeat_purchases_is_alive_and_few_repeaters_cannot_be_fitted() {
        let model = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
            log_likelihood: 0.0,
        };
        let newcomer = History {
            frequency: 0.0,
            recency: 0.0,
            age: 30.0,
        };
        assert_eq!(model.probability_alive(&newcomer), 1.0);
        let few = vec![
            History {
                frequency: 1.0,
                recency: 2.0,
                age: 10.0
            };
            3
        ];
        assert_eq!(BgNbd::fit(&few), Err(FitError::TooFewRepeaters(3)));
    }
}
