//! Side-by-side timing for msim's benchmarks: a subject and its baseline run in alternating
//! rounds in the same process, so machine noise hits both; we report medians and their ratio.
//! Benchmarks are not tests: CI builds them (`cargo build --all-targets` in test.sh) but never times
//! them.
#![allow(dead_code)] // each bench uses a different subset

use std::hint::black_box;
use std::time::Instant;

/// Nanoseconds per iteration of `f`, median over `rounds` rounds of `iters` iterations.
pub struct Sample {
    pub median_ns: f64,
    pub p10_ns: f64,
    pub p90_ns: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs each closure in turn, `rounds` times, `iters` calls per round, and returns one sample each.
pub fn side_by_side(rounds: usize, iters: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<Sample> {
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); fs.len()];
    for f in fs.iter_mut() {
        for _ in 0..iters / 10 + 1 {
            f(); // warm-up
        }
    }
    for _ in 0..rounds {
        for (i, f) in fs.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            times[i].push(t.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(|a, b| a.partial_cmp(b).unwrap());
            Sample { median_ns: percentile(&t, 0.5), p10_ns: percentile(&t, 0.1), p90_ns: percentile(&t, 0.9) }
        })
        .collect()
}

/// Keeps a value alive so the optimiser cannot drop the work that produced it.
pub fn keep<T>(v: T) -> T {
    black_box(v)
}

/// Reads `tests/data/bench-corpus.tsv`: (name, wire bytes).
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bench-corpus.tsv");
    let data = std::fs::read(path).expect("bench corpus readable");
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(|l| {
            let tab = l.iter().position(|&b| b == b'\t').expect("name<TAB>bytes");
            (String::from_utf8_lossy(&l[..tab]).into_owned(), l[tab + 1..].to_vec())
        })
        .collect()
}

pub fn row(name: &str, s: &Sample, baseline: Option<(&str, &Sample)>) {
    match baseline {
        Some((bname, b)) => println!(
            "{name:<44} {:>9.1} ns  (p10 {:>8.1}, p90 {:>8.1})   {:>6.2}x {bname}",
            s.median_ns,
            s.p10_ns,
            s.p90_ns,
            s.median_ns / b.median_ns
        ),
        None => println!("{name:<44} {:>9.1} ns  (p10 {:>8.1}, p90 {:>8.1})", s.median_ns, s.p10_ns, s.p90_ns),
    }
}

/// Re-runs this benchmark's executable as its server (`role_var=server`, plus `env`), in a
/// process of its own so that its memory is measured apart, and waits for the `ready …` line it
/// prints once listening: the child (the server exits when its stdin closes) and the numbers
/// after `ready`.
pub fn start_server_process(role_var: &str, env: &[(&str, String)]) -> (std::process::Child, Vec<u64>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(role_var, "server")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    let fields = ready.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
    (child, fields)
}

/// A `/proc/PID/status` figure in KiB (`key` such as `"VmRSS:"`; `pid` may be `"self"`); 0 when
/// it cannot be read.
pub fn status_kib(pid: &str, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
