//! What the binary's test suites (`cli.rs`, `ops.rs`) share: the `basalt` command on a data
//! directory of the test's own, and a free port.

use std::{net::TcpListener, path::Path, process::Command};

/// `basalt --data-dir DIR`, with the database and data-mode variables of the environment
/// removed: the suite may run with `DATABASE_URL` pointing elsewhere, and these tests own their
/// SQLite.
pub fn basalt(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_basalt"));
    c.arg("--data-dir").arg(data_dir);
    for v in [
        "DATABASE_URL",
        "WARROOM_DATABASE_URL",
        "PAWFECT_DATABASE_URL",
        "CRENOIR_DATABASE_URL",
        "LEADGEN_DATABASE_URL",
        "DATA_MODE",
        "BASALT_DATA_DIR",
    ] {
        c.env_remove(v);
    }
    c
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
