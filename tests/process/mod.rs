//! Helper processes for tests (a browser, a proxy): each in a fresh temp dir, killed and
//! its dir removed however the test ends.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A new, empty directory of its own under the system's temp dir.
pub(crate) fn temp_dir(prefix: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kills `child`, reaps it (waiting up to 5 s: it may still be writing into `dir`), then
/// removes `dir`.
pub(crate) fn kill_and_clean(child: &mut tokio::process::Child, dir: &PathBuf) {
    let _ = child.start_kill();
    for _ in 0..500 {
        if !matches!(child.try_wait(), Ok(None)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_dir_all(dir);
}
