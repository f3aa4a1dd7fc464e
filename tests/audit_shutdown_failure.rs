//! A shutdown whose write fails leaves no shutdown record without its final checkpoint: the writer
//! cuts what the failed batch wrote before it stops, so the log still verifies (as a log that was
//! not closed) and continues at the next start. Without the cut, a write cut short right after the
//! shutdown line would read as a removed final checkpoint.
//!
//! The file size limit (RLIMIT_FSIZE) makes the write fail at an exact byte; it is process-wide,
//! so this test lives alone in its binary.

mod audit_support;

use audit_support::*;
use sluice::audit::keys::load_verifying_key;
use sluice::audit::verify::{verify_log, VerifyOptions};
use sluice::audit::{AuditConfig, AuditError, AuditLog, Receipt};

fn set_file_size_limit(bytes: libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a stack struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        limit.rlim_cur = bytes.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

fn config(f: &Fixture) -> AuditConfig {
    AuditConfig {
        checkpoint_every_records: 100_000,
        ..f.config()
    }
}

/// Writes three decisions and shuts down, with the file allowed to grow `room` bytes at shutdown.
fn close(f: &Fixture, room: Option<u64>) -> Result<Receipt, AuditError> {
    let log = AuditLog::open(&config(f)).unwrap();
    append_decisions(&log, 3, "req");
    if let Some(room) = room {
        set_file_size_limit(std::fs::metadata(f.file(1)).unwrap().len() + room);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let closed = rt.block_on(log.shutdown());
    set_file_size_limit(libc::RLIM_INFINITY);
    closed
}

#[test]
fn a_shutdown_cut_short_after_its_shutdown_line_leaves_a_log_that_verifies() {
    // SAFETY: ignoring SIGXFSZ makes an over-limit write return EFBIG instead of killing us.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    // A log that closes normally has the same record lengths: it says where to cut.
    let reference = Fixture::new();
    close(&reference, None).unwrap();
    let lines = read_lines(&reference.file(1));
    let last = find_kind(&lines, "shutdown", 0);
    assert_eq!(last + 2, lines.len());
    let room = lines[last].len() as u64 + 1;

    let f = Fixture::new();
    let err = close(&f, Some(room)).unwrap_err();
    assert!(err.to_string().contains("File too large"), "{err}");
    // Whole lines only: the record of the cut may itself have been cut short by the limit (the
    // next start cuts that too).
    let text = std::fs::read_to_string(f.file(1)).unwrap();
    let whole = &text[..text.rfind('\n').unwrap() + 1];
    assert!(
        whole.lines().all(|l| parse(l)["kind"] != "shutdown"),
        "a shutdown record without its checkpoint was left: {:?}",
        whole.lines().last()
    );
    let trusted = VerifyOptions {
        trusted_keys: vec![load_verifying_key(&f.public_key).unwrap()],
        anchors: vec![],
    };
    verify_log(&f.dir, &trusted).unwrap();

    let log = AuditLog::open(&config(&f)).unwrap();
    append_decisions(&log, 1, "after");
    shutdown(&log);
    verify_log(&f.dir, &trusted).unwrap();
}
