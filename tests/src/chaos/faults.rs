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

/// The pids of running processes whose command is `target/<profile>/<binary>` (how the
/// local hosts start a function) and whose environment points the AWS SDK at
/// `endpoint_url`: the functions of this stack, not those of another stack (`make dev`, a
/// bench, another checkout's test run) that happens to run the same binary.
pub fn function_pids(binary: &str, endpoint_url: &str) -> Vec<u32> {
    let suffix = format!("/{binary}");
    let endpoint = format!("AWS_ENDPOINT_URL={endpoint_url}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let program = cmdline.split(|b| *b == 0).next()?;
            let program = std::str::from_utf8(program).ok()?;
            if !(program.contains("target/") && program.ends_with(&suffix)) {
                return None;
            }
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ.split(|b| *b == 0).any(|variable| variable == endpoint.as_bytes()).then_some(pid)
        })
        .collect()
}

/// Kills (SIGKILL: no cleanup, no flush) every running instance of `binary` of the stack
/// at `endpoint_url`; returns how many.
pub fn kill_function(binary: &str, endpoint_url: &str) -> usize {
    let pids = function_pids(binary, endpoint_url);
    for pid in &pids {
        signal("-KILL", *pid);
    }
    pids.len()
}

/// The pids of `function`'s execution environments that the local Lambda host at `host_url`
/// (lambda_host.py's status, `GET /`) reports busy: holding an invocation. Empty when the host
/// does not answer.
pub fn busy_environments(host_url: &str, function: &str) -> Vec<u32> {
    let Ok(output) = Command::new("curl").args(["-sf", "--max-time", "2", host_url]).output() else {
        return Vec::new();
    };
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    status["functions"][function]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|environment| environment["busy"] == true)
        .filter_map(|environment| environment["pid"].as_u64().and_then(|pid| u32::try_from(pid).ok()))
        .collect()
}

/// Kills (SIGKILL) one of `function`'s busy environments, so that a batch dies with it;
/// waits up to `within` for one to be busy. The pid killed, or `None` if none was busy.
pub async fn kill_busy(host_url: &str, function: &str, within: std::time::Duration) -> Option<u32> {
    let started = std::time::Instant::now();
    loop {
        if let Some(&pid) = busy_environments(host_url, function).first() {
            signal("-KILL", pid);
            return Some(pid);
        }
        if started.elapsed() > within {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn signal(which: &str, pid: u32) {
    let status = Command::new("kill").arg(which).arg(pid.to_string()).status().expect("running kill");
    assert!(status.success(), "kill {which} {pid} failed");
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;
    use std::time::Duration;

    use super::*;

    /// Whether `condition` holds within about a second: what a signal or an exec changes in
    /// /proc shows up a moment after the call that causes it returns.
    fn within_a_second(mut condition: impl FnMut() -> bool) -> bool {
        (0..100).any(|_| {
            condition() || {
                std::thread::sleep(Duration::from_millis(10));
                false
            }
        })
    }

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
        emulator.stop();
        assert!(within_a_second(stopped), "stopped");
        emulator.resume();
        assert!(within_a_second(|| !stopped()), "continued");
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_file(dir).unwrap();
    }

    #[test]
    fn finds_only_the_functions_of_its_own_stack() {
        // Two instances of one "function" binary under a target/ directory, for two stacks.
        let dir = std::env::temp_dir().join(crate::unique_name("fn")).join("target/debug");
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("hookline-fake-function");
        std::fs::copy("/bin/sleep", &binary).unwrap();
        // A child forked by another test's thread while the copy was open for writing holds
        // that descriptor until it execs, and exec refuses a file open for writing (ETXTBSY).
        let spawn = |endpoint: &str| {
            let mut attempts = 0;
            loop {
                match Command::new(&binary).arg("30").env("AWS_ENDPOINT_URL", endpoint).spawn() {
                    Err(e) if e.kind() == ErrorKind::ExecutableFileBusy && attempts < 100 => attempts += 1,
                    spawned => break spawned.unwrap(),
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let mut ours = spawn("http://127.0.0.1:4571");
        let mut theirs = spawn("http://127.0.0.1:4566");

        // spawn returns once the child has started its exec, and the kernel fills in the new
        // program's command line and environment a moment later: look until they are there.
        let found =
            |endpoint: &str, pid: u32| within_a_second(|| function_pids("hookline-fake-function", endpoint) == [pid]);
        assert!(found("http://127.0.0.1:4571", ours.id()), "ours");
        assert!(found("http://127.0.0.1:4566", theirs.id()), "theirs");
        assert!(function_pids("hookline-fake-function", "http://127.0.0.1:1").is_empty());
        assert!(function_pids("no-such-function-binary", "http://127.0.0.1:4571").is_empty());

        assert_eq!(kill_function("hookline-fake-function", "http://127.0.0.1:4571"), 1);
        assert!(!ours.wait().unwrap().success(), "killed");
        assert!(theirs.try_wait().unwrap().is_none(), "the other stack's process is untouched");
        theirs.kill().unwrap();
        theirs.wait().unwrap();
        std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
    }
}
