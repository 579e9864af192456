//! The command line as scripts use it (SPEC §11).

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

use std::process::{Command, Output};

fn jointpanel(url: &str, args: &[&str], password: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jointpanel"));
    c.args(args)
        .env("JOINTPANEL_DATABASE_URL", url)
        .env("JOINTPANEL_LOG", "warn")
        .env_remove("JOINTPANEL_PASSWORD");
    if let Some(p) = password {
        c.env("JOINTPANEL_PASSWORD", p);
    }
    c.output().expect("run jointpanel")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scripted_administration(url: &str, tamper: impl FnOnce()) {
    let o = jointpanel(url, &["migrate"], None);
    assert!(o.status.success(), "{}", text(&o));
    let o = jointpanel(url, &["demo"], None);
    assert!(
        text(&o).contains("sysadmin@northmoor.example"),
        "{}",
        text(&o)
    );

    let o = jointpanel(
        url,
        &[
            "create-user",
            "--email",
            "new.chair@example.org",
            "--name",
            "Rowan Ellery",
            "--role",
            "chair",
            "--role",
            "member",
            "--agency",
            "SEND",
        ],
        Some("slate orchard lantern"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = jointpanel(
        url,
        &[
            "create-user",
            "--email",
            "weak@example.org",
            "--name",
            "Weak Password",
            "--role",
            "chair",
        ],
        Some("password123"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("12 characters"), "{}", text(&o));
    let o = jointpanel(
        url,
        &[
            "create-user",
            "--email",
            "x@example.org",
            "--name",
            "X Person",
            "--role",
            "overlord",
        ],
        Some("slate orchard lantern"),
    );
    assert!(
        !o.status.success() && text(&o).contains("unknown role"),
        "{}",
        text(&o)
    );

    let o = jointpanel(
        url,
        &["create-token", "--email", "new.chair@example.org"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).trim().starts_with("jp_"));

    let o = jointpanel(url, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("intact"));
    tamper();
    let o = jointpanel(url, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("broken at entry 5"), "{}", text(&o));
}

#[test]
fn scripts_can_migrate_create_people_and_tokens_and_verify_the_audit_chain_on_sqlite() {
    let db = jp_store::testing::sqlite();
    let store = db.store.clone();
    scripted_administration(&db.url, move || {
        store
            .conn()
            .unwrap()
            .execute(
                "UPDATE audit_log SET actor = 'someone else' WHERE seq = 5",
                &[],
            )
            .unwrap();
    });
}

#[test]
fn scripts_can_migrate_create_people_and_tokens_and_verify_the_audit_chain_on_postgres() {
    let Some(db) = jp_store::testing::postgres() else {
        return;
    };
    let store = db.store.clone();
    scripted_administration(&db.url, move || {
        store
            .conn()
            .unwrap()
            .execute(
                "UPDATE audit_log SET actor = 'someone else' WHERE seq = 5",
                &[],
            )
            .unwrap();
    });
}

#[test]
fn calendar_shift_and_deadlines_as_the_spec_prints_them() {
    let db = jp_store::testing::sqlite();
    let run = |args: &[&str]| jointpanel(&db.url, args, None);
    assert!(run(&["demo"]).status.success());
    // Friday 24 December 2021, one working day on: Monday 27 and Tuesday 28 are substitute days.
    let o = run(&["calendar", "shift", "2021-12-24", "1"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "2021-12-29",
        "{}",
        text(&o)
    );
    let o = run(&["calendar", "shift", "2021-12-29", "-1"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "2021-12-24",
        "{}",
        text(&o)
    );
    // Scotland: 2 January 2023 (Monday) is a holiday, and so is 3 January (New Year substitute).
    let o = run(&[
        "calendar",
        "shift",
        "2022-12-30",
        "1",
        "--region",
        "scotland",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "2023-01-04",
        "{}",
        text(&o)
    );
    let o = run(&[
        "calendar",
        "shift",
        "2022-12-30",
        "1",
        "--region",
        "england-and-wales",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "2023-01-03",
        "{}",
        text(&o)
    );

    let o = run(&[
        "calendar",
        "deadlines",
        "--meeting",
        "2023-04-11",
        "--panel",
        "joint-funding",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["submission_deadline"], "2023-03-29");
    assert_eq!(v["papers_due"], "2023-03-31");
    assert_eq!(v["letter_due"], "2023-04-14");
    assert_eq!(v["minutes_due"], "2023-04-14");
    assert_eq!(v["absent_agency_response_due"], "2023-04-14");

    // Bad input: a clear message and a non-zero exit.
    let o = run(&["calendar", "shift", "2021-02-30", "1"]);
    assert!(
        !o.status.success() && text(&o).contains("is not a date"),
        "{}",
        text(&o)
    );
    let o = run(&["calendar", "shift", "2021-02-03", "1", "--region", "wales"]);
    assert!(
        !o.status.success() && text(&o).contains("unknown region"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "calendar",
        "deadlines",
        "--meeting",
        "2023-04-11",
        "--panel",
        "no-such-panel",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("no panel"),
        "{}",
        text(&o)
    );

    // A loaded list changes the answer for its year.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extra.csv");
    std::fs::write(&file, "date,title\n2031-06-13,A one-off day\n").unwrap();
    let o = run(&[
        "calendar",
        "load",
        file.to_str().unwrap(),
        "--region",
        "scotland",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&[
        "calendar",
        "shift",
        "2031-06-12",
        "1",
        "--region",
        "scotland",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "2031-06-16",
        "{}",
        text(&o)
    );
}

/// `finance rebuild` on a database with the demo's agreement: the summary
/// written with the agreement matches; a tampered row is reported and put right.
fn finance_rebuild_finds_and_corrects(db: &jp_store::testing::TestDb) {
    let run = |args: &[&str]| jointpanel(&db.url, args, None);
    assert!(run(&["demo"]).status.success());
    let o = run(&["finance", "rebuild"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut c = db.store.conn().unwrap();
    let agreements: i64 = c
        .query_one("SELECT COUNT(*) FROM agreements", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert!(agreements > 100, "the demo loads its generated history");
    assert!(
        text(&o).contains(&format!(
            "Checked {agreements} agreements: the summary matched them"
        )),
        "{}",
        text(&o)
    );
    let total: i64 = c
        .query_one(
            "SELECT CAST(SUM(c.pence) AS BIGINT) FROM committed_costs c
             JOIN agreements a ON a.id = c.agreement_id WHERE a.status = 'pending'",
            &[],
        )
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(total, 7_436_000, "the demo agreement's £74,360.00");
    // More history on top, with the same tool the benchmark uses.
    let o = run(&[
        "history",
        "--children",
        "5",
        "--referrals",
        "12",
        "--years",
        "3",
        "--seed",
        "9",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Chains cut short by today's date may leave a few requests unmade.
    let said = text(&o);
    let referrals: u32 = said
        .split(" children, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!((1..=12).contains(&referrals), "{said}");
    c.execute(
        "UPDATE committed_costs SET pence = pence + 1 WHERE month = (SELECT MIN(month) FROM committed_costs)",
        &[],
    )
    .unwrap();
    let o = run(&["finance", "rebuild"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("differed and are now corrected"),
        "{}",
        text(&o)
    );
    let o = run(&["finance", "rebuild"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn finance_rebuild_reports_and_corrects_a_difference_on_sqlite() {
    finance_rebuild_finds_and_corrects(&jp_store::testing::sqlite());
}

#[test]
fn finance_rebuild_reports_and_corrects_a_difference_on_postgres() {
    if let Some(db) = jp_store::testing::postgres() {
        finance_rebuild_finds_and_corrects(&db);
    }
}

/// Writes an XLSX tracker with the given header and rows (all text).
fn workbook(dir: &std::path::Path, name: &str, head: &[&str], rows: &[&[&str]]) -> String {
    let path = dir.join(name);
    let mut book = jp_exports::Xlsx::new("Tracker", head).unwrap();
    for r in rows {
        let cells: Vec<jp_exports::Cell> = r.iter().map(|c| jp_exports::Cell::text(*c)).collect();
        book.push(&cells).unwrap();
    }
    book.save(&path).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `import` of an XLSX tracker: a dry run writes nothing, the import adds
/// every row at once, a bad file lists its rows' problems and adds nothing,
/// and --map reads a field from a column with another header.
fn import_reads_a_workbook(db: &jp_store::testing::TestDb) {
    let run = |args: &[&str]| jointpanel(&db.url, args, None);
    assert!(run(&["demo"]).status.success());
    let dir = tempfile::tempdir().unwrap();
    let count = |sql: &str| -> i64 {
        db.store
            .conn()
            .unwrap()
            .query_one(sql, &[])
            .unwrap()
            .get(0)
            .unwrap()
    };
    let referrals = count("SELECT COUNT(*) FROM referrals");
    let head = [
        "Child local ID",
        "Child",
        "DOB",
        "Panel",
        "Meeting date",
        "Status",
        "Referring agency",
        "Outcome",
        "Start date",
        "End date",
        "Review",
        "Weekly cost",
        "Funding split",
    ];
    let jfp = "Joint Funding Panel (Complex Cases)";
    let good = workbook(
        dir.path(),
        "good.xlsx",
        &head,
        &[
            &[
                "NZ-1",
                "Isla Penrose",
                "14/03/2014",
                jfp,
                "12/03/2025",
                "Agreement active",
                "SEND",
                "Agreed as recommended",
                "01/04/2025",
                "31/03/2026",
                "28/02/2026",
                "£1,250.00",
                "Northmoor County Council 50%; Northmoor and Dale Integrated Care Board 50%",
            ],
            &[
                "NZ-1",
                "Isla Penrose",
                "14/03/2014",
                jfp,
                "9 April 2025",
                "Closed",
                "SEND",
                "Declined",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "NZ-2",
                "Otto Quayle",
                "2016-08-30",
                jfp,
                "",
                "Submitted",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ],
    );
    let admin = "administrator@northmoor.example";
    let o = run(&["import", &good, "--as", admin, "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("All 3 rows are ready: 2 new children, 1 agreements"),
        "{}",
        text(&o)
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM referrals"),
        referrals,
        "a dry run writes nothing"
    );
    let o = run(&["import", &good, "--as", admin]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("Imported 3 rows: 2 children, 3 referrals"),
        "{}",
        text(&o)
    );
    assert_eq!(count("SELECT COUNT(*) FROM referrals"), referrals + 3);
    // £1,250 a week from 1 April 2025 to 31 March 2026, split evenly.
    let committed = count(
        "SELECT CAST(SUM(c.pence) AS BIGINT) FROM committed_costs c JOIN agreements a ON a.id = c.agreement_id
         JOIN children ch ON ch.id = a.child_id WHERE ch.local_id = 'NZ-1'",
    );
    assert_eq!(committed, 125_000 * 365 / 7);
    assert_eq!(run(&["finance", "rebuild"]).status.code(), Some(0));
    // The same file again: already recorded, nothing added.
    let o = run(&["import", &good, "--as", admin]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already recorded"), "{}", text(&o));

    let bad = workbook(
        dir.path(),
        "bad.xlsx",
        &head,
        &[
            &[
                "NZ-9",
                "Lena Ward",
                "30/02/2015",
                jfp,
                "12/03/2025",
                "Closed",
                "Martian Services",
                "Declined",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "NZ-10",
                "Pax Rowe",
                "2015-01-01",
                jfp,
                "12/03/2025",
                "Agreement active",
                "SEND",
                "Agreed as recommended",
                "2025-04-01",
                "2024-03-31",
                "2025-10-01",
                "500",
                "Northmoor County Council 100%",
            ],
        ],
    );
    let o = run(&["import", &bad, "--as", admin]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for m in [
        "row 2, Date of birth: “30/02/2015” is not a date",
        "row 2, Referrer's agency: No agency called “Martian Services”",
        "row 3, Agreement end: The agreement ends before it starts",
        "nothing was imported",
    ] {
        assert!(text(&o).contains(m), "{m}: {}", text(&o));
    }
    assert_eq!(count("SELECT COUNT(*) FROM referrals"), referrals + 3);

    let odd = workbook(
        dir.path(),
        "odd.xlsx",
        &[
            "Child local ID",
            "Child",
            "Born on (dd/mm/yyyy)",
            "Panel",
            "Status",
        ],
        &[&["NZ-3", "Wyn Hale", "01/02/2017", jfp, "Submitted"]],
    );
    let o = run(&["import", &odd, "--as", admin, "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no column for “Date of birth”"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "import",
        &odd,
        "--as",
        admin,
        "--dry-run",
        "--map",
        "date_of_birth=Born on (dd/mm/yyyy)",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&[
        "import",
        &odd,
        "--as",
        "chair@northmoor.example",
        "--dry-run",
        "--map",
        "date_of_birth=Born on (dd/mm/yyyy)",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn import_reads_a_workbook_on_sqlite() {
    import_reads_a_workbook(&jp_store::testing::sqlite());
}

#[test]
fn import_reads_a_workbook_on_postgres() {
    if let Some(db) = jp_store::testing::postgres() {
        import_reads_a_workbook(&db);
    }
}
