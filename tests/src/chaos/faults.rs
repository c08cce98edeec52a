//! The faults the chaos run injects from outside: the emulator stopped and continued (every
//! AWS call hangs, as in a regional outage: nothing answers, so only timeouts save a caller),
//! and the processor's process killed while it works on a batch.

use std::path::Path;
use std::process::Command;

/// Stops (SIGSTOP) the process whose pid is in `pid_file`; `resume` continues it. A stopped
/// emulator keeps its state, as AWS does through an outage; killing it would instead model
/// AWS losing every queue and table, which is not a failure the product can or should
/// survive.
pub struct Emulator {
    pid: u32,
}

impl Emulator {
    pub fn from_pid_file(pid_file: &Path) -> Self {
        let text = std::fs::read_to_string(pid_file)
            .unwrap_or_else(|e| panic!("reading the emulator's pid file {}: {e}", pid_file.display()));
        Emulator { pid: text.trim().parse().expect("a pid") }
    }

    pub fn stop(&self) {
        signal("-STOP", self.pid);
    }

    pub fn resume(&self) {
        signal("-CONT", self.pid);
    }
}

/// The pids of running processes whose command is `target/<profile>/<binary>` (how `cargo
/// lambda watch` starts a function).
pub fn function_pids(binary: &str) -> Vec<u32> {
    let suffix = format!("/{binary}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let program = cmdline.split(|b| *b == 0).next()?;
            let program = std::str::from_utf8(program).ok()?;
            (program.contains("target/") && program.ends_with(&suffix)).then_some(pid)
        })
        .collect()
}

/// Kills (SIGKILL: no cleanup, no flush) every running instance of `binary`; returns how many.
pub fn kill_function(binary: &str) -> usize {
    let pids = function_pids(binary);
    for pid in &pids {
        signal("-KILL", *pid);
    }
    pids.len()
}

fn signal(which: &str, pid: u32) {
    let status = Command::new("kill").arg(which).arg(pid.to_string()).status().expect("running kill");
    assert!(status.success(), "kill {which} {pid} failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_stops_and_continues_a_process() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let dir = std::env::temp_dir().join(crate::unique_name("pid"));
        std::fs::write(&dir, child.id().to_string()).unwrap();
        let emulator = Emulator::from_pid_file(&dir);
        let stopped = || {
            let state = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
            state.contains(") T ")
        };
        // Signals are delivered asynchronously: give the state a moment to change.
        let eventually = |want: bool| {
            (0..100).any(|_| {
                stopped() == want || {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    false
                }
            })
        };
        emulator.stop();
        assert!(eventually(true), "stopped");
        emulator.resume();
        assert!(eventually(false), "continued");
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_file(dir).unwrap();
        assert!(function_pids("no-such-function-binary").is_empty());
    }
}
