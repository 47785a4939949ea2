//! Headless Chromium for the browser tests: launched on a page, killed with every process it
//! started, its profile removed, however the test ends. (A test that uses it declares
//! `mod process;` too.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::process::{kill_and_clean, temp_dir};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether Chromium is there: without it a test fails when `CI` is set, and is skipped,
/// with a message, otherwise (`false`).
pub(crate) fn chromium_or_skip() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    let why = format!("{CHROMIUM} is missing (Debian package `chromium`; `.ci/run` installs it)");
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("skipping the browser test: {why}");
    false
}

/// A headless Chromium in its own process group, with a fresh profile.
pub(crate) struct Browser {
    pub(crate) child: tokio::process::Child,
    dir: PathBuf,
}

impl Browser {
    pub(crate) fn launch(url: &str) -> Browser {
        let dir = temp_dir("sse-wire-chromium");
        let log = std::fs::File::create(dir.join("chromium.log")).unwrap();
        let child = tokio::process::Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                // Containers often have a tiny /dev/shm, which crashes renderers.
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
        Browser { child, dir }
    }

    /// The end of Chromium's log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("chromium.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The first report the page posts, within `limit`; fails the test if Chromium exits
    /// or the page stays silent.
    pub(crate) async fn report<T>(
        &mut self,
        reports: &mut mpsc::UnboundedReceiver<T>,
        limit: Duration,
    ) -> T {
        tokio::select! {
            report = tokio::time::timeout(limit, reports.recv()) => match report {
                Ok(Some(report)) => report,
                _ => panic!("no report from the page within {limit:?}; chromium's log:\n{}", self.log_tail()),
            },
            status = self.child.wait() => {
                panic!("chromium exited early ({status:?}); its log:\n{}", self.log_tail())
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The whole group: renderer and utility processes too, not only the browser.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        kill_and_clean(&mut self.child, &self.dir);
    }
}
