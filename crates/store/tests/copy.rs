//! An installation on SQLite copied into PostgreSQL arrives whole.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

use jp_store::audit::{self, Verdict};
use jp_store::db::Conn;
use jp_store::history::Plan;
use jp_store::reference::panels;
use jp_store::tracker::{self, Filter, Sort};
use jp_store::{Actor, copy, demo, meetings, testing};

fn count(c: &mut Conn, table: &str) -> i64 {
    c.query_one(&format!("SELECT COUNT(*) FROM \"{table}\""), &[])
        .unwrap()
        .get(0)
        .unwrap()
}

fn money(c: &mut Conn) -> (i64, i64) {
    let r = c
        .query_one(
            "SELECT COUNT(*), CAST(COALESCE(SUM(pence), 0) AS BIGINT) FROM committed_costs",
            &[],
        )
        .unwrap();
    (r.get(0).unwrap(), r.get(1).unwrap())
}

#[test]
fn an_installation_moves_from_sqlite_to_postgres_whole() {
    let Some(pg) = testing::postgres() else {
        return;
    };
    let lite = testing::sqlite();
    let mut a = lite.store.conn().unwrap();
    demo::load(&mut a).unwrap();
    let plan = Plan {
        children: 40,
        referrals: 120,
        years: 3,
        seed: 5,
    };
    demo::load_history(&mut a, &plan, &mut |_, _| {}).unwrap();
    let mut b = pg.store.conn().unwrap();

    // The wrong way round is refused, and nothing is touched.
    let err = copy::sqlite_to_postgres(&mut b, &mut a, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("SQLite"), "{err}");

    let mut last = (0, 0);
    let copied = copy::sqlite_to_postgres(&mut a, &mut b, &mut |done, total| {
        assert!(done >= last.0 && done <= total, "{done} of {total}");
        last = (done, total);
    })
    .unwrap();
    assert_eq!(last.0, last.1, "progress ends at the total");
    assert!(copied.len() > 30, "{} tables", copied.len());
    for (table, n) in &copied {
        assert_eq!(count(&mut a, table), i64::try_from(*n).unwrap(), "{table}");
        assert_eq!(count(&mut b, table), i64::try_from(*n).unwrap(), "{table}");
    }
    assert!(count(&mut b, "referrals") > 100);

    // The audit chain still verifies: every hash was copied as it was.
    let entries = match audit::verify(&mut a).unwrap() {
        Verdict::Intact { entries } => entries,
        broken => panic!("{broken:?}"),
    };
    assert_eq!(audit::verify(&mut b).unwrap(), Verdict::Intact { entries });
    assert_eq!(money(&mut a), money(&mut b));

    // The same tracker (names, dates, money) on both.
    let fy = 2025;
    let page =
        |c: &mut Conn| tracker::page(c, &Filter::default(), Sort::Newest, None, 50, fy).unwrap();
    let (x, y) = (page(&mut a), page(&mut b));
    assert_eq!(x.rows.len(), 50);
    assert_eq!(x.rows, y.rows);

    // New records on PostgreSQL carry on after the copied ids.
    let panel = panels::list(&mut b).unwrap().remove(0);
    let before: i64 = b
        .query_one("SELECT MAX(id) FROM meetings", &[])
        .unwrap()
        .get(0)
        .unwrap();
    let far = chrono::NaiveDate::from_ymd_opt(2040, 1, 1).unwrap();
    let mut tx = b.begin().unwrap();
    let added =
        meetings::ensure_scheduled(&mut tx, &Actor::system("test"), &panel, far, 2).unwrap();
    tx.commit().unwrap();
    assert!(added > 0);
    let after: i64 = b
        .query_one("SELECT MAX(id) FROM meetings", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert!(after > before);
    assert!(matches!(
        audit::verify(&mut b).unwrap(),
        Verdict::Intact { entries: e } if e == entries + 1
    ));

    // Copying again replaces what is there (no duplicates).
    copy::sqlite_to_postgres(&mut a, &mut b, &mut |_, _| {}).unwrap();
    assert_eq!(count(&mut b, "referrals"), count(&mut a, "referrals"));
    assert_eq!(count(&mut b, "meetings"), count(&mut a, "meetings"));
}
