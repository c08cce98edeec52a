//! The local stack's settings: `make dev` writes them to `.hookline/local.env` (queue URLs,
//! table names, the emulator's endpoint and credentials), so that the CLI, run from anywhere
//! in the project, finds them without the file being sourced first.

use std::path::{Path, PathBuf};

/// Where `make dev` writes the local stack's settings, relative to the project root.
pub const LOCAL_ENV: &str = ".hookline/local.env";

/// The local settings file of the project `start` is in: `start` or the nearest directory
/// above it that has one.
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|dir| dir.join(LOCAL_ENV)).find(|path| path.is_file())
}

/// The `NAME=value` lines of an env file, in order; blank lines and `#` comments skipped.
/// Values are taken as written (the file is plain, as `provision.py` writes it).
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

/// The settings to apply: those whose variable the environment does not set already, so a
/// flag or an exported variable always wins over the file.
pub fn missing(settings: Vec<(String, String)>, is_set: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    settings.into_iter().filter(|(name, _)| !is_set(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_values_and_skips_comments() {
        let text =
            "# Written by provision.py\n\nAWS_REGION=us-east-1\nHOOKLINE_QUEUE_URL=http://q/a=b\n  \nnot a line\n=x\n";
        assert_eq!(
            parse(text),
            [("AWS_REGION", "us-east-1"), ("HOOKLINE_QUEUE_URL", "http://q/a=b")]
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let settings = parse("A=1\nB=2\n");
        assert_eq!(missing(settings, |name| name == "A"), [("B".to_owned(), "2".to_owned())]);
    }

    #[test]
    fn found_from_any_directory_below_the_project() {
        let root = std::env::temp_dir().join(format!("hookline-local-env-{}", std::process::id()));
        let deep = root.join("functions/cli/src");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find(&deep), None);
        std::fs::create_dir_all(root.join(".hookline")).unwrap();
        std::fs::write(root.join(LOCAL_ENV), "A=1\n").unwrap();
        assert_eq!(find(&deep), Some(root.join(LOCAL_ENV)));
        assert_eq!(find(&root), Some(root.join(LOCAL_ENV)));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
