//! A write that really fails reaches the submitter as an error, the log refuses records while it
//! cannot be repaired, and once writing works again it cuts the failed batch's bytes, records the
//! repair, and continues a chain that verifies, holding none of the refused records.
//!
//! Root ignores permission bits, so a read-only directory does not make writes fail here. The
//! file size limit (RLIMIT_FSIZE) does, for root too: the kernel cuts the write at the limit and
//! then fails it with EFBIG. The limit is process-wide, so this test lives alone in its binary.

mod audit_support;

use std::collections::BTreeSet;

use audit_support::*;
use sluice::audit::body::{Body, RecoveryCause};
use sluice::audit::keys::load_verifying_key;
use sluice::audit::record::StoredRecord;
use sluice::audit::verify::{verify_log, VerifyOptions};
use sluice::audit::{Action, AuditConfig, AuditError, AuditLog, Kind};

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

#[test]
fn a_failed_write_is_an_error_to_its_submitters_and_is_repaired() {
    // SAFETY: ignoring SIGXFSZ makes an over-limit write return EFBIG instead of killing us.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let f = Fixture::new();
    let log = AuditLog::open(&AuditConfig {
        checkpoint_every_records: 100_000,
        ..f.config()
    })
    .unwrap();
    append_decisions(&log, 4, "ok");
    let size = std::fs::metadata(f.file(1)).unwrap().len();
    set_file_size_limit(size + 300);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..20 {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                let d = decision(
                    log.fingerprinter(),
                    &format!("refused-{i}"),
                    "demo",
                    Action::Local,
                    true,
                );
                (format!("refused-{i}"), log.append(d).await)
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    let failed: BTreeSet<String> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        !failed.is_empty(),
        "some appends must fail past the size limit"
    );
    for (_, r) in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, AuditError::Write(_) | AuditError::Unavailable(_)),
                "{e}"
            );
            assert!(e.to_string().contains("File too large"), "{e}");
        }
    }
    assert!(
        results
            .iter()
            .any(|(_, r)| matches!(r, Err(AuditError::Write(_)))),
        "the batch that hit the limit reports the write failure itself"
    );
    assert!(!log.is_writable(), "readiness reports the failure");
    assert!(
        std::fs::metadata(f.file(1)).unwrap().len() > size,
        "the failed write left partial bytes to cut"
    );

    let d = decision(
        log.fingerprinter(),
        "still-refused",
        "demo",
        Action::Local,
        true,
    );
    let still = rt.block_on(log.append(d));
    assert!(
        matches!(
            still,
            Err(AuditError::Unavailable(_)) | Err(AuditError::Write(_))
        ),
        "{still:?}"
    );

    set_file_size_limit(libc::RLIM_INFINITY);
    let d = decision(
        log.fingerprinter(),
        "after-repair",
        "demo",
        Action::Local,
        true,
    );
    rt.block_on(log.append(d))
        .expect("the log repairs itself once writing works");
    assert!(log.is_writable());
    rt.block_on(log.shutdown()).unwrap();

    let recs: Vec<StoredRecord> = read_lines(&f.file(1))
        .iter()
        .map(|l| StoredRecord::parse(l.as_bytes()).unwrap())
        .collect();
    let ids: BTreeSet<String> = recs
        .iter()
        .filter_map(|r| match Body::parse(r.kind, &r.body).unwrap() {
            Body::Decision(d) => Some(d.request_id),
            _ => None,
        })
        .collect();
    for id in &failed {
        assert!(!ids.contains(id), "refused record {id} is in the log");
    }
    assert!(!ids.contains("still-refused"));
    assert!(ids.contains("after-repair"));
    let succeeded = results.len() - failed.len();
    assert_eq!(ids.len(), 4 + succeeded + 1);
    let repairs: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == Kind::Recovered)
        .map(|r| match Body::parse(r.kind, &r.body).unwrap() {
            Body::Recovered(x) => x,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(repairs.len(), 1);
    assert_eq!(repairs[0].cause, RecoveryCause::WriteFailed);
    assert!(repairs[0].cut_bytes > 0 && repairs[0].cut_bytes <= 300);
    let options = VerifyOptions {
        trusted_keys: vec![load_verifying_key(&f.public_key).unwrap()],
        anchors: vec![],
    };
    verify_log(&f.dir, &options).unwrap();
}
