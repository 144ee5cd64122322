//! An example program run as a child process, as a user runs it: its
//! binary found beside the test's own, started on a free loopback port,
//! its stdout read line by line with bounded waits, killed on drop.
//!
//! `cargo test` builds the examples before it runs the tests, but
//! `cargo test --test NAME` alone does not: [`example_binary`] fails with
//! what to run when the binary is missing or older than its sources.

use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Instant;

use super::WAIT;

/// The example `name` that cargo built beside this test binary
/// (`target/<profile>/examples/` beside `target/<profile>/deps/`).
pub fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps/");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let rebuild =
        format!("run `cargo test` (which builds the examples) or `cargo build --example {name}`");
    let built = fs::metadata(&binary)
        .and_then(|metadata| metadata.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {rebuild}", binary.display()));
    for source in sources_of(&binary) {
        if let Ok(changed) = fs::metadata(&source).and_then(|metadata| metadata.modified()) {
            assert!(
                changed <= built,
                "{} changed since {} was built: {rebuild}",
                source.display(),
                binary.display()
            );
        }
    }
    binary
}

/// The source files `binary` was built from, as the dep-info file cargo
/// writes beside it (`NAME.d`, one make rule) lists them; none without it.
fn sources_of(binary: &Path) -> Vec<PathBuf> {
    let Ok(dep_info) = fs::read_to_string(binary.with_extension("d")) else {
        return Vec::new();
    };
    let Some((_, sources)) = dep_info.split_once(": ") else {
        return Vec::new();
    };
    // Make escapes a space in a path as `\ `.
    let sources = sources.replace("\\ ", "\0");
    sources
        .split_whitespace()
        .map(|path| PathBuf::from(path.replace('\0', " ")))
        .collect()
}

/// A running example server, killed on drop; its stdout lines arrive on a
/// channel.
pub struct RunningExample {
    name: String,
    child: Child,
    /// Where it listens, from its `listening on ADDR` line.
    pub addr: SocketAddr,
    lines: Receiver<String>,
    /// Lines received but not yet asked for: threads in the example print
    /// in whatever order they run.
    unclaimed: RefCell<Vec<String>>,
}

impl RunningExample {
    /// Starts example `name` with `args` and waits, at most [`WAIT`], for
    /// the line saying where it listens.
    pub fn start(name: &str, args: &[&str]) -> RunningExample {
        let mut child = Command::new(example_binary(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("start the {name} example: {error}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut running = RunningExample {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            lines,
            unclaimed: RefCell::new(Vec::new()),
        };
        let startup = running.line_with(&["listening"]);
        // `listening on ADDR ...`, or as JSON `..."listeners":["ADDR",...`.
        let addr = match startup.split_once("listening on ") {
            Some((_, addr)) => addr.split_whitespace().next(),
            None => startup
                .split_once("\"listeners\":[\"")
                .and_then(|(_, addr)| addr.split('"').next()),
        };
        running.addr = addr
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address it listens on in {startup:?}"));
        running
    }

    /// The first line printed that contains every one of `parts` and was
    /// not returned before, waiting at most [`WAIT`] for it.
    pub fn line_with(&self, parts: &[&str]) -> String {
        let wanted = |line: &String| parts.iter().all(|part| line.contains(part));
        let mut unclaimed = self.unclaimed.borrow_mut();
        if let Some(at) = unclaimed.iter().position(wanted) {
            return unclaimed.remove(at);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(line) => unclaimed.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: no line with {parts:?} in {WAIT:?}", self.name)
                }
                Err(RecvTimeoutError::Disconnected) => panic!("{} exited", self.name),
            }
        }
    }
}

impl RunningExample {
    /// The process ID of the running example.
    pub fn child_id(&self) -> u32 {
        self.child.id()
    }

    /// The next line not returned before, if one comes within `wait`.
    pub fn next_line_within(&self, wait: std::time::Duration) -> Option<String> {
        let mut unclaimed = self.unclaimed.borrow_mut();
        if !unclaimed.is_empty() {
            return Some(unclaimed.remove(0));
        }
        match self.lines.recv_timeout(wait) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("{} exited", self.name),
        }
    }
}

impl Drop for RunningExample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
