//! The customer-lifetime models against the published results and the reference
//! implementation, on the CDNOW sample the papers use (2,357 customers, 39 weeks).
//!
//! The data and the reference predictions come from the `lifetimes` package (PyPI):
//! `scripts/test.sh` writes them to `target/clv` with `tools/clv-reference/reference.py`.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use xeno_domain::clv::{BgNbd, GammaGamma, History};

struct Row {
    history: History,
    spend: f64,
    p_alive: f64,
    expected_39: f64,
    expected_spend: f64,
}

fn reference() -> (Vec<Row>, HashMap<String, f64>) {
    let dir = std::env::var("XENO_CLV_REFERENCE").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/clv"),
        PathBuf::from,
    );
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|err| {
            panic!(
                "{} is missing ({err}): run scripts/test.sh, or \
                 `python tools/clv-reference/reference.py target/clv` with lifetimes==0.11.3 installed",
                dir.join(name).display()
            )
        })
    };
    let rows = read("cdnow.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            Row {
                history: History {
                    frequency: f[0],
                    recency: f[1],
                    age: f[2],
                },
                spend: f[3],
                p_alive: f[4],
                expected_39: f[5],
                expected_spend: f[6],
            }
        })
        .collect();
    let params = read("params.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let (name, value) = line.split_once(',').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect();
    (rows, params)
}

/// `value` rounded to three significant figures equals `published`'s.
fn three_figures(value: f64, published: f64) -> bool {
    let digits = |v: f64| {
        let scale = 10f64.powi(2 - v.abs().log10().floor() as i32);
        (v * scale).round() / scale
    };
    digits(value) == digits(published)
}

#[test]
fn bg_nbd_reproduces_the_paper_and_the_reference_implementation() {
    let (rows, reference) = reference();
    assert_eq!(rows.len(), 2357, "the CDNOW sample");
    let histories: Vec<History> = rows.iter().map(|r| r.history).collect();
    let model = BgNbd::fit(&histories).unwrap();
    // Fader, Hardie and Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
    for (name, got, published) in [
        ("r", model.r, 0.243),
        ("alpha", model.alpha, 4.414),
        ("a", model.a, 0.793),
        ("b", model.b, 2.426),
    ] {
        assert!(
            three_figures(got, published),
            "{name} = {got}, published {published}"
        );
        let theirs = reference[name];
        assert!(
            (got - theirs).abs() / theirs < 1e-3,
            "{name} = {got}, lifetimes {theirs}"
        );
    }
    assert!(
        (model.log_likelihood - -9582.4).abs() < 0.1,
        "LL = {}",
        model.log_likelihood
    );
    // Each customer's chance of being active and purchases in the next 39 weeks.
    let mut worst = (0.0_f64, 0.0_f64);
    for row in &rows {
        worst.0 = worst
            .0
            .max((model.probability_alive(&row.history) - row.p_alive).abs());
        worst.1 = worst
            .1
            .max((model.expected_purchases(39.0, &row.history) - row.expected_39).abs());
    }
    assert!(
        worst.0 < 1e-3 && worst.1 < 1e-3,
        "largest differences from lifetimes: {worst:?}"
    );
    // And the sample's total, as the paper's holdout comparison sums it.
    let total: f64 = rows
        .iter()
        .map(|r| model.expected_purchases(39.0, &r.history))
        .sum();
    let theirs: f64 = rows.iter().map(|r| r.expected_39).sum();
    assert!(
        (total - theirs).abs() / theirs < 1e-4,
        "{total} vs {theirs}"
    );
}

#[test]
fn gamma_gamma_reproduces_the_paper_and_the_reference_implementation() {
    let (rows, reference) = reference();
    let spends: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r.history.frequency, r.spend))
        .collect();
    let model = GammaGamma::fit(&spends).unwrap();
    // Fader and Hardie: p = 6.25, q = 3.74, γ = 15.44.
    for (name, got, published, theirs) in [
        ("p", model.p, 6.25, reference["p"]),
        ("q", model.q, 3.74, reference["q"]),
        ("gamma", model.gamma, 15.44, reference["v"]),
    ] {
        assert!(
            three_figures(got, published),
            "{name} = {got}, published {published}"
        );
        assert!(
            (got - theirs).abs() / theirs < 1e-3,
            "{name} = {got}, lifetimes {theirs}"
        );
    }
    let worst = rows
        .iter()
        .map(|r| {
            let ours = model.expected_spend(r.history.frequency, r.spend);
            (ours - r.expected_spend).abs() / r.expected_spend
        })
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-3,
        "largest relative difference from lifetimes: {worst}"
    );
}
